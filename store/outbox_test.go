package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
)

var t0 = time.Date(2018, 3, 5, 1, 0, 0, 0, time.UTC)

func msg(cause, recipient string) notify.Message {
	return notify.Message{Kind: notify.Order, Cause: cause, Recipient: recipient, Address: recipient + "@example.cn",
		Channel: "email", Subject: "【整改通知】桃源村", Body: "请整改", CreatedAt: t0}
}

func TestEnqueueIsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ms := []notify.Message{msg("finding:1:seq:1", "a"), msg("finding:1:seq:1", "b"), msg("finding:1:seq:1", "a")}
		if err := db.Enqueue(ctx, ms); err != nil {
			t.Fatal(err)
		}
		if err := db.Enqueue(ctx, ms[:1]); err != nil {
			t.Fatal(err)
		}
		got, err := db.Outbox().List(ctx, store.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("got %d messages, want 2 (duplicates are no-ops): %+v", len(got), got)
		}
		m := got[0]
		if m.State != notify.Pending || m.Subject != "【整改通知】桃源村" || !m.CreatedAt.Equal(t0) || !m.NextAttemptAt.Equal(t0) {
			t.Fatalf("stored message = %+v", m)
		}
	})
}

// Message text comes back byte for byte, whatever it holds: PostgreSQL
// writes many messages as array parameters, whose literal syntax has its
// own quoting.
func TestEnqueueKeepsTextExactly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		bodies := []string{`NULL`, `{"a",b}`, "引号\"与\\反斜杠\n换行,逗号", "", `'; DROP TABLE outbox; --`, "\t tab and {braces}"}
		var ms []notify.Message
		for i, b := range bodies {
			m := msg(fmt.Sprintf("finding:%d:seq:1", i), "a")
			m.Body, m.Subject = b, b+"主题"
			m.CreatedAt = t0.Add(time.Duration(i)*time.Second + 123456*time.Microsecond)
			ms = append(ms, m)
		}
		if err := db.Enqueue(ctx, ms); err != nil {
			t.Fatal(err)
		}
		got, err := db.Outbox().List(ctx, store.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ms) {
			t.Fatalf("got %d messages, want %d", len(got), len(ms))
		}
		byCause := map[string]notify.Message{}
		for _, m := range got {
			byCause[m.Cause] = m
		}
		for _, m := range ms {
			g := byCause[m.Cause]
			if g.Body != m.Body || g.Subject != m.Subject || !g.CreatedAt.Equal(m.CreatedAt) || g.Address != m.Address {
				t.Errorf("stored %q/%q at %v, want %q/%q at %v", g.Subject, g.Body, g.CreatedAt, m.Subject, m.Body, m.CreatedAt)
			}
		}
	})
}

// Large batches (which PostgreSQL is first asked to COPY) keep the same
// rules: text byte for byte, a message already queued skipped, one repeated
// within the batch written once, everything in the caller's transaction.
func TestEnqueueLargeBatches(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		bodies := []string{`NULL`, `\N`, `{"a",b}`, "引号\"与\\反斜杠\n换行,逗号\r", "", "\t tab\\t and {braces}", `\.`}
		batch := func(from, to int) []notify.Message {
			var ms []notify.Message
			for i := from; i < to; i++ {
				m := msg(fmt.Sprintf("finding:%d:seq:2", i), "adviser:A1")
				m.Body, m.Subject = bodies[i%len(bodies)]+fmt.Sprint(i), fmt.Sprint(i)+bodies[(i+1)%len(bodies)]
				m.CreatedAt = t0.Add(time.Duration(i) * time.Microsecond)
				ms = append(ms, m)
			}
			return ms
		}
		check := func(n int) {
			t.Helper()
			got, err := db.Outbox().List(ctx, store.OutboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("got %d messages, want %d", len(got), n)
			}
			want := map[string]notify.Message{}
			for _, m := range batch(0, n) {
				want[m.Cause] = m
			}
			for _, g := range got {
				m := want[g.Cause]
				if g.Body != m.Body || g.Subject != m.Subject || !g.CreatedAt.Equal(m.CreatedAt) || !g.NextAttemptAt.Equal(m.CreatedAt) ||
					g.Address != m.Address || g.State != notify.Pending || g.Kind != m.Kind {
					t.Fatalf("stored %+v, want %+v", g, m)
				}
			}
		}
		if err := db.Enqueue(ctx, batch(0, 600)); err != nil {
			t.Fatal(err)
		}
		check(600)
		if err := db.Enqueue(ctx, batch(300, 900)); err != nil { // half queued already
			t.Fatal(err)
		}
		check(900)
		twice := append(batch(900, 1200), batch(1000, 1100)...)
		if err := db.Enqueue(ctx, twice); err != nil {
			t.Fatal(err)
		}
		check(1200)
		boom := errors.New("round failed")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := store.EnqueueTx(ctx, tx, batch(1200, 1600)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		check(1200)
	})
}

// A message enqueued in a transaction that rolls back does not exist.
func TestEnqueueRollsBackWithItsCause(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("transition failed")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := store.EnqueueTx(ctx, tx, []notify.Message{msg("finding:2:seq:1", "a")}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		got, _ := db.Outbox().List(ctx, store.OutboxFilter{})
		if len(got) != 0 {
			t.Fatalf("rolled-back message stored: %+v", got)
		}
	})
}

func TestClaimLeaseAndFence(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ob := db.Outbox()
		later := msg("finding:3:seq:1", "late")
		later.NextAttemptAt = t0.Add(time.Hour)
		if err := db.Enqueue(ctx, []notify.Message{msg("finding:3:seq:1", "a"), msg("finding:3:seq:1", "b"), later}); err != nil {
			t.Fatal(err)
		}
		c1, err := ob.Claim(ctx, t0, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(c1) != 2 || c1[0].State != notify.Sending || c1[0].Attempts != 1 {
			t.Fatalf("claim = %+v, want the two due messages, sending, attempt 1", c1)
		}
		// Under lease: nothing more is due.
		if c, _ := ob.Claim(ctx, t0.Add(30*time.Second), 10, time.Minute); len(c) != 0 {
			t.Fatalf("claimed %d messages under lease", len(c))
		}
		// The first claimer finishes "a"; it "crashes" on "b".
		if err := ob.Record(ctx, []notify.Outcome{{ID: c1[0].ID, Attempt: 1, Started: t0, State: notify.Delivered}}); err != nil {
			t.Fatal(err)
		}
		// After the lease, "b" is claimable again.
		c2, err := ob.Claim(ctx, t0.Add(2*time.Minute), 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(c2) != 1 || c2[0].ID != c1[1].ID || c2[0].Attempts != 2 {
			t.Fatalf("reclaim = %+v, want b at attempt 2", c2)
		}
		// The crashed claim's late outcome is logged but changes nothing.
		late := notify.Outcome{ID: c1[1].ID, Attempt: 1, Started: t0, State: notify.Dead, Error: "late"}
		now := notify.Outcome{ID: c2[0].ID, Attempt: 2, Started: t0.Add(2 * time.Minute), State: notify.Pending,
			NextAttemptAt: t0.Add(10 * time.Minute), Error: "HTTP 503"}
		if err := ob.Record(ctx, []notify.Outcome{late, now}); err != nil {
			t.Fatal(err)
		}
		all, _ := ob.List(ctx, store.OutboxFilter{})
		byID := map[int64]notify.Message{}
		for _, m := range all {
			byID[m.ID] = m
		}
		a, b := byID[c1[0].ID], byID[c1[1].ID]
		if a.State != notify.Delivered || a.DeliveredAt == nil || !a.DeliveredAt.Equal(t0) {
			t.Fatalf("a = %+v", a)
		}
		if b.State != notify.Pending || !b.NextAttemptAt.Equal(t0.Add(10*time.Minute)) || b.LastError != "HTTP 503" {
			t.Fatalf("b = %+v, want pending until +10m after the fenced late outcome", b)
		}
		log, err := ob.Attempts(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 || log[0].Outcome != "dead" || log[1].Outcome != "retry" {
			t.Fatalf("log of b = %+v", log)
		}
		if pend, _ := ob.List(ctx, store.OutboxFilter{State: notify.Pending}); len(pend) != 2 {
			t.Fatalf("pending = %d, want b and the later one", len(pend))
		}
	})
}

func TestResend(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ob := db.Outbox()
		if err := db.Enqueue(ctx, []notify.Message{msg("bulletin:2018-5", "a")}); err != nil {
			t.Fatal(err)
		}
		c, _ := ob.Claim(ctx, t0, 10, time.Minute)
		var re *store.ResendError
		if _, err := ob.Resend(ctx, c[0].ID, t0, "zhang"); !errors.As(err, &re) {
			t.Fatalf("resend of a sending message: %v, want refusal", err)
		}
		if _, err := ob.Resend(ctx, 999, t0, "zhang"); !errors.As(err, &re) {
			t.Fatalf("resend of a missing message: %v, want refusal", err)
		}
		ob.Record(ctx, []notify.Outcome{{ID: c[0].ID, Attempt: 1, Started: t0, State: notify.Dead, Error: "550"}})
		later := t0.Add(100 * time.Hour)
		m, err := ob.Resend(ctx, c[0].ID, later, "zhang")
		if err != nil {
			t.Fatal(err)
		}
		if m.State != notify.Pending || !m.QueuedAt.Equal(later) || !m.CreatedAt.Equal(t0) {
			t.Fatalf("resent = %+v", m)
		}
		if c2, _ := ob.Claim(ctx, later, 10, time.Minute); len(c2) != 1 || c2[0].Attempts != 2 {
			t.Fatalf("claim after resend = %+v", c2)
		}
		log, _ := ob.Attempts(ctx, m.ID)
		if len(log) != 2 || log[1].Outcome != "resend" {
			t.Fatalf("log = %+v", log)
		}
	})
}

// Concurrent claimers never share a message.
func TestClaimIsDisjoint(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ms []notify.Message
		for i := range 300 {
			ms = append(ms, msg(fmt.Sprintf("finding:%d:seq:1", i), "a"))
		}
		if err := db.Enqueue(ctx, ms); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := db.Outbox().Claim(ctx, t0, 7, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, m := range c {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 300 {
			t.Fatalf("claimed %d distinct messages, want 300", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("message %d claimed %d times", id, n)
			}
		}
	})
}

func TestDirectory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`INSERT INTO townships (id, name) VALUES (1, '城关镇'), (2, '河口乡')`,
			`INSERT INTO advisers (id, code, name, kind, email) VALUES (1, 'A1', '李明', 'lawyer', 'liming@example.cn'), (2, 'A2', '赵强', 'worker', '')`,
			`INSERT INTO users (login, name, role, township_id, adviser_id, email) VALUES
				('liming', '李明', 'adviser', NULL, 1, 'other@example.cn'),
				('wang', '王所长', 'officer', 1, NULL, 'wang@example.cn'),
				('he', '何所长', 'officer', 2, NULL, ''),
				('zhang', '张主任', 'supervisor', NULL, NULL, 'zhang@example.cn')`,
		} {
			if _, err := db.X.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		dir := db.Directory()
		p, err := dir.Adviser(ctx, "A1")
		if err != nil || p != (notify.Person{Login: "liming", Name: "李明", Email: "liming@example.cn"}) {
			t.Fatalf("adviser A1 = %+v, %v", p, err)
		}
		p, err = dir.Adviser(ctx, "A2")
		if err != nil || p != (notify.Person{Login: "adviser:A2", Name: "赵强"}) {
			t.Fatalf("adviser A2 = %+v, %v", p, err)
		}
		if _, err := dir.Adviser(ctx, "A9"); err == nil {
			t.Fatal("unknown adviser: no error")
		}
		o, err := dir.Officers(ctx, "城关镇")
		if err != nil || len(o) != 1 || o[0].Login != "wang" {
			t.Fatalf("officers = %+v, %v", o, err)
		}
		s, err := dir.Supervisors(ctx)
		if err != nil || len(s) != 1 || s[0].Email != "zhang@example.cn" {
			t.Fatalf("supervisors = %+v, %v", s, err)
		}
	})
}
