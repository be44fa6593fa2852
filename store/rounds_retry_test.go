package store_test

import (
	"context"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

// hookStore runs hook once, inside the round's transaction, right after the
// round has read the open findings: a write committed by another process in
// that moment.
type hookStore struct {
	workflow.RoundStore
	hook  func()
	fired bool
}

func (h *hookStore) InRoundTx(ctx context.Context, fn func(workflow.RoundTx) error) error {
	return h.RoundStore.InRoundTx(ctx, func(tx workflow.RoundTx) error { return fn(&hookTx{tx, h}) })
}

type hookTx struct {
	workflow.RoundTx
	h *hookStore
}

func (t *hookTx) OpenFindings(ctx context.Context, villages []string) ([]*workflow.Finding, error) {
	fs, err := t.RoundTx.OpenFindings(ctx, villages)
	if !t.h.fired {
		t.h.fired = true
		t.h.hook()
	}
	return fs, err
}

// A round that records a repeat on a finding another process transitions
// while the round is being written (a sweep, a supervisor's dismissal; seen
// in the three-process soak) is written again from fresh reads, not failed
// with a version conflict; likewise a round that races another round to
// the same new finding. PostgreSQL only: SQLite runs one writer at a time.
func TestOpenRoundRetriesAConcurrentTransition(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect != store.Postgres {
			t.Skip("SQLite serialises writing transactions: no concurrent transition can land inside a round")
		}
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		if _, err := rs.Open(ctx, openReq(t, "all", now)); err != nil {
			t.Fatal(err)
		}
		fs, err := store.NewFindings(db).List(ctx, store.FindingFilter{})
		if err != nil || len(fs) == 0 {
			t.Fatalf("findings: %d, %v", len(fs), err)
		}
		boss := workflow.User{Login: "boss", Role: workflow.Supervisor}
		hs := &hookStore{RoundStore: db.Rounds(), hook: func() {
			// Another process dismisses every open finding, committed at once.
			for _, f := range fs {
				if _, err := rs.Lifecycle.FireOn(ctx, boss, f, workflow.Dismiss, workflow.Input{Reason: "数据有误"}, now); err != nil {
					t.Errorf("dismiss %d: %v", f.ID, err)
				}
			}
		}}
		rs2 := *rs
		rs2.Store = hs
		r, err := rs2.Open(ctx, openReq(t, "all", now.Add(time.Hour)))
		if err != nil {
			t.Fatalf("round open failed on a concurrent transition: %v", err)
		}
		if !hs.fired || r.RepeatFindings != 0 || r.NewFindings != len(fs) {
			t.Fatalf("round = %+v (hook fired %v): the dismissed findings should be found anew", r, hs.fired)
		}
		rep, err := db.CheckInvariants(ctx, now.Add(2*time.Hour))
		if err != nil || !rep.OK() {
			t.Fatalf("invariants: %+v, %v", rep, err)
		}
	})
}

// Two rounds racing to the same new finding: the one that commits second
// records a repeat instead of failing on findings_one_open.
func TestOpenRoundRetriesAConcurrentRound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect != store.Postgres {
			t.Skip("SQLite serialises writing transactions: no concurrent round can land inside a round")
		}
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		var other *workflow.Round
		hs := &hookStore{RoundStore: db.Rounds(), hook: func() {
			var err error
			if other, err = rs.Open(ctx, openReq(t, "all", now)); err != nil {
				t.Errorf("concurrent round: %v", err)
			}
		}}
		rs2 := *rs
		rs2.Store = hs
		r, err := rs2.Open(ctx, openReq(t, "all", now.Add(time.Minute)))
		if err != nil {
			t.Fatalf("round open failed on a concurrent round: %v", err)
		}
		if other == nil || other.NewFindings == 0 || r.NewFindings != 0 || r.RepeatFindings != other.NewFindings {
			t.Fatalf("round = %+v, concurrent round = %+v: the second should record repeats", r, other)
		}
		rep, err := db.CheckInvariants(ctx, now.Add(time.Hour))
		if err != nil || !rep.OK() {
			t.Fatalf("invariants: %+v, %v", rep, err)
		}
	})
}
