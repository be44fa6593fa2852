package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

// seededReader is a deterministic source of seeds for tests.
type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func sh(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, workflow.Shanghai)
}

type fireLog struct {
	mu    sync.Mutex
	fires []workflow.Fire
}

// claimer opens nothing but claims each fire in its own transaction, as a
// round opening does; fail makes the transaction roll back after the claim.
func claimer(db *store.DB, log *fireLog, fail func(workflow.Fire) bool) workflow.FireFunc {
	return func(ctx context.Context, f workflow.Fire) error {
		return db.InTx(ctx, func(tx *store.Tx) error {
			if err := store.ClaimFire(ctx, tx, f.Schedule.Name, f.At, 0, f.At); err != nil {
				return err
			}
			if fail != nil && fail(f) {
				return errors.New("crash after claim")
			}
			log.mu.Lock()
			log.fires = append(log.fires, f)
			log.mu.Unlock()
			return nil
		})
	}
}

func newScheduler(t *testing.T, db *store.DB, log *fireLog, fail func(workflow.Fire) bool, scs ...*workflow.Schedule) *workflow.Scheduler {
	t.Helper()
	for _, sc := range scs {
		if err := sc.Validate(); err != nil {
			t.Fatalf("validate %s: %v", sc.Name, err)
		}
	}
	return &workflow.Scheduler{
		Schedules: scs,
		Store:     db.Schedules(),
		Calendar:  workflow.DefaultCalendar(),
		Rand:      seededReader{rand.NewChaCha8([32]byte{1})},
		Fire:      claimer(db, log, fail),
	}
}

func monthly() *workflow.Schedule {
	return &workflow.Schedule{Name: "monthly", Kind: "periodic", Cron: "0 9 1 * *",
		Checklist: "checklist.yaml", Period: "previous_month"}
}

func TestSchedulerPeriodicFiresOnceAndCatchesUpOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := &fireLog{}
		s := newScheduler(t, db, log, nil, monthly())
		steps := []struct {
			now  time.Time
			want string // the fire time opened, or ""
		}{
			{sh(2018, 1, 1, 0, 0), ""}, // first seen: nothing before it is caught up
			{sh(2018, 1, 1, 8, 59), ""},
			{sh(2018, 1, 1, 9, 0), "2018-01-01T09:00"},
			{sh(2018, 1, 1, 9, 30), ""},                  // the same tick is not fired twice
			{sh(2018, 4, 15, 10, 0), "2018-04-01T09:00"}, // downtime Feb–Apr: one catch-up
			{sh(2018, 4, 20, 10, 0), ""},
		}
		for _, st := range steps {
			fired, err := s.RunDue(ctx, st.now)
			if err != nil {
				t.Fatalf("RunDue(%s): %v", st.now, err)
			}
			got := ""
			if len(fired) == 1 {
				got = fired[0].At.In(workflow.Shanghai).Format("2006-01-02T15:04")
			} else if len(fired) > 1 {
				t.Fatalf("RunDue(%s) fired %d times", st.now, len(fired))
			}
			if got != st.want {
				t.Fatalf("RunDue(%s) fired %q, want %q", st.now, got, st.want)
			}
		}
		f := log.fires[1]
		if f.From != workflow.Date(2018, 3, 1) || f.To != workflow.Date(2018, 3, 31) {
			t.Fatalf("April fire inspects %s..%s, want March", f.From, f.To)
		}
	})
}

func TestSchedulerCrashBetweenClaimAndCommitIsRetried(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := &fireLog{}
		crash := true
		s := newScheduler(t, db, log, func(workflow.Fire) bool { return crash }, monthly())
		s.RunDue(ctx, sh(2018, 1, 1, 0, 0))
		if _, err := s.RunDue(ctx, sh(2018, 2, 1, 9, 0)); err == nil {
			t.Fatal("crashing fire reported no error")
		}
		if last, _ := db.Schedules().LastFire(ctx, "monthly"); !last.IsZero() {
			t.Fatalf("a rolled-back claim left a fire at %s", last)
		}
		crash = false
		fired, err := s.RunDue(ctx, sh(2018, 2, 1, 9, 5))
		if err != nil || len(fired) != 1 || !fired[0].At.Equal(sh(2018, 2, 1, 9, 0)) {
			t.Fatalf("retry fired %v, %v", fired, err)
		}
	})
}

func TestSchedulerRandomCheckCommitsThenFiresOnAWorkday(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		log := &fireLog{}
		spot := &workflow.Schedule{Name: "spot", Kind: "random", Window: "month", Sample: "20%",
			Checklist: "checklist.yaml", Period: "month_to_date"}
		s := newScheduler(t, db, log, nil, spot)
		cal := workflow.DefaultCalendar()
		if fired, err := s.RunDue(ctx, sh(2018, 2, 1, 0, 5)); err != nil || len(fired) != 0 {
			t.Fatalf("planning run fired %v, %v", fired, err)
		}
		plan, err := db.Schedules().DrawPlanFor(ctx, "spot", workflow.Date(2018, 2, 1))
		if err != nil || plan == nil {
			t.Fatalf("no plan for February: %v", err)
		}
		if plan.Commitment != plan.Seed.Commitment() {
			t.Fatal("stored commitment is not the seed's hash")
		}
		day := workflow.CivilDate(plan.FireAt)
		if !cal.IsWorkday(day) || day.Month() != time.February {
			t.Fatalf("draw planned for %s, not a February working day", plan.FireAt)
		}
		if h := plan.FireAt.In(workflow.Shanghai).Hour(); h < 9 || h >= 17 {
			t.Fatalf("draw planned at %s, outside office hours", plan.FireAt)
		}
		if fired, _ := s.RunDue(ctx, plan.FireAt.Add(-time.Minute)); len(fired) != 0 {
			t.Fatal("fired before its moment")
		}
		fired, err := s.RunDue(ctx, plan.FireAt.Add(time.Minute))
		if err != nil || len(fired) != 1 || fired[0].Draw == nil || !fired[0].At.Equal(plan.FireAt) {
			t.Fatalf("at its moment fired %v, %v", fired, err)
		}
		if fired[0].From != workflow.Date(2018, 2, 1) || !fired[0].To.Before(day) {
			t.Fatalf("random check inspects %s..%s", fired[0].From, fired[0].To)
		}
		if fired, _ := s.RunDue(ctx, sh(2018, 2, 28, 18, 0)); len(fired) != 0 {
			t.Fatal("fired twice in one window")
		}
	})
}

func TestSchedulerThreeProcessesOpenEachTickOnce(t *testing.T) {
	db := testdb.Open(t, store.Postgres)
	ctx := context.Background()
	log := &fireLog{}
	var ss []*workflow.Scheduler
	for i := 0; i < 3; i++ {
		ss = append(ss, newScheduler(t, db, log, nil, monthly()))
	}
	ss[0].RunDue(ctx, sh(2018, 1, 1, 0, 0))
	for m := time.January; m <= time.June; m++ {
		now := sh(2018, m, 1, 9, 0)
		var wg sync.WaitGroup
		for _, s := range ss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.RunDue(ctx, now); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if len(log.fires) != 6 {
		t.Fatalf("6 monthly ticks opened %d rounds", len(log.fires))
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := map[string]*workflow.Schedule{
		"never fires": {Name: "x", Kind: "periodic", Cron: "0 0 31 2 *", Checklist: "c", Period: "previous_month"},
		"bad spec":    {Name: "x", Kind: "periodic", Cron: "every day", Checklist: "c", Period: "previous_month"},
		"bad period":  {Name: "x", Kind: "periodic", Cron: "@monthly", Checklist: "c", Period: "last_month"},
		"bad window":  {Name: "x", Kind: "random", Window: "week", Sample: "10%", Checklist: "c", Period: "month_to_date"},
		"no sample":   {Name: "x", Kind: "random", Window: "month", Checklist: "c", Period: "month_to_date"},
		"bad kind":    {Name: "x", Kind: "daily", Checklist: "c", Period: "previous_month"},
	}
	for name, sc := range bad {
		if err := sc.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := &workflow.Schedule{Name: "q", Kind: "periodic", Cron: "@monthly", Checklist: "c", Period: "last_30d"}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid schedule refused: %v", err)
	}
}
