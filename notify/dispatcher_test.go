package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
)

var t0 = time.Date(2018, 3, 5, 1, 0, 0, 0, time.UTC)

// clock is a fake clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type bundle struct {
	db    *store.DB
	d     *notify.Dispatcher
	clock *clock
}

var testDispatch = notify.DispatchConfig{Batch: 50, Workers: 4, Lease: time.Minute, Poll: time.Second,
	SendTimeout: 5 * time.Second, BaseBackoff: 30 * time.Second, MaxBackoff: 10 * time.Minute, MaxAge: time.Hour}

func setup(t *testing.T, db *store.DB, channels ...notify.Channel) bundle {
	t.Helper()
	clk := &clock{t: t0}
	d := notify.NewDispatcher(db.Outbox(), channels, testDispatch, rand.New(rand.NewPCG(1, 2)))
	d.Now = clk.Now
	return bundle{db: db, d: d, clock: clk}
}

func (b bundle) enqueue(t *testing.T, msgs ...notify.Message) {
	t.Helper()
	if err := b.db.Enqueue(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// run runs one dispatcher step at the instant at.
func (b bundle) run(t *testing.T, at time.Time) int {
	t.Helper()
	b.clock.Set(at)
	n, err := b.d.RunOnce(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (b bundle) byState(t *testing.T, s notify.State) []notify.Message {
	t.Helper()
	ms, err := b.db.Outbox().List(context.Background(), store.OutboxFilter{State: s})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func message(channel, cause, recipient, address string) notify.Message {
	return notify.Message{Kind: notify.Order, Cause: cause, Recipient: recipient, Address: address, Channel: channel,
		Subject: "【整改通知】桃源村：每月到村服务不少于1次", Body: "李明：\n\n请于2018年4月20日前完成整改。\n.以点开头的一行\n",
		CreatedAt: t0}
}

func TestSMTPDelivery(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		srv := startSMTPD(t, "ducha", "s3cret")
		srv.reject["nobody@example.cn"] = true
		host, port, _ := net.SplitHostPort(srv.Addr)
		var p int
		fmt.Sscan(port, &p)
		ch := notify.NewSMTP("email", notify.ChannelConfig{Type: "smtp", Host: host, Port: p, From: "ducha@sfj.example.cn",
			Username: "ducha", Password: "s3cret", StartTLS: "opportunistic", Timeout: 5 * time.Second})
		b := setup(t, db, ch)
		b.enqueue(t, message("email", "finding:1:seq:1", "liming", "liming@example.cn"),
			message("email", "finding:1:seq:1", "nobody", "nobody@example.cn"))
		if n := b.run(t, t0); n != 2 {
			t.Fatalf("handled %d, want 2", n)
		}
		got := srv.Received()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want 1", len(got))
		}
		r := got[0]
		if r.From != "ducha@sfj.example.cn" || len(r.To) != 1 || r.To[0] != "liming@example.cn" || r.Auth != "ducha" {
			t.Fatalf("envelope = %+v", r)
		}
		m, err := mail.ReadMessage(strings.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subject != "【整改通知】桃源村：每月到村服务不少于1次" {
			t.Fatalf("subject = %q (raw %q), %v", subject, m.Header.Get("Subject"), err)
		}
		if ct := m.Header.Get("Content-Type"); !strings.Contains(strings.ToLower(ct), "charset=utf-8") || !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("content type = %q", ct)
		}
		if m.Header.Get("X-Ducha-Cause") != "finding:1:seq:1" || !strings.Contains(m.Header.Get("To"), "liming@example.cn") {
			t.Fatalf("headers = %v", m.Header)
		}
		raw, _ := io.ReadAll(m.Body)
		if cte := m.Header.Get("Content-Transfer-Encoding"); strings.EqualFold(cte, "base64") {
			raw, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			if err != nil {
				t.Fatal(err)
			}
		}
		body := strings.ReplaceAll(string(raw), "\r\n", "\n")
		if body != "李明：\n\n请于2018年4月20日前完成整改。\n.以点开头的一行\n" {
			t.Fatalf("body = %q", body)
		}
		if d := b.byState(t, notify.Delivered); len(d) != 1 || d[0].Recipient != "liming" {
			t.Fatalf("delivered = %+v", d)
		}
		dead := b.byState(t, notify.Dead)
		if len(dead) != 1 || dead[0].Recipient != "nobody" || !strings.Contains(dead[0].LastError, "550") {
			t.Fatalf("dead = %+v, want the 550-rejected address", dead)
		}
		// A dead letter is never retried.
		if n := b.run(t, t0.Add(24*time.Hour)); n != 0 {
			t.Fatalf("handled %d after dead-lettering", n)
		}
	})
}

func TestSMTPTemporaryFailureRetries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		srv := startSMTPD(t, "", "")
		srv.tempfail["liming@example.cn"] = 1
		host, port, _ := net.SplitHostPort(srv.Addr)
		var p int
		fmt.Sscan(port, &p)
		ch := notify.NewSMTP("email", notify.ChannelConfig{Type: "smtp", Host: host, Port: p, From: "ducha@sfj.example.cn",
			StartTLS: "opportunistic", Timeout: 5 * time.Second})
		b := setup(t, db, ch)
		b.enqueue(t, message("email", "finding:1:seq:1", "liming", "liming@example.cn"))
		b.run(t, t0)
		pend := b.byState(t, notify.Pending)
		if len(pend) != 1 || !strings.Contains(pend[0].LastError, "451") {
			t.Fatalf("after 451: pending = %+v", pend)
		}
		b.run(t, pend[0].NextAttemptAt)
		if got := srv.Received(); len(got) != 1 {
			t.Fatalf("received %d, want 1 after the retry", len(got))
		}
	})
}

// Mandatory STARTTLS against a server without it never sends in clear text.
func TestSMTPMandatoryTLS(t *testing.T) {
	srv := startSMTPD(t, "", "")
	host, port, _ := net.SplitHostPort(srv.Addr)
	var p int
	fmt.Sscan(port, &p)
	ch := notify.NewSMTP("email", notify.ChannelConfig{Type: "smtp", Host: host, Port: p, From: "ducha@sfj.example.cn",
		Timeout: 5 * time.Second})
	err := ch.Send(context.Background(), message("email", "c", "liming", "liming@example.cn"))
	if err == nil || len(srv.Received()) != 0 || !notify.Retryable(err) {
		t.Fatalf("sent without TLS: err=%v, received=%d", err, len(srv.Received()))
	}
	// go-mail leaves the connection open on this failure; the channel closes it.
	select {
	case <-srv.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the failed connection was left open")
	}
}

// sink is a webhook receiver that verifies signatures and counts deliveries
// per idempotency key.
type sink struct {
	secret []byte
	now    func() time.Time
	status atomic.Int32 // answer with this status (0: 200)
	mu     sync.Mutex
	count  map[string]int
	bad    int
}

func newSink(secret string, now func() time.Time) *sink {
	return &sink{secret: []byte(secret), now: now, count: map[string]int{}}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if st := int(s.status.Load()); st != 0 {
		w.WriteHeader(st)
		return
	}
	// Verify exactly as documented, independently of notify.VerifySignature.
	ts := r.Header.Get("X-Ducha-Timestamp")
	var sec int64
	fmt.Sscan(ts, &sec)
	want := "sha256=" + hmacHex(s.secret, ts+"."+string(body))
	if r.Header.Get("X-Ducha-Signature") != want || s.now().Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute ||
		r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		s.mu.Lock()
		s.bad++
		s.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if err := notify.VerifySignature(s.secret, ts, r.Header.Get("X-Ducha-Signature"), body, s.now(), 5*time.Minute); err != nil {
		panic(err)
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Subject == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.count[r.Header.Get("X-Ducha-Idempotency-Key")]++
	s.mu.Unlock()
}

func (s *sink) counts() (keys, total, dup, bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.count {
		total += n
		if n > 1 {
			dup++
		}
	}
	return len(s.count), total, dup, s.bad
}

func TestWebhookPeerDownThenUp(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		// The peer is down: its port refuses connections.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		b := setup(t, db)
		wh := notify.NewWebhook("ops", notify.ChannelConfig{Type: "webhook", URL: "http://" + addr + "/hook", Secret: "k3y"}, b.clock.Now)
		b.d.Channels["ops"] = wh
		b.enqueue(t, message("ops", "finding:7:seq:2", "channel:ops", ""), message("ops", "finding:8:seq:2", "channel:ops", ""))
		b.run(t, t0)
		pend := b.byState(t, notify.Pending)
		if len(pend) != 2 || pend[0].Attempts != 1 || !pend[0].NextAttemptAt.After(t0) {
			t.Fatalf("after refusal: %+v", pend)
		}
		// Still down at the next attempt: the delay grows.
		first := pend[0].NextAttemptAt
		b.run(t, latest(pend))
		pend = b.byState(t, notify.Pending)
		if len(pend) != 2 || pend[0].Attempts != 2 || pend[0].NextAttemptAt.Sub(latest(nil, first)) < 30*time.Second {
			t.Fatalf("second refusal: %+v", pend)
		}
		// The peer comes back on the same address.
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot rebind %s: %v", addr, err)
		}
		s := newSink("k3y", b.clock.Now)
		srv := httptest.NewUnstartedServer(s)
		srv.Listener = ln2
		srv.Start()
		defer srv.Close()
		b.run(t, latest(pend))
		for i := 1; i <= 5; i++ {
			b.run(t, latest(pend).Add(time.Duration(i)*time.Hour))
		}
		keys, total, dup, bad := s.counts()
		if keys != 2 || total != 2 || dup != 0 || bad != 0 {
			t.Fatalf("sink: %d keys, %d deliveries, %d duplicated, %d bad signatures; want 2, 2, 0, 0", keys, total, dup, bad)
		}
		if d := b.byState(t, notify.Delivered); len(d) != 2 {
			t.Fatalf("delivered %d, want 2", len(d))
		}
		log, _ := db.Outbox().Attempts(context.Background(), pend[0].ID)
		if len(log) != 3 || log[0].Outcome != "retry" || log[2].Outcome != "delivered" {
			t.Fatalf("delivery log = %+v", log)
		}
	})
}

func latest(ms []notify.Message, ts ...time.Time) time.Time {
	var l time.Time
	for _, m := range ms {
		ts = append(ts, m.NextAttemptAt)
	}
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

func TestWebhookClientErrorIsDeadAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Error(w, "no such hook", http.StatusNotFound)
		}))
		defer srv.Close()
		b := setup(t, db)
		b.d.Channels["ops"] = notify.NewWebhook("ops", notify.ChannelConfig{URL: srv.URL, Secret: "k"}, b.clock.Now)
		b.enqueue(t, message("ops", "finding:9:seq:1", "channel:ops", ""))
		for i := range 5 {
			b.run(t, t0.Add(time.Duration(i)*time.Hour))
		}
		if hits.Load() != 1 {
			t.Fatalf("peer hit %d times, want 1 (a 4xx is not retried)", hits.Load())
		}
		dead := b.byState(t, notify.Dead)
		if len(dead) != 1 || !strings.Contains(dead[0].LastError, "HTTP 404") || dead[0].Attempts != 1 {
			t.Fatalf("dead = %+v", dead)
		}
	})
}

func TestRetriesStopAtMaxAge(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.WriteHeader(http.StatusBadGateway)
		}))
		defer srv.Close()
		b := setup(t, db)
		b.d.Channels["ops"] = notify.NewWebhook("ops", notify.ChannelConfig{URL: srv.URL, Secret: "k"}, b.clock.Now)
		b.enqueue(t, message("ops", "finding:9:seq:1", "channel:ops", ""))
		now := t0
		var delays []time.Duration
		for range 50 {
			if b.run(t, now) == 0 {
				break
			}
			p := b.byState(t, notify.Pending)
			if len(p) == 0 {
				break
			}
			delays = append(delays, p[0].NextAttemptAt.Sub(now))
			now = p[0].NextAttemptAt
		}
		dead := b.byState(t, notify.Dead)
		if len(dead) != 1 || !strings.Contains(dead[0].LastError, "older than") {
			t.Fatalf("dead = %+v", dead)
		}
		if int(hits.Load()) != len(delays)+1 || len(delays) < 4 {
			t.Fatalf("%d hits, delays %v", hits.Load(), delays)
		}
		// Exponential with equal jitter: attempt k waits within [b·2^(k-1)/2, b·2^(k-1)], capped.
		for k, d := range delays {
			hi := min(testDispatch.BaseBackoff<<k, testDispatch.MaxBackoff)
			if d < hi/2 || d > hi {
				t.Fatalf("delay %d = %s, want within [%s, %s]", k+1, d, hi/2, hi)
			}
		}
	})
}

// A dispatcher that claims and dies leaves the message to the next one
// after the lease.
func TestCrashedClaimIsRetried(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		s := newSink("k", nil)
		srv := httptest.NewServer(s)
		defer srv.Close()
		b := setup(t, db)
		s.now = b.clock.Now
		b.d.Channels["ops"] = notify.NewWebhook("ops", notify.ChannelConfig{URL: srv.URL, Secret: "k"}, b.clock.Now)
		b.enqueue(t, message("ops", "finding:9:seq:1", "channel:ops", ""))
		if c, err := db.Outbox().Claim(context.Background(), t0, 10, testDispatch.Lease); err != nil || len(c) != 1 {
			t.Fatalf("crashing claim = %v, %v", c, err)
		}
		if n := b.run(t, t0.Add(testDispatch.Lease/2)); n != 0 {
			t.Fatalf("claimed %d under another's lease", n)
		}
		if n := b.run(t, t0.Add(testDispatch.Lease)); n != 1 {
			t.Fatalf("handled %d after the lease, want 1", n)
		}
		if _, total, _, _ := s.counts(); total != 1 {
			t.Fatalf("delivered %d times", total)
		}
	})
}

// Two dispatchers on one PostgreSQL deliver each message exactly once.
func TestTwoDispatchersExactlyOnce(t *testing.T) {
	db := testdb.Open(t, store.Postgres)
	s := newSink("k", time.Now)
	srv := httptest.NewServer(s)
	defer srv.Close()
	const n = 600
	var ms []notify.Message
	for i := range n {
		ms = append(ms, message("ops", fmt.Sprintf("finding:%d:seq:1", i), "channel:ops", ""))
	}
	now := time.Now().UTC()
	for i := range ms {
		ms[i].CreatedAt = now
	}
	if err := db.Enqueue(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	handled := make([]int, 2)
	for i := range 2 {
		d := notify.NewDispatcher(db.Outbox(), []notify.Channel{
			notify.NewWebhook("ops", notify.ChannelConfig{URL: srv.URL, Secret: "k"}, time.Now)},
			notify.DispatchConfig{Batch: 20, Workers: 8}, rand.New(rand.NewPCG(uint64(i), 0)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := d.RunOnce(context.Background(), time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
				handled[i] += k
			}
		}()
	}
	wg.Wait()
	keys, total, dup, bad := s.counts()
	if keys != n || total != n || dup != 0 || bad != 0 {
		t.Fatalf("sink: %d keys, %d deliveries, %d duplicated, %d bad; want %d, %d, 0, 0", keys, total, dup, bad, n, n)
	}
	if handled[0]+handled[1] != n || handled[0] == 0 || handled[1] == 0 {
		t.Logf("note: dispatchers handled %v", handled)
	}
	if handled[0]+handled[1] != n {
		t.Fatalf("handled %v, want %d in all", handled, n)
	}
}

// The service loop wakes on LISTEN/NOTIFY (PostgreSQL) or its poll
// (SQLite), and Stop is safe twice.
func TestServiceDelivers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		got := make(chan string, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get("X-Ducha-Idempotency-Key")
		}))
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := testDispatch
		cfg.Poll = 20 * time.Millisecond
		if db.Dialect == store.Postgres {
			cfg.Poll = time.Hour // only a notification can wake it in time
		}
		d := notify.NewDispatcher(db.Outbox(), []notify.Channel{
			notify.NewWebhook("ops", notify.ChannelConfig{URL: srv.URL, Secret: "k"}, time.Now)}, cfg, nil)
		wake, err := db.ListenOutbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d.Wakeups = wake
		d.Start(ctx)
		d.Start(ctx) // no second loop
		m := message("ops", "finding:1:seq:1", "channel:ops", "")
		m.CreatedAt = time.Now().UTC()
		if err := db.Enqueue(ctx, []notify.Message{m}); err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-got:
			if k != m.Key() {
				t.Fatalf("delivered %q", k)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("not delivered within 10s")
		}
		d.Stop()
		d.Stop()
	})
}
