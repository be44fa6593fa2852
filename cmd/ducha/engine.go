package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"ducha/store"
	"ducha/workflow"
)

// engine is what runs without anyone asking: the scheduler opening rounds
// and the escalation sweep. `ducha serve` drives it from cron (or from a
// simulated clock), the demo from its replay.
type engine struct {
	db        *store.DB
	scheduler *workflow.Scheduler
	rounds    *workflow.Rounds
	life      *workflow.Lifecycle
	findings  *store.Findings
	log       *slog.Logger
	lastSweep time.Time
	sweepGap  time.Duration
	digested  time.Time // civil date of the last overdue digest
}

func (e *Env) engine(db *store.DB, log *slog.Logger) (*engine, error) {
	cfg, err := e.Config()
	if err != nil {
		return nil, err
	}
	cal, err := e.Calendar()
	if err != nil {
		return nil, err
	}
	life, findings, err := e.lifecycle(db)
	if err != nil {
		return nil, err
	}
	rs, err := e.rounds(db)
	if err != nil {
		return nil, err
	}
	for _, sc := range cfg.Schedules {
		if err := sc.Validate(); err != nil { // prepares the cron spec too
			return nil, fmt.Errorf("schedule %s: %w", sc.Name, err)
		}
	}
	en := &engine{db: db, rounds: rs, life: life, findings: findings, log: log, sweepGap: cfg.Serve.SweepEvery.Duration}
	en.scheduler = &workflow.Scheduler{
		Schedules: cfg.Schedules, Store: db.Schedules(), Calendar: cal, Rand: rand.Reader, Fire: en.fire,
	}
	return en, nil
}

// fire opens the round of a scheduled fire; the claim is in its transaction.
func (en *engine) fire(ctx context.Context, f workflow.Fire) error {
	checklist, src, err := readChecklist(f.Schedule.Checklist)
	if err != nil {
		return err
	}
	req := workflow.OpenRequest{
		Checklist: checklist, ChecklistName: f.Schedule.Checklist, ChecklistSum: workflow.ChecklistSum(src),
		From: f.From, To: f.To, Kind: workflow.RoundPeriodic, Actor: workflow.SystemUser, Fire: &f, Now: f.At,
	}
	if f.Schedule.Kind == workflow.ScheduleKindRandom {
		spec := f.Schedule.SampleSpec()
		req.Kind, req.Scope, req.ExcludeDays = workflow.RoundRandom, workflow.Scope{Sample: &spec}, f.Schedule.ExcludeInspectedDays
	} else if req.Scope, err = workflow.ParseScope(f.Schedule.Scope); err != nil {
		return err
	}
	r, err := en.rounds.Open(ctx, req)
	if err != nil {
		return err
	}
	en.log.Info("round opened", "schedule", f.Schedule.Name, "round", r.ID, "kind", r.Kind,
		"period", r.From.Format(time.DateOnly)+".."+r.To.Format(time.DateOnly), "villages", r.Villages,
		"new_findings", r.NewFindings, "repeats", r.RepeatFindings)
	return nil
}

// tick does what is due at now: scheduled rounds, then (every sweepGap)
// the escalation sweep. A panic in either is logged, never fatal.
func (en *engine) tick(ctx context.Context, now time.Time) (fired []workflow.Fire, sweep *workflow.SweepReport, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("engine tick panicked: %v", p)
			en.log.Error("engine tick panicked", "panic", p)
		}
	}()
	fired, err = en.scheduler.RunDue(ctx, now)
	if err != nil {
		en.log.Error("scheduler", "err", err)
	}
	if en.lastSweep.IsZero() || now.Sub(en.lastSweep) >= en.sweepGap {
		var serr error
		sweep, serr = en.life.Sweep(ctx, en.findings, now)
		if serr != nil {
			en.log.Error("sweep", "err", serr)
			err = errors.Join(err, serr)
		} else {
			en.lastSweep = now
			if len(sweep.Actions) > 0 {
				en.log.Info("sweep", "actions", len(sweep.Actions), "conflicts", sweep.Conflicts)
			}
		}
	}
	if derr := en.digest(ctx, now); derr != nil {
		en.log.Error("overdue digest", "err", derr)
		err = errors.Join(err, derr)
	}
	return fired, sweep, err
}

// digest enqueues the daily overdue digest once a day, from 08:00 on.
func (en *engine) digest(ctx context.Context, now time.Time) error {
	today := workflow.CivilDate(now)
	n, ok := en.life.Notifier.(*workflow.RouterNotifier)
	if !ok || now.In(workflow.Shanghai).Hour() < 8 || !en.digested.Before(today) {
		return nil
	}
	overdue, err := en.findings.List(ctx, store.FindingFilter{State: workflow.Overdue})
	if err != nil {
		return err
	}
	msgs, err := n.Digest(ctx, en.db.Directory(), overdue, now)
	if err != nil {
		return err
	}
	if err := en.db.Enqueue(ctx, msgs); err != nil {
		return err
	}
	en.digested = today
	return nil
}
