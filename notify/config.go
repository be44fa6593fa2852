package notify

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// Secret is a password, key or token from the configuration. It prints as
// <secret> in logs, JSON and YAML; only channels read its value.
type Secret string

const redacted = "<secret>"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) MarshalJSON() ([]byte, error)  { return json.Marshal(redacted) }
func (s Secret) MarshalYAML() (any, error)     { return redacted, nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	err := json.Unmarshal(b, &v)
	*s = Secret(v)
	return err
}
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var v string
	err := n.Decode(&v)
	*s = Secret(v)
	return err
}

// Audience is a group of people a kind of message goes to.
type Audience string

const (
	ToAdviser     Audience = "adviser"     // the finding's adviser (service-card e-mail)
	ToOfficers    Audience = "officers"    // the officers of the finding's township (司法所)
	ToSupervisors Audience = "supervisors" // every supervisor (县司法局)
)

// Config is the `notify` section of ducha.yaml. Every field has a default
// (see DefaultConfig); unknown keys are errors.
type Config struct {
	// BaseURL is where ducha's pages are served; links in messages start with
	// it. It is ducha.yaml's top-level base_url. Default http://localhost:8080.
	BaseURL string `yaml:"-" json:"base_url"`
	// Routes says, per kind, who receives it over which channels. Kinds left
	// out keep their default route; an empty channel list turns a kind off.
	Routes map[Kind]Route `yaml:"routes" json:"routes"`
	// Channels are the configured delivery channels by name, added to the
	// default: a file channel named "file" writing notifications.jsonl
	// (which a channel of that name replaces).
	Channels map[string]ChannelConfig `yaml:"channels" json:"channels"`
	// Templates override the built-in Chinese templates per kind.
	Templates map[Kind]TemplateConfig `yaml:"templates" json:"templates,omitempty"`
	// Dispatch tunes the dispatcher.
	Dispatch DispatchConfig `yaml:"dispatch" json:"dispatch"`
}

// Route is who receives a kind of message and over which channels.
type Route struct {
	To       []Audience `yaml:"to" json:"to"`
	Channels []string   `yaml:"channels" json:"channels"`
}

// TemplateConfig overrides a kind's subject and body (Go text/template over
// Data). An empty field keeps the built-in one.
type TemplateConfig struct {
	Subject string `yaml:"subject" json:"subject,omitempty"`
	Body    string `yaml:"body" json:"body,omitempty"`
}

// ChannelConfig configures one channel. Type selects which fields apply.
type ChannelConfig struct {
	// Type is smtp, webhook, wecom, dingtalk or file.
	Type string `yaml:"type" json:"type"`

	// smtp: server host and port (default 587), sender address, optional
	// login, STARTTLS policy (mandatory, the default; opportunistic; none)
	// and a per-connection timeout (default 30s).
	Host     string        `yaml:"host,omitempty" json:"host,omitempty"`
	Port     int           `yaml:"port,omitempty" json:"port,omitempty"`
	From     string        `yaml:"from,omitempty" json:"from,omitempty"`
	Username string        `yaml:"username,omitempty" json:"username,omitempty"`
	Password Secret        `yaml:"password,omitempty" json:"password,omitempty"`
	StartTLS string        `yaml:"starttls,omitempty" json:"starttls,omitempty"`
	Timeout  time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`

	// webhook: the URL to POST to and the HMAC-SHA256 signing secret.
	// dingtalk: Secret is the optional SEC… signing secret.
	URL    string `yaml:"url,omitempty" json:"url,omitempty"`
	Secret Secret `yaml:"secret,omitempty" json:"secret,omitempty"`

	// wecom: the robot's key. dingtalk: the robot's access token. BaseURL
	// defaults to https://qyapi.weixin.qq.com (wecom) or
	// https://oapi.dingtalk.com (dingtalk); tests point it at local servers.
	Key         Secret `yaml:"key,omitempty" json:"key,omitempty"`
	AccessToken Secret `yaml:"access_token,omitempty" json:"access_token,omitempty"`
	BaseURL     string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// PerMinute throttles a robot (default 20, the robots' own limit).
	PerMinute int `yaml:"per_minute,omitempty" json:"per_minute,omitempty"`

	// file: the JSON-lines file messages are appended to.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// Personal reports whether the channel delivers to each person separately
// (smtp, file) rather than once to a group (webhook, robots).
func (c ChannelConfig) Personal() bool { return c.Type == "smtp" || c.Type == "file" }

// DispatchConfig tunes the dispatcher.
type DispatchConfig struct {
	Batch       int           `yaml:"batch" json:"batch"`               // messages claimed at once (default 256)
	Workers     int           `yaml:"workers" json:"workers"`           // concurrent deliveries (default 32)
	Lease       time.Duration `yaml:"lease" json:"lease"`               // a claim's lifetime; then another dispatcher may retry (default 5m)
	Poll        time.Duration `yaml:"poll" json:"poll"`                 // periodic re-scan besides LISTEN/NOTIFY (default 5s)
	SendTimeout time.Duration `yaml:"send_timeout" json:"send_timeout"` // one delivery attempt (default 30s)
	BaseBackoff time.Duration `yaml:"base_backoff" json:"base_backoff"` // first retry delay (default 30s), doubled each attempt
	MaxBackoff  time.Duration `yaml:"max_backoff" json:"max_backoff"`   // cap on the delay (default 1h)
	MaxAge      time.Duration `yaml:"max_age" json:"max_age"`           // give up on a message this old (default 72h)
}

// DefaultConfig returns the defaults, in one place.
func DefaultConfig() Config {
	mail := []string{"file"}
	return Config{
		BaseURL: "http://localhost:8080",
		Routes: map[Kind]Route{
			Order:          {To: []Audience{ToAdviser}, Channels: mail},
			Rejection:      {To: []Audience{ToAdviser}, Channels: mail},
			Reminder:       {To: []Audience{ToAdviser}, Channels: mail},
			Interview:      {To: []Audience{ToAdviser, ToOfficers}, Channels: mail},
			Accountability: {To: []Audience{ToAdviser, ToOfficers, ToSupervisors}, Channels: mail},
			BulletinOut:    {To: []Audience{ToOfficers, ToSupervisors}, Channels: mail},
			Digest:         {To: []Audience{ToOfficers, ToSupervisors}, Channels: mail},
		},
		Channels: map[string]ChannelConfig{"file": {Type: "file", Path: "notifications.jsonl"}},
		Dispatch: DispatchConfig{
			Batch: 256, Workers: 32, Lease: 5 * time.Minute, Poll: 5 * time.Second,
			SendTimeout: 30 * time.Second, BaseBackoff: 30 * time.Second,
			MaxBackoff: time.Hour, MaxAge: 72 * time.Hour,
		},
	}
}

// LoadConfig reads a `notify` section strictly (unknown keys are errors)
// over the defaults and validates it; name is used in error messages. (The
// config package reads the same section as part of ducha.yaml.)
func LoadConfig(r io.Reader, name string) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err != io.EOF {
		return Config{}, &InputError{fmt.Sprintf("%s: 通知配置有误: %v", name, err)}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, &InputError{fmt.Sprintf("%s: %v", name, err)}
	}
	return cfg, nil
}

// Validate checks that routes name known audiences and configured channels,
// and that each channel has what its type needs.
func (c Config) Validate() error {
	if _, err := url.Parse(c.BaseURL); err != nil {
		return fmt.Errorf("base_url: %v", err)
	}
	for _, k := range sortedKinds(c.Routes) {
		if _, err := ParseKind(string(k)); err != nil {
			return fmt.Errorf("routes.%s: %v", k, err)
		}
		r := c.Routes[k]
		for _, a := range r.To {
			switch a {
			case ToAdviser, ToOfficers, ToSupervisors:
			default:
				return fmt.Errorf("routes.%s.to: 未知的接收对象 %q (应为 adviser、officers 或 supervisors)", k, a)
			}
		}
		for _, ch := range r.Channels {
			if _, ok := c.Channels[ch]; !ok {
				return fmt.Errorf("routes.%s.channels: 渠道 %q 未在 channels 中配置", k, ch)
			}
		}
	}
	for k := range c.Templates {
		if _, err := ParseKind(string(k)); err != nil {
			return fmt.Errorf("templates.%s: %v", k, err)
		}
	}
	for _, n := range sortedNames(c.Channels) {
		if err := c.Channels[n].validate(); err != nil {
			return fmt.Errorf("channels.%s: %v", n, err)
		}
	}
	if _, err := ParseTemplates(c.Templates); err != nil {
		return err
	}
	return nil
}

func (c ChannelConfig) validate() error {
	need := func(field, v string) error {
		if v == "" {
			return fmt.Errorf("%s 渠道缺少 %s", c.Type, field)
		}
		return nil
	}
	switch c.Type {
	case "smtp":
		switch c.StartTLS {
		case "", "mandatory", "opportunistic", "none":
		default:
			return fmt.Errorf("starttls 应为 mandatory、opportunistic 或 none, 而不是 %q", c.StartTLS)
		}
		if err := need("host", c.Host); err != nil {
			return err
		}
		return need("from", c.From)
	case "webhook":
		if err := need("url", c.URL); err != nil {
			return err
		}
		return need("secret", string(c.Secret))
	case "wecom":
		return need("key", string(c.Key))
	case "dingtalk":
		return need("access_token", string(c.AccessToken))
	case "file":
		return need("path", c.Path)
	}
	return fmt.Errorf("未知的渠道类型 %q (应为 smtp、webhook、wecom、dingtalk 或 file)", c.Type)
}

func sortedKinds[V any](m map[Kind]V) []Kind {
	ks := make([]Kind, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func sortedNames[V any](m map[string]V) []string {
	ns := make([]string, 0, len(m))
	for n := range m {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}
