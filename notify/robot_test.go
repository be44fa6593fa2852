package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
)

// robotServer imitates the WeCom or DingTalk robot API: it checks the
// documented body (and DingTalk's signature) exactly and answers with the
// errcode the test sets; HTTP 200 either way, as the real ones do.
type robotServer struct {
	dingtalk bool
	token    string // WeCom key or DingTalk access token
	secret   string // DingTalk signing secret
	now      func() time.Time

	mu      sync.Mutex
	errcode []int // answers in turn; 0 when exhausted
	got     []string
	bad     []string
}

func (s *robotServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(format string, args ...any) {
		s.bad = append(s.bad, fmt.Sprintf(format, args...))
		json.NewEncoder(w).Encode(map[string]any{"errcode": 300001, "errmsg": "bad request"})
	}
	q := r.URL.Query()
	var text string
	if s.dingtalk {
		if r.URL.Path != "/robot/send" || q.Get("access_token") != s.token {
			fail("path %s token %q", r.URL.Path, q.Get("access_token"))
			return
		}
		ts := q.Get("timestamp")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || s.now().Sub(time.UnixMilli(ms)).Abs() > time.Hour {
			fail("timestamp %q", ts)
			return
		}
		mac := hmac.New(sha256.New, []byte(s.secret))
		mac.Write([]byte(ts + "\n" + s.secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		// The raw query carries the URL-encoded signature.
		if !strings.Contains(r.URL.RawQuery, "sign="+urlEncode(want)) || q.Get("sign") != want {
			fail("sign %q, want %q", q.Get("sign"), want)
			return
		}
		var p struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Title string `json:"title"`
				Text  string `json:"text"`
			} `json:"markdown"`
		}
		if json.Unmarshal(body, &p) != nil || p.MsgType != "markdown" || p.Markdown.Title == "" || p.Markdown.Text == "" {
			fail("body %s", body)
			return
		}
		text = p.Markdown.Text
	} else {
		if r.URL.Path != "/cgi-bin/webhook/send" || q.Get("key") != s.token {
			fail("path %s key %q", r.URL.Path, q.Get("key"))
			return
		}
		var p struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		if json.Unmarshal(body, &p) != nil || p.MsgType != "markdown" || p.Markdown.Content == "" {
			fail("body %s", body)
			return
		}
		text = p.Markdown.Content
	}
	code := 0
	if len(s.errcode) > 0 {
		code, s.errcode = s.errcode[0], s.errcode[1:]
	}
	if code == 0 {
		s.got = append(s.got, text)
	}
	json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": "test"})
}

func urlEncode(s string) string {
	r := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D")
	return r.Replace(s)
}

func TestRobots(t *testing.T) {
	for _, ding := range []bool{false, true} {
		name := map[bool]string{false: "wecom", true: "dingtalk"}[ding]
		t.Run(name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, db *store.DB) {
				b := setup(t, db)
				rs := &robotServer{dingtalk: ding, token: "tok-123", secret: "SECabc", now: b.clock.Now}
				srv := httptest.NewServer(rs)
				defer srv.Close()
				cfg := notify.ChannelConfig{Type: name, BaseURL: srv.URL, Key: "tok-123", AccessToken: "tok-123", Secret: "SECabc", PerMinute: 20}
				if ding {
					b.d.Channels["group"] = notify.NewDingTalk("group", cfg, b.clock.Now)
				} else {
					b.d.Channels["group"] = notify.NewWeCom("group", cfg, b.clock.Now)
				}
				// Rate-limited first (retry), then fine; a bad request code is permanent.
				limit := map[bool]int{false: 45009, true: 130101}[ding]
				rs.errcode = []int{limit}
				b.enqueue(t, message("group", "finding:1:seq:1", "channel:group", ""))
				b.run(t, t0)
				pend := b.byState(t, notify.Pending)
				if len(pend) != 1 || !strings.Contains(pend[0].LastError, strconv.Itoa(limit)) {
					t.Fatalf("after rate limit: pending = %+v", pend)
				}
				b.run(t, pend[0].NextAttemptAt)
				if len(rs.got) != 1 || !strings.Contains(rs.got[0], "【整改通知】桃源村") || len(rs.bad) != 0 {
					t.Fatalf("robot got %q, bad %q", rs.got, rs.bad)
				}
				rs.errcode = []int{310000} // e.g. keyword or IP check failed: HTTP 200, not delivered
				b.enqueue(t, message("group", "finding:2:seq:1", "channel:group", ""))
				b.run(t, pend[0].NextAttemptAt.Add(time.Minute))
				dead := b.byState(t, notify.Dead)
				if len(dead) != 1 || !strings.Contains(dead[0].LastError, "errcode 310000") {
					t.Fatalf("dead = %+v, want the errcode 310000 message", dead)
				}
				if strings.Contains(dead[0].LastError, "tok-123") {
					t.Fatalf("error leaks the token: %s", dead[0].LastError)
				}
			})
		})
	}
}

// A robot sends at most PerMinute messages in any minute; the rest wait.
func TestRobotThrottle(t *testing.T) {
	clk := &clock{t: t0}
	rs := &robotServer{token: "k", now: clk.Now}
	srv := httptest.NewServer(rs)
	defer srv.Close()
	r := notify.NewWeCom("g", notify.ChannelConfig{BaseURL: srv.URL, Key: "k", PerMinute: 3}, clk.Now)
	ctx := context.Background()
	for i := range 3 {
		clk.Set(t0.Add(time.Duration(i) * 10 * time.Second))
		if err := r.Send(ctx, message("g", "c", "channel:g", "")); err != nil {
			t.Fatal(err)
		}
	}
	err := r.Send(ctx, message("g", "c", "channel:g", ""))
	var de *notify.DeliveryError
	if !notify.Retryable(err) || !errorsAs(err, &de) || de.RetryAfter != 40*time.Second {
		t.Fatalf("4th send in a minute: %v (want throttled, retry after 40s)", err)
	}
	clk.Set(t0.Add(time.Minute))
	if err := r.Send(ctx, message("g", "c", "channel:g", "")); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	if len(rs.got) != 4 {
		t.Fatalf("robot received %d, want 4", len(rs.got))
	}
}
