package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

// groupSetup is a PostgreSQL database with n ordered findings of adviser A01.
func groupSetup(t *testing.T, n int) (*findingsBundle, []*workflow.Finding) {
	t.Helper()
	b := setupFindings(t, testdb.Open(t, store.Postgres))
	pairs := make([][2]string, n)
	for i := range pairs {
		pairs[i] = [2]string{"V01", "A01"}
	}
	fs := b.discover(t, workflow.General, pairs...)
	for i, f := range fs {
		fs[i] = b.fire(t, fSup, f.ID, workflow.Order, workflow.Input{})
	}
	return b, fs
}

// TestGroupedTransitions writes several transitions with one grouped
// statement: each is guarded by its own version, its history row and
// messages are written only with it, and the chains verify.
func TestGroupedTransitions(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 4)
	var ts []*workflow.Transition
	for i, f := range fs {
		tr, err := b.l.Apply(f, fAdviser, workflow.Respond, workflow.Input{Comment: fmt.Sprintf("已整改 %d", i)}, b.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		tr.Messages = []notify.Message{{Kind: notify.Rejection, Cause: fmt.Sprintf("test:%d", f.ID), Recipient: "A01",
			Channel: "email", Subject: "主题", Body: "正文", CreatedAt: b.clock.Now()}}
		ts = append(ts, tr)
	}
	ts[2].Finding.Version-- // read before someone else's transition: stale
	ts[3].Messages = nil
	errs := store.WriteGrouped(ctx, b.db, ts)
	for i, err := range errs {
		if want := i != 2; (err == nil) != want || (i == 2 && !errors.Is(err, workflow.ErrConflict)) {
			t.Fatalf("transition %d: %v", i, err)
		}
	}
	for i, f := range fs {
		got, err := b.fs.Finding(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := b.fs.History(ctx, f.ID)
		if i == 2 {
			if got.State != workflow.Ordered || got.Version != f.Version || len(h) != 2 {
				t.Fatalf("stale transition wrote: %+v, %d history rows", got, len(h))
			}
			continue
		}
		if got.State != workflow.Responded || got.Version != f.Version+1 || got.LastHash != ts[i].Entry.Hash ||
			len(h) != 3 || h[2].Comment != fmt.Sprintf("已整改 %d", i) {
			t.Fatalf("finding %d after the group: %+v, history %+v", i, got, h)
		}
	}
	msgs, err := b.db.Outbox().List(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var causes []string
	for _, m := range msgs {
		causes = append(causes, m.Cause)
	}
	if want := fmt.Sprintf("test:%d test:%d", fs[0].ID, fs[1].ID); strings.Join(causes, " ") != want {
		t.Fatalf("messages %v, want %s (none for the stale transition, in order)", causes, want)
	}
	if res := b.verify(t); res.Break != nil {
		t.Fatalf("chain: %v", res.Break)
	}
}

// TestGroupedFailureIsAttributed: when a grouped statement fails, each of its
// transitions is written on its own, and only the bad one fails.
func TestGroupedFailureIsAttributed(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 3)
	var ts []*workflow.Transition
	for _, f := range fs {
		tr, err := b.l.Apply(f, fAdviser, workflow.Respond, workflow.Input{Comment: "已整改"}, b.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tr)
	}
	ts[1].Finding.State = "bogus" // refused by the state CHECK
	errs := store.WriteGrouped(ctx, b.db, ts)
	if errs[0] != nil || errs[2] != nil || errs[1] == nil || errors.Is(errs[1], workflow.ErrConflict) {
		t.Fatalf("outcomes %v", errs)
	}
	if h, _ := b.fs.History(ctx, fs[1].ID); len(h) != 2 {
		t.Fatalf("the refused transition wrote history: %d rows", len(h))
	}
	if res := b.verify(t); res.Break != nil {
		t.Fatalf("chain: %v", res.Break)
	}
}

// TestGroupQueueCancel: a writer whose context ends while it waits for a
// lead leaves the queue unwritten; the others are written once the lead is
// free again.
func TestGroupQueueCancel(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 3)
	release := store.HoldGroupLeaders(b.db)
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(fs))
	for i, f := range fs {
		c := ctx
		if i == 1 {
			c = cctx
		}
		wg.Go(func() {
			_, errs[i] = b.l.FireOn(c, fAdviser, f, workflow.Respond, workflow.Input{Comment: "已整改"}, b.clock.Now())
		})
	}
	for store.GroupQueued(b.db) < len(fs) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	for store.GroupQueued(b.db) != len(fs)-1 {
		time.Sleep(time.Millisecond)
	}
	release()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("outcomes %v", errs)
	}
	for i, f := range fs {
		got, _ := b.fs.Finding(ctx, f.ID)
		if want := map[bool]workflow.State{true: workflow.Ordered, false: workflow.Responded}[i == 1]; got.State != want {
			t.Fatalf("finding %d: %s, want %s", i, got.State, want)
		}
	}
}

// TestConcurrentTransitionsGrouped: many writers on many findings, several
// on each, race through Fire; every finding ends with a gapless, verified
// chain whose length is its version, and each version was won once.
func TestConcurrentTransitionsGrouped(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 6)
	const perFinding, rounds = 4, 15
	var mu sync.Mutex
	won := map[[2]int64]int{} // finding, version → wins
	var wg sync.WaitGroup
	for _, f := range fs {
		for range perFinding {
			wg.Go(func() {
				for range rounds {
					cur, err := b.fs.Finding(ctx, f.ID)
					if err != nil {
						t.Error(err)
						return
					}
					actor, ev, in := fAdviser, workflow.Respond, workflow.Input{Comment: "已整改"}
					if cur.State == workflow.Responded {
						actor, ev, in = fOfficer, workflow.Reject, workflow.Input{Reason: "不合格"}
					}
					tr, err := b.l.FireOn(ctx, actor, cur, ev, in, b.clock.Now())
					if errors.Is(err, workflow.ErrConflict) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					won[[2]int64{f.ID, int64(tr.Finding.Version)}]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	total := 0
	for _, f := range fs {
		got, _ := b.fs.Finding(ctx, f.ID)
		h, _ := b.fs.History(ctx, f.ID)
		if len(h) != got.Version || got.LastSeq != got.Version {
			t.Fatalf("finding %d: version %d, last_seq %d, %d history rows", f.ID, got.Version, got.LastSeq, len(h))
		}
		for v := f.Version + 1; v <= got.Version; v++ {
			if won[[2]int64{f.ID, int64(v)}] != 1 {
				t.Fatalf("finding %d version %d won %d times", f.ID, v, won[[2]int64{f.ID, int64(v)}])
			}
		}
		total += got.Version - f.Version
	}
	if res := b.verify(t); res.Break != nil {
		t.Fatalf("chain: %v", res.Break)
	}
	t.Logf("%d transitions written by %d racing writers", total, len(fs)*perFinding)
}

// TestGroupedReads reads several findings with one statement: each reader
// gets its finding as a read of its own would (a missing one: not found; one
// read twice: two findings that share nothing).
func TestGroupedReads(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 3)
	ids := []int64{fs[2].ID, fs[0].ID, 999, fs[2].ID}
	got, errs := store.ReadGrouped(ctx, b.fs, ids)
	for i, id := range ids {
		if id == 999 {
			if !errors.Is(errs[i], workflow.ErrNotFound) {
				t.Fatalf("read %d: %v", i, errs[i])
			}
			continue
		}
		want, err := b.fs.Finding(ctx, id)
		if err != nil || errs[i] != nil || !reflect.DeepEqual(got[i], want) {
			t.Fatalf("read %d: %+v (%v), alone: %+v (%v)", i, got[i], errs[i], want, err)
		}
	}
	if got[0] == got[3] || &got[0].Evidence[0] == &got[3].Evidence[0] {
		t.Fatal("two readers of one finding share it")
	}
}

// TestGroupSkipsLockedFindings: a finding locked by another transaction
// holds up its own transition only; the others of its statement are written
// meanwhile, and it is written once the lock is released.
func TestGroupSkipsLockedFindings(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 3)
	tx, err := b.db.X.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT 1 FROM findings WHERE id = $1 FOR NO KEY UPDATE", fs[1].ID); err != nil {
		t.Fatal(err)
	}
	ts := make([]*workflow.Transition, len(fs))
	for i, f := range fs {
		if ts[i], err = b.l.Apply(f, fAdviser, workflow.Respond, workflow.Input{Comment: "已整改"}, b.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan []error, 1)
	go func() { done <- store.WriteGrouped(ctx, b.db, ts) }()
	state := func(i int) workflow.State {
		got, err := b.fs.Finding(ctx, fs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.State
	}
	for state(0) != workflow.Responded || state(2) != workflow.Responded {
		time.Sleep(time.Millisecond)
	}
	select {
	case errs := <-done:
		t.Fatalf("written through another transaction's lock: %v", errs)
	case <-time.After(100 * time.Millisecond):
	}
	if state(1) != workflow.Ordered {
		t.Fatal("the locked finding was written")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if errs := <-done; errs[0] != nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("outcomes %v", errs)
	}
	if state(1) != workflow.Responded {
		t.Fatal("the locked finding was not written after the lock")
	}
	if res := b.verify(t); res.Break != nil {
		t.Fatalf("chain: %v", res.Break)
	}
}

// TestWriteAloneAfterAmbiguousFailure: a transition written again on its own
// after its grouped statement committed (then failed to answer) is no
// conflict; another transition read at the same version is.
func TestWriteAloneAfterAmbiguousFailure(t *testing.T) {
	ctx := context.Background()
	b, fs := groupSetup(t, 1)
	mine, err := b.l.Apply(fs[0], fAdviser, workflow.Respond, workflow.Input{Comment: "已整改"}, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.l.Apply(fs[0], fAdviser, workflow.Respond, workflow.Input{Comment: "另一份报告"}, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if errs := store.WriteGrouped(ctx, b.db, []*workflow.Transition{mine}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if err := store.WriteAlone(ctx, b.db, mine); err != nil {
		t.Fatalf("the same transition again: %v", err)
	}
	if err := store.WriteAlone(ctx, b.db, other); !errors.Is(err, workflow.ErrConflict) {
		t.Fatalf("another transition at the same version: %v", err)
	}
	if h, _ := b.fs.History(ctx, fs[0].ID); len(h) != 3 {
		t.Fatalf("%d history rows, want 3", len(h))
	}
}
