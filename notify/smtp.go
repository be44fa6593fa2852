package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"time"

	mail "github.com/wneessen/go-mail"
)

// SMTP sends messages as UTF-8 plain-text e-mail to Message.Address.
type SMTP struct {
	name string
	cfg  ChannelConfig
}

// NewSMTP returns an SMTP channel. STARTTLS is mandatory unless the
// configuration says opportunistic (tests, trusted relays) or none.
func NewSMTP(name string, cfg ChannelConfig) *SMTP {
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{name: name, cfg: cfg}
}

func (s *SMTP) Name() string { return s.name }

// Send delivers m. SMTP 5xx replies (a rejected address, a refused login)
// are permanent, 4xx replies and network failures transient.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if m.Address == "" {
		return Permanent(errors.New("no e-mail address"))
	}
	msg := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingB64))
	if err := msg.From(s.cfg.From); err != nil {
		return Permanent(fmt.Errorf("sender %q: %w", s.cfg.From, err))
	}
	if err := msg.To(m.Address); err != nil {
		return Permanent(fmt.Errorf("address %q: %w", m.Address, err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(fmt.Sprintf("ducha.%d.%d@%s", m.ID, m.Attempts, s.cfg.Host))
	msg.SetGenHeader("X-Ducha-Cause", m.Cause)
	msg.SetBodyString(mail.TypeTextPlain, m.Body)

	policy := mail.TLSMandatory
	switch s.cfg.StartTLS {
	case "opportunistic":
		policy = mail.TLSOpportunistic
	case "none":
		policy = mail.NoTLS
	}
	opts := []mail.Option{
		mail.WithPort(s.cfg.Port), mail.WithTLSPolicy(policy), mail.WithTimeout(s.cfg.Timeout),
	}
	if s.cfg.Username != "" {
		auth := mail.SMTPAuthPlain
		if policy != mail.TLSMandatory {
			// PLAIN over a connection that may stay unencrypted: only when
			// the configuration chose to allow that.
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(s.cfg.Username),
			mail.WithPassword(string(s.cfg.Password)))
	}
	// go-mail leaves the connection open when the greeting, STARTTLS or
	// AUTH fails; keep hold of it and close it ourselves.
	var conn net.Conn
	opts = append(opts, mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: s.cfg.Timeout}).DialContext(ctx, network, addr)
		conn = c
		return c, err
	}))
	c, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("smtp client: %w", err))
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if conn != nil {
		conn.Close()
	}
	if err != nil {
		return classifySMTP(err)
	}
	return nil
}

func classifySMTP(err error) error {
	code := 0
	var se *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &se):
		code = se.ErrorCode()
		if code == 0 && (se.Reason == mail.ErrGetRcpts || se.Reason == mail.ErrGetSender) {
			return Permanent(err)
		}
	case errors.As(err, &te):
		code = te.Code
	}
	if code >= 500 {
		return Permanent(err)
	}
	return Transient(err)
}
