package store_test

import (
	"context"
	"errors"
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
