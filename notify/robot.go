package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Robot posts markdown messages to a WeCom (企业微信) group robot or a
// DingTalk (钉钉) custom robot. Both answer failures with HTTP 200 and a
// non-zero errcode, so the body is always checked. Each robot is throttled to
// PerMinute messages per sliding minute (default 20, the robots' own limit);
// a throttled send is transient and says when to retry.
type Robot struct {
	name     string
	dingtalk bool
	endpoint string // without credentials
	token    Secret // WeCom key or DingTalk access token
	secret   Secret // DingTalk signing secret (SEC…), optional
	now      func() time.Time

	mu        sync.Mutex
	perMinute int
	sent      []time.Time // send times within the last minute
}

// NewWeCom returns a WeCom group-robot channel.
func NewWeCom(name string, cfg ChannelConfig, now func() time.Time) *Robot {
	base := cfg.BaseURL
	if base == "" {
		base = "https://qyapi.weixin.qq.com"
	}
	return newRobot(name, false, strings.TrimRight(base, "/")+"/cgi-bin/webhook/send", cfg.Key, "", cfg.PerMinute, now)
}

// NewDingTalk returns a DingTalk custom-robot channel, signed when the
// configuration has a secret.
func NewDingTalk(name string, cfg ChannelConfig, now func() time.Time) *Robot {
	base := cfg.BaseURL
	if base == "" {
		base = "https://oapi.dingtalk.com"
	}
	return newRobot(name, true, strings.TrimRight(base, "/")+"/robot/send", cfg.AccessToken, cfg.Secret, cfg.PerMinute, now)
}

func newRobot(name string, ding bool, endpoint string, token, secret Secret, perMinute int, now func() time.Time) *Robot {
	if perMinute <= 0 {
		perMinute = 20
	}
	return &Robot{name: name, dingtalk: ding, endpoint: endpoint, token: token, secret: secret, now: now, perMinute: perMinute}
}

func (r *Robot) Name() string { return r.name }

// DingTalkSign is DingTalk's signature for a timestamp in milliseconds:
// Base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), not yet URL-encoded.
func DingTalkSign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Rate-limit errcodes, retried: WeCom 45009 (API frequency), DingTalk 130101
// (sending too fast) and 410100 (throttled); -1 is "system busy" on both.
var robotTransient = map[int]bool{45009: true, 130101: true, 410100: true, -1: true}

func (r *Robot) Send(ctx context.Context, m Message) error {
	if wait := r.take(); wait > 0 {
		return &DeliveryError{Err: fmt.Errorf("robot %s throttled: %d messages a minute", r.name, r.perMinute),
			Retryable: true, RetryAfter: wait}
	}
	var payload any
	if r.dingtalk {
		payload = map[string]any{"msgtype": "markdown", "markdown": map[string]string{
			"title": m.Subject, "text": "### " + m.Subject + "\n\n" + m.Body}}
	} else {
		payload = map[string]any{"msgtype": "markdown", "markdown": map[string]string{
			"content": truncate("**"+m.Subject+"**\n\n"+m.Body, 4096)}}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return Permanent(err)
	}
	q := url.Values{}
	if r.dingtalk {
		q.Set("access_token", string(r.token))
		if r.secret != "" {
			ts := strconv.FormatInt(r.now().UnixMilli(), 10)
			q.Set("timestamp", ts)
			q.Set("sign", DingTalkSign(string(r.secret), ts))
		}
	} else {
		q.Set("key", string(r.token))
	}
	resp, err := post(ctx, r.endpoint+"?"+q.Encode(), nil, body)
	if err != nil {
		return err
	}
	var ans struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(resp, &ans); err != nil || ans.ErrCode == nil {
		return Transient(fmt.Errorf("robot %s: unexpected answer %q", r.name, snippet(resp)))
	}
	if c := *ans.ErrCode; c != 0 {
		err := fmt.Errorf("robot %s: errcode %d: %s", r.name, c, ans.ErrMsg)
		if robotTransient[c] {
			return &DeliveryError{Err: err, Retryable: true, RetryAfter: time.Minute}
		}
		return Permanent(err)
	}
	return nil
}

// take records a send now, or returns how long to wait for a free slot.
func (r *Robot) take() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	i := 0
	for i < len(r.sent) && now.Sub(r.sent[i]) >= time.Minute {
		i++
	}
	r.sent = r.sent[i:]
	if len(r.sent) >= r.perMinute {
		return r.sent[0].Add(time.Minute).Sub(now)
	}
	r.sent = append(r.sent, now)
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
