package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"ducha/workflow"
)

// Schedules implements workflow.SchedulerStore.
type Schedules struct{ db *DB }

// Schedules returns the scheduler's storage.
func (db *DB) Schedules() *Schedules { return &Schedules{db} }

var _ workflow.SchedulerStore = (*Schedules)(nil)

// ScheduleSince registers the schedule at now the first time it is seen.
func (s *Schedules) ScheduleSince(ctx context.Context, name string, now time.Time) (time.Time, error) {
	q := s.db.Rebind(`INSERT INTO schedules (name, since) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`)
	if _, err := s.db.X.ExecContext(ctx, q, name, Instant(now)); err != nil {
		return time.Time{}, err
	}
	var since Instant
	err := s.db.X.GetContext(ctx, &since, s.db.Rebind(`SELECT since FROM schedules WHERE name = ?`), name)
	return since.T(), err
}

// LastFire is the planned time of the latest claimed fire, or zero.
func (s *Schedules) LastFire(ctx context.Context, name string) (time.Time, error) {
	var at Instant
	err := s.db.X.GetContext(ctx, &at, s.db.Rebind(`SELECT fire_at FROM schedule_fires WHERE schedule = ? ORDER BY fire_at DESC LIMIT 1`), name)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return at.T(), err
}

type drawPlanRow struct {
	Schedule   string  `db:"schedule"`
	Window     Day     `db:"window_start"`
	FireAt     Instant `db:"fire_at"`
	Commitment string  `db:"commitment"`
	Seed       string  `db:"seed"`
}

func (r drawPlanRow) plan() (*workflow.DrawPlan, error) {
	seed, err := workflow.ParseSeed(r.Seed)
	if err != nil {
		return nil, err
	}
	return &workflow.DrawPlan{Schedule: r.Schedule, Window: r.Window.Time, FireAt: r.FireAt.T(), Commitment: r.Commitment, Seed: seed}, nil
}

// DrawPlanFor returns the plan of a schedule's window, or nil.
func (s *Schedules) DrawPlanFor(ctx context.Context, schedule string, window time.Time) (*workflow.DrawPlan, error) {
	var r drawPlanRow
	err := s.db.X.GetContext(ctx, &r, s.db.Rebind(`SELECT schedule, window_start, fire_at, commitment, seed
		FROM draw_plans WHERE schedule = ? AND window_start = ?`), schedule, DayOf(window))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return r.plan()
}

// SaveDrawPlan stores p unless its window is planned already, and returns
// the plan that stands.
func (s *Schedules) SaveDrawPlan(ctx context.Context, p workflow.DrawPlan) (workflow.DrawPlan, error) {
	q := s.db.Rebind(`INSERT INTO draw_plans (schedule, window_start, fire_at, commitment, seed)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (schedule, window_start) DO NOTHING`)
	if _, err := s.db.X.ExecContext(ctx, q, p.Schedule, DayOf(p.Window), Instant(p.FireAt), p.Commitment, p.Seed.String()); err != nil {
		return workflow.DrawPlan{}, err
	}
	got, err := s.DrawPlanFor(ctx, p.Schedule, p.Window)
	if err != nil {
		return workflow.DrawPlan{}, err
	}
	if got == nil {
		return workflow.DrawPlan{}, errors.New("draw plan vanished after insert")
	}
	return *got, nil
}

// ClaimFire claims (schedule, at) inside tx. It returns
// workflow.ErrAlreadyClaimed when another transaction claimed it first; on
// PostgreSQL a concurrent claimer waits for the first to commit or roll back,
// so a crashed claim is retried by the next RunDue.
func ClaimFire(ctx context.Context, tx *Tx, schedule string, at time.Time, roundID int64, now time.Time) error {
	q := tx.Rebind(`INSERT INTO schedule_fires (schedule, fire_at, round_id, claimed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (schedule, fire_at) DO NOTHING`)
	res, err := tx.ExecContext(ctx, q, schedule, Instant(at), roundID, Instant(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return workflow.ErrAlreadyClaimed
	}
	return nil
}
