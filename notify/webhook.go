package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature headers of the JSON webhook.
const (
	HeaderTimestamp = "X-Ducha-Timestamp" // Unix seconds
	HeaderSignature = "X-Ducha-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderKey       = "X-Ducha-Idempotency-Key"
)

// httpClient is shared by the HTTP channels; per-request timeouts come
// from the context.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     90 * time.Second,
}}

// Webhook POSTs each message as JSON to a URL, signed so the receiver can
// check it came from ducha and was not replayed.
//
// Verifying on the receiving side: read the raw body; take the
// X-Ducha-Timestamp header (Unix seconds) and refuse it if it is more than a
// few minutes from now; compute HMAC-SHA256 keyed with the shared secret over
// the bytes `timestamp + "." + body`; compare, in constant time, "sha256=" +
// its lower-case hex with the X-Ducha-Signature header (VerifySignature does
// all this). X-Ducha-Idempotency-Key (cause|recipient|channel) lets the
// receiver drop a redelivery.
type Webhook struct {
	name   string
	url    string
	secret Secret
	now    func() time.Time
}

// NewWebhook returns a webhook channel; now stamps the signature.
func NewWebhook(name string, cfg ChannelConfig, now func() time.Time) *Webhook {
	return &Webhook{name: name, url: cfg.URL, secret: cfg.Secret, now: now}
}

func (w *Webhook) Name() string { return w.name }

// WebhookPayload is the JSON body of a webhook delivery.
type WebhookPayload struct {
	ID        int64     `json:"id"`
	Kind      Kind      `json:"kind"`
	Cause     string    `json:"cause"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Sign returns the X-Ducha-Signature value for a timestamp and body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a webhook delivery as a receiver should: the
// timestamp within tolerance of now and the signature matching.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", timestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %s is %s from now", timestamp, d)
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(WebhookPayload{ID: m.ID, Kind: m.Kind, Cause: m.Cause, Recipient: m.Recipient,
		Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt})
	if err != nil {
		return Permanent(err)
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign([]byte(w.secret), ts, body))
	h.Set(HeaderKey, m.Key())
	_, err = post(ctx, w.url, h, body)
	return err
}

// post sends a JSON body and classifies failures: network errors, 408, 429
// and 5xx are transient, other 4xx permanent. It returns up to 64 KiB of a
// 2xx response body. Errors name the URL without its query (tokens live
// there).
func post(ctx context.Context, url string, h http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, Permanent(fmt.Errorf("request %s: %v", redactURL(url), redactErr(err, url)))
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, Transient(fmt.Errorf("post %s: %v", redactURL(url), redactErr(err, url)))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return b, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return nil, Transient(fmt.Errorf("post %s: HTTP %d: %s", redactURL(url), c, snippet(b)))
	default:
		return nil, Permanent(fmt.Errorf("post %s: HTTP %d: %s", redactURL(url), c, snippet(b)))
	}
}

func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?<secret>"
	}
	return u
}

// redactErr keeps an error's text but drops the URL's query from it.
func redactErr(err error, url string) string {
	return strings.ReplaceAll(err.Error(), url, redactURL(url))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
