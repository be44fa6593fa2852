package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

// TestTransitionsEnqueueTheirMessages: a round's orders and a later
// rejection write their notifications in their own transactions, and the
// daily digest is enqueued once however often it is built.
func TestTransitionsEnqueueTheirMessages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		if err := db.AddUser(ctx, &workflow.User{Login: "boss", Name: "督查室", Role: workflow.Supervisor}); err != nil {
			t.Fatal(err)
		}
		router, err := notify.NewRouter(notify.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		n := &workflow.RouterNotifier{Router: router, Calendar: workflow.DefaultCalendar()}
		rs := newRounds(t, db)
		rs.Notifier = n
		rs.Lifecycle.Notifier, rs.Lifecycle.Directory = n, db.Directory()
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		if _, err := rs.Open(ctx, openReq(t, "all", now)); err != nil {
			t.Fatal(err)
		}
		msgs, err := db.Outbox().List(ctx, store.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		// Four findings, three with an adviser: one order each to the adviser over the file channel.
		if len(msgs) != 3 {
			t.Fatalf("after opening: %d messages, want 3: %+v", len(msgs), msgs)
		}
		for _, m := range msgs {
			if m.Kind != notify.Order || !strings.HasPrefix(m.Cause, "finding:") || !strings.Contains(m.Body, "整改") {
				t.Fatalf("message %+v", m)
			}
		}
		// The adviser responds; the rejection notifies the adviser in the same transaction.
		fs, _ := store.NewFindings(db).List(ctx, store.FindingFilter{Adviser: "A1"})
		f := fs[0]
		adviser := workflow.User{Login: "a1", Role: workflow.AdviserRole, Adviser: "A1"}
		boss := workflow.User{Login: "boss", Role: workflow.Supervisor}
		tr, err := rs.Lifecycle.FireOn(ctx, adviser, f, workflow.Respond, workflow.Input{Comment: "已整改"}, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Lifecycle.FireOn(ctx, boss, tr.Finding, workflow.Reject, workflow.Input{Reason: "材料不足"}, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		msgs, _ = db.Outbox().List(ctx, store.OutboxFilter{})
		kinds := map[notify.Kind]int{}
		for _, m := range msgs {
			kinds[m.Kind]++
		}
		if kinds[notify.Rejection] != 1 || len(msgs) != 4 {
			t.Fatalf("after respond and reject: %v", kinds)
		}
		// The digest goes to the supervisor (the townships have no officers here);
		// built twice on one day, it is enqueued once.
		over, _ := store.NewFindings(db).List(ctx, store.FindingFilter{})
		for i := 0; i < 2; i++ {
			d, err := n.Digest(ctx, db.Directory(), over, now.AddDate(0, 0, 20))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Enqueue(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := db.Outbox().List(ctx, store.OutboxFilter{})
		digests := 0
		for _, m := range after {
			if m.Kind == notify.Digest {
				digests++
			}
		}
		if digests != 1 || len(after)-len(msgs) != 1 {
			t.Fatalf("digest built twice enqueued %d messages, %d of them digests; want one", len(after)-len(msgs), digests)
		}
	})
}

// TestStaleTransitionWritesNoMessage: a transition on a stale version is a
// conflict and leaves neither its history row nor its messages behind.
func TestStaleTransitionWritesNoMessage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		router, _ := notify.NewRouter(notify.DefaultConfig())
		n := &workflow.RouterNotifier{Router: router, Calendar: workflow.DefaultCalendar()}
		rs := newRounds(t, db)
		rs.Lifecycle.Notifier, rs.Lifecycle.Directory = n, db.Directory()
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		if _, err := rs.Open(ctx, openReq(t, "all", now)); err != nil {
			t.Fatal(err)
		}
		fs, _ := store.NewFindings(db).List(ctx, store.FindingFilter{Adviser: "A1"})
		adviser := workflow.User{Login: "a1", Role: workflow.AdviserRole, Adviser: "A1"}
		boss := workflow.User{Login: "boss", Role: workflow.Supervisor}
		tr, err := rs.Lifecycle.FireOn(ctx, adviser, fs[0], workflow.Respond, workflow.Input{Comment: "已整改"}, now)
		if err != nil {
			t.Fatal(err)
		}
		stale := *tr.Finding
		if _, err := rs.Lifecycle.FireOn(ctx, boss, tr.Finding, workflow.Reject, workflow.Input{Reason: "不足"}, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		before, _ := db.Outbox().List(ctx, store.OutboxFilter{})
		_, err = rs.Lifecycle.FireOn(ctx, boss, &stale, workflow.Reject, workflow.Input{Reason: "再次退回"}, now.Add(2*time.Minute))
		if !errors.Is(err, workflow.ErrConflict) {
			t.Fatalf("stale reject: %v, want a conflict", err)
		}
		after, _ := db.Outbox().List(ctx, store.OutboxFilter{})
		if len(after) != len(before) {
			t.Fatalf("a refused transition left %d messages", len(after)-len(before))
		}
		h, _ := store.NewFindings(db).History(ctx, fs[0].ID)
		if len(h) != 4 { // discover, order, respond, reject
			t.Fatalf("history has %d rows after a refused transition, want 4", len(h))
		}
	})
}

// TestRoundMessagesAsRenderedInTurn: a round renders its orders' messages
// while it writes the findings; the outbox holds exactly the messages of its
// transitions rendered one after another, in that order (a county large
// enough for the round's batch paths, orders routed to advisers, officers
// and supervisors over a personal and a group channel).
func TestRoundMessagesAsRenderedInTurn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.X.ExecContext(ctx, db.Rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO townships (id, name) VALUES (1, '青山镇'), (2, '石门乡'), (3, '桃源乡')`)
		exec(`INSERT INTO advisers (id, code, name, kind, phone, wechat) VALUES
			(1, 'A1', '张律师', 'lawyer', '13800000001', 'zhang'), (2, 'A2', '李工作者', 'worker', '13800000002', 'li')`)
		for i := 1; i <= 150; i++ {
			exec(`INSERT INTO villages (id, code, name, township_id, poverty) VALUES (?, ?, ?, ?, ?)`,
				i, fmt.Sprintf("V%03d", i), fmt.Sprintf("第%d村", i), 1+i%3, true)
			if i%5 != 0 { // every fifth village has no adviser
				exec(`INSERT INTO assignments (adviser_id, village_id, from_date) VALUES (?, ?, '2018-01-01')`, 1+i%2, i)
			}
		}
		for _, u := range []workflow.User{
			{Login: "boss", Name: "督查室", Role: workflow.Supervisor},
			{Login: "chief", Name: "局长", Role: workflow.Supervisor},
			{Login: "qs1", Name: "青山所", Role: workflow.Officer, Township: "青山镇"},
			{Login: "qs2", Name: "青山所二", Role: workflow.Officer, Township: "青山镇"},
			{Login: "sm1", Name: "石门所", Role: workflow.Officer, Township: "石门乡"},
			{Login: "a1", Name: "张律师", Role: workflow.AdviserRole, Adviser: "A1"},
		} {
			if err := db.AddUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
		}
		cfg := notify.DefaultConfig()
		cfg.Channels["hook"] = notify.ChannelConfig{Type: "webhook", URL: "http://127.0.0.1:9/hook", Secret: "s"}
		cfg.Routes[notify.Order] = notify.Route{To: []notify.Audience{notify.ToAdviser, notify.ToOfficers, notify.ToSupervisors},
			Channels: []string{"file", "hook"}}
		router, err := notify.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := &workflow.RouterNotifier{Router: router, Calendar: workflow.DefaultCalendar()}
		rs := newRounds(t, db)
		rs.Notifier = n
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		r, err := rs.Open(ctx, openReq(t, "all", now))
		if err != nil {
			t.Fatal(err)
		}
		if r.NewFindings != 150 {
			t.Fatalf("%d new findings, want 150", r.NewFindings)
		}
		// The orders as they were decided, rendered one after another.
		findings := store.NewFindings(db)
		fs, err := findings.List(ctx, store.FindingFilter{Round: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].ID < fs[j].ID })
		var want []notify.Message
		for _, f := range fs {
			h, err := findings.History(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 2 || h[1].Event != workflow.Order {
				t.Fatalf("finding %d history %+v", f.ID, h)
			}
			ms, err := n.Messages(ctx, db.Directory(), []*workflow.Transition{{Finding: f, Entry: h[1]}})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, ms...)
		}
		got, err := db.Outbox().List(ctx, store.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(want) < 256 {
			t.Fatalf("%d messages, want %d (at least 256)", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Kind != w.Kind || g.Cause != w.Cause || g.Recipient != w.Recipient || g.Address != w.Address ||
				g.Channel != w.Channel || g.Subject != w.Subject || g.Body != w.Body || !g.CreatedAt.Equal(w.CreatedAt) {
				t.Fatalf("message %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	})
}

// failingNotifier fails on the finding with the given ID.
type failingNotifier struct {
	workflow.Notifier
	fail int64
}

func (n failingNotifier) Messages(ctx context.Context, dir notify.Directory, ts []*workflow.Transition) ([]notify.Message, error) {
	for _, t := range ts {
		if t.Finding.ID == n.fail {
			return nil, errors.New("模板出错")
		}
	}
	return n.Notifier.Messages(ctx, dir, ts)
}

// TestRoundMessageFailureWritesNothing: a message that cannot be rendered
// (while the round writes its findings) fails the round, which leaves
// nothing behind.
func TestRoundMessageFailureWritesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		router, err := notify.NewRouter(notify.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		rs := newRounds(t, db)
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		// The second finding of the round fails (ids start at 1 in a fresh database).
		rs.Notifier = failingNotifier{&workflow.RouterNotifier{Router: router, Calendar: workflow.DefaultCalendar()}, 2}
		if _, err := rs.Open(ctx, openReq(t, "all", now)); err == nil || !strings.Contains(err.Error(), "模板出错") {
			t.Fatalf("open: %v, want the notifier's error", err)
		}
		rounds, err := db.Rounds().Rounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := store.NewFindings(db).List(ctx, store.FindingFilter{})
		msgs, _ := db.Outbox().List(ctx, store.OutboxFilter{})
		if len(rounds) != 0 || len(fs) != 0 || len(msgs) != 0 {
			t.Fatalf("after a failed round: %d rounds, %d findings, %d messages", len(rounds), len(fs), len(msgs))
		}
	})
}
