// Package config reads ducha.yaml: the bureau, the escalation policy, the
// inspection schedules and the services of `ducha serve`. Decoding is strict:
// an unknown key, a bad value or an impossible schedule is an error at
// FILE:LINE:COL. Defaults live in Default, in one place.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"ducha/notify"
	"ducha/workflow"
)

// Config is the whole of ducha.yaml. Every field is optional; Default says
// what an absent field means.
type Config struct {
	// Bureau is the issuing office, printed in the red header (红头) of
	// bulletins and in notifications.
	Bureau Bureau `yaml:"bureau"`
	// BaseURL is where the web pages are reached; notifications link to it.
	BaseURL string `yaml:"base_url"`
	// Calendars are extra holiday calendar files (format: workflow/holidays/README.md),
	// loaded over the embedded ones.
	Calendars []string `yaml:"calendars"`
	// Policy is the escalation policy (deadlines, reminders, summons, accountability, colours).
	Policy workflow.Policy `yaml:"policy"`
	// Schedules are the periodic and unannounced inspections `ducha serve` runs.
	Schedules []*workflow.Schedule `yaml:"schedules"`
	// Rounds says what opening and closing a round does.
	Rounds Rounds `yaml:"rounds"`
	// Serve configures `ducha serve`.
	Serve Serve `yaml:"serve"`
	// Notify routes notifications and configures their channels, templates
	// and dispatcher (notify.Config documents every field).
	Notify notify.Config `yaml:"notify"`

	// Path is the file the config was read from ("" for defaults).
	Path string `yaml:"-"`
}

// Bureau is the issuing office.
type Bureau struct {
	// Name is the bureau's full name, e.g. "某某县司法局".
	Name string `yaml:"name"`
	// Short is the bulletin's document-number prefix, e.g. "某司法".
	Short string `yaml:"short"`
}

// Rounds configures round opening and closing.
type Rounds struct {
	// OrderOnOpen: findings are ordered (整改中, deadline set) when the round
	// opens; false leaves them discovered for a supervisor to review first.
	OrderOnOpen bool `yaml:"order_on_open"`
	// PublishOnClose: closing a round publishes its bulletin.
	PublishOnClose bool `yaml:"publish_on_close"`
}

// Serve configures the daemon.
type Serve struct {
	// Addr is the web listener, e.g. ":8080".
	Addr string `yaml:"addr"`
	// SweepEvery is how often the escalation sweep runs, e.g. "5m".
	SweepEvery Duration `yaml:"sweep_every"`
	// UploadDir keeps uploaded evidence files; it must not be a folder any
	// web server serves. Default: "uploads" beside an SQLite database, else
	// ./ducha-uploads.
	UploadDir string `yaml:"upload_dir"`
	// SecureCookies marks session cookies Secure: set it when ducha is
	// reached over HTTPS through a proxy (direct TLS requests get them anyway).
	SecureCookies bool `yaml:"secure_cookies"`
}

// Duration is a time.Duration written like "5m" or "1h30m".
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return &Error{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("时长 %q 无效, 应如 5m、1h", n.Value)}
	}
	d.Duration = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Default is the configuration used when there is no file, and the base a
// file's fields are laid over.
func Default() *Config {
	return &Config{
		Bureau:  Bureau{Name: "某某县司法局", Short: "某司法"},
		BaseURL: "http://localhost:8080",
		Policy:  workflow.DefaultPolicy(),
		Rounds:  Rounds{OrderOnOpen: true, PublishOnClose: true},
		Serve:   Serve{Addr: ":8080", SweepEvery: Duration{5 * time.Minute}},
		Notify:  notify.DefaultConfig(),
	}
}

// Load reads path over the defaults. An empty path gives the defaults.
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Line: 1, Col: 1, Msg: "无法读取配置文件: " + err.Error()}
	}
	if err := c.parse(path, src); err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

// Parse reads a config file's bytes over the defaults.
func Parse(name string, src []byte) (*Config, error) {
	c := Default()
	if err := c.parse(name, src); err != nil {
		return nil, err
	}
	c.Path = name
	return c, nil
}

var yamlLine = strings.NewReplacer("yaml: ", "")

func (c *Config) parse(name string, src []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return yamlError(name, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: the defaults
	}
	var errs Errors
	checkKeys(name, &doc, reflect.TypeOf(c), "", &errs)
	if len(errs) > 0 {
		return errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(c); err != nil {
		return yamlError(name, err)
	}
	return c.validate(name, &doc)
}

// yamlError turns yaml.v3's "line N: msg" errors into FILE:LINE:COL errors.
func yamlError(name string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		pe.File = name
		return pe
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs Errors
		for _, m := range te.Errors {
			line := 0
			fmt.Sscanf(m, "line %d:", &line)
			if _, rest, ok := strings.Cut(m, ": "); ok && line > 0 {
				m = rest
			}
			errs = append(errs, &Error{name, max(line, 1), 1, m})
		}
		return errs
	}
	msg := yamlLine.Replace(err.Error())
	line := 0
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		_, msg, _ = strings.Cut(msg, ": ")
	}
	return &Error{name, max(line, 1), 1, "YAML 格式错误: " + msg}
}

// validate checks values the decoder cannot, naming the key's position.
func (c *Config) validate(name string, doc *yaml.Node) error {
	var errs Errors
	at := func(path ...string) (int, int) {
		if n := find(doc, path...); n != nil {
			return n.Line, n.Column
		}
		return 1, 1
	}
	if err := c.Policy.Validate(); err != nil {
		// Policy errors start with the key they are about: "policy.summon_hour: …".
		key, _, _ := strings.Cut(err.Error(), ":")
		l, col := at(strings.Split(key, ".")...)
		errs = append(errs, &Error{name, l, col, err.Error()})
	}
	if err := c.Notify.Validate(); err != nil {
		// Notify errors start with their key below notify: "routes.order.channels: …".
		key, _, _ := strings.Cut(err.Error(), ":")
		l, col := at(append([]string{"notify"}, strings.Split(key, ".")...)...)
		errs = append(errs, &Error{name, l, col, "notify." + err.Error()})
	}
	seen := map[string]bool{}
	for i, s := range c.Schedules {
		l, col := at("schedules", fmt.Sprint(i))
		if s == nil { // an empty list item: "schedules:\n  -"
			errs = append(errs, &Error{name, l, col, fmt.Sprintf("schedules[%d]: 计划为空, 应写明 name、kind 等", i)})
			continue
		}
		if err := s.Validate(); err != nil {
			key, _, _ := strings.Cut(err.Error(), ":")
			if kl, kc := at("schedules", fmt.Sprint(i), key); kl != 1 || kc != 1 {
				l, col = kl, kc
			}
			errs = append(errs, &Error{name, l, col, fmt.Sprintf("schedules[%d] %s", i, err)})
		}
		if seen[s.Name] {
			errs = append(errs, &Error{name, l, col, fmt.Sprintf("schedules[%d]: 名称 %q 重复", i, s.Name)})
		}
		seen[s.Name] = true
		if s.Checklist != "" && !filepath.IsAbs(s.Checklist) && name != "" {
			s.Checklist = filepath.Join(filepath.Dir(name), s.Checklist)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// find returns the value node at path (mapping keys, or sequence indexes
// written as numbers) below the document.
func find(n *yaml.Node, path ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
					if p == path[len(path)-1] {
						next = n.Content[i] // point at the key
					}
				}
			}
			if next == nil {
				return nil
			}
			n = next
		case yaml.SequenceNode:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
	}
	return n
}

// Dump writes the effective configuration as YAML, secrets as <secret>.
func (c *Config) Dump() ([]byte, error) {
	return yaml.Marshal(c)
}
