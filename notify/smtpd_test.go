package notify_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpd is a minimal SMTP server for tests: EHLO/HELO, optional AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT. It rejects recipients in reject with
// 550 and answers 451 to recipients in tempfail (once per address) .
type smtpd struct {
	Addr     string
	User     string // when set, AUTH PLAIN is advertised and required
	Password string

	mu       sync.Mutex
	reject   map[string]bool
	tempfail map[string]int
	got      []received
	ln       net.Listener
	conns    map[net.Conn]bool
	closed   chan struct{} // one value per connection the client closed
	wg       sync.WaitGroup
}

type received struct {
	From string
	To   []string
	Data string
	Auth string
}

func startSMTPD(t *testing.T, user, password string) *smtpd {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpd{Addr: ln.Addr().String(), User: user, Password: password, ln: ln,
		reject: map[string]bool{}, tempfail: map[string]int{}, conns: map[net.Conn]bool{}, closed: make(chan struct{}, 64)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *smtpd) Received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// Open is the number of client connections still open.
func (s *smtpd) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *smtpd) serve(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		select {
		case s.closed <- struct{}{}:
		default:
		}
	}()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		w.Flush()
	}
	reply("220 localhost ESMTP ducha-test")
	var cur received
	authed := s.User == ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if s.User != "" {
				reply("250-localhost\r\n250-8BITMIME\r\n250 AUTH PLAIN")
			} else {
				reply("250-localhost\r\n250 8BITMIME")
			}
		case "HELO":
			reply("250 localhost")
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || s.User == "" {
				reply("504 5.5.4 unrecognized authentication type")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.User || parts[2] != s.Password {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			authed = true
			cur.Auth = parts[1]
			reply("235 2.7.0 authentication successful")
		case "MAIL":
			if !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur.From = addrOf(arg)
			reply("250 2.1.0 ok")
		case "RCPT":
			a := addrOf(arg)
			s.mu.Lock()
			rej, temp := s.reject[a], s.tempfail[a]
			if temp > 0 {
				s.tempfail[a]--
			}
			s.mu.Unlock()
			switch {
			case rej:
				reply("550 5.1.1 <%s>: mailbox unavailable", a)
			case temp > 0:
				reply("451 4.3.0 try again later")
			default:
				cur.To = append(cur.To, a)
				reply("250 2.1.5 ok")
			}
		case "DATA":
			if len(cur.To) == 0 {
				reply("503 5.5.1 no recipients")
				continue
			}
			reply("354 end data with <CR><LF>.<CR><LF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.got = append(s.got, cur)
			s.mu.Unlock()
			cur = received{Auth: cur.Auth}
			reply("250 2.0.0 queued")
		case "RSET":
			cur = received{Auth: cur.Auth}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

func addrOf(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return strings.ToLower(arg[i+1 : j])
}
