package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// File appends each message as one JSON line to a file: the demo's
// "mailbox", readable with any JSON tool.
type File struct {
	name string
	path string
	now  func() time.Time
	mu   sync.Mutex
}

// NewFile returns a file channel.
func NewFile(name, path string, now func() time.Time) *File {
	return &File{name: name, path: path, now: now}
}

func (f *File) Name() string { return f.name }

// FileLine is one line of a file channel.
type FileLine struct {
	SentAt    time.Time `json:"sent_at"`
	ID        int64     `json:"id"`
	Kind      Kind      `json:"kind"`
	Cause     string    `json:"cause"`
	Recipient string    `json:"recipient"`
	Address   string    `json:"address,omitempty"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
}

func (f *File) Send(_ context.Context, m Message) error {
	b, err := json.Marshal(FileLine{SentAt: f.now().UTC(), ID: m.ID, Kind: m.Kind, Cause: m.Cause,
		Recipient: m.Recipient, Address: m.Address, Subject: m.Subject, Body: m.Body})
	if err != nil {
		return Permanent(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return Transient(fmt.Errorf("open %s: %w", f.path, err))
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return Transient(fmt.Errorf("write %s: %w", f.path, err))
	}
	return fh.Close()
}

// BuildChannels makes the configured channels; now is their clock (webhook
// and DingTalk timestamps, robot throttles).
func BuildChannels(cfg Config, now func() time.Time) ([]Channel, error) {
	var out []Channel
	for _, name := range sortedNames(cfg.Channels) {
		cc := cfg.Channels[name]
		if err := cc.validate(); err != nil {
			return nil, fmt.Errorf("channels.%s: %v", name, err)
		}
		switch cc.Type {
		case "smtp":
			out = append(out, NewSMTP(name, cc))
		case "webhook":
			out = append(out, NewWebhook(name, cc, now))
		case "wecom":
			out = append(out, NewWeCom(name, cc, now))
		case "dingtalk":
			out = append(out, NewDingTalk(name, cc, now))
		case "file":
			out = append(out, NewFile(name, cc.Path, now))
		}
	}
	return out, nil
}
