package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SweepStore is what the escalation sweep reads: every open finding in one
// set-based query, each with the number of findings of its adviser
// discovered since a moment (for the repeat-offender rule).
type SweepStore interface {
	OpenFindings(ctx context.Context, repeatSince time.Time) ([]Candidate, error)
}

// Candidate is an open finding as the sweep sees it.
type Candidate struct {
	*Finding
	AdviserRecent int // findings of the same adviser discovered since repeatSince
}

// Action is one automatic transition the sweep made.
type Action struct {
	FindingID int64
	Event     Event
	From, To  State
	Reason    string
}

// SweepReport says what a sweep did.
type SweepReport struct {
	Actions   []Action
	Conflicts int // findings someone else changed meanwhile; the next sweep retries them
}

// Sweep is the escalation sweep at instant now: it expires past-deadline
// orders, sends one reminder before each deadline, summons and escalates per
// policy. Each action is a transition by the system actor whose comment is
// the policy reason. It reads all candidates at once, then transitions them
// one by one (several steps per finding when one leads to the next).
func (l *Lifecycle) Sweep(ctx context.Context, src SweepStore, now time.Time) (*SweepReport, error) {
	today := CivilDate(now)
	since := now.AddDate(0, 0, -l.Policy.RepeatDays)
	cands, err := src.OpenFindings(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("sweep: read open findings: %w", err)
	}
	rep := &SweepReport{}
	for _, c := range cands {
		f := c.Finding
		for step := 0; step < 5; step++ {
			ev, in, ok := l.next(f, c.AdviserRecent, today)
			if !ok {
				break
			}
			t, err := l.FireOn(ctx, SystemUser, f, ev, in, now)
			if errors.Is(err, ErrConflict) {
				rep.Conflicts++
				break
			}
			if err != nil {
				return rep, fmt.Errorf("sweep: finding %d %s: %w", f.ID, ev, err)
			}
			rep.Actions = append(rep.Actions, Action{f.ID, ev, f.State, t.Finding.State, in.Comment})
			f = t.Finding
		}
	}
	return rep, nil
}

// next decides the one automatic event due on f today, if any.
func (l *Lifecycle) next(f *Finding, adviserRecent int, today time.Time) (Event, Input, bool) {
	p := l.Policy
	overdue := f.Deadline != nil && today.After(*f.Deadline)
	because := func(key, why string) Input { return Input{Comment: fmt.Sprintf("%s (policy.%s)", why, key)} }
	switch {
	case f.State == Ordered && overdue:
		return Expire, because("deadline", fmt.Sprintf("整改期限 %s 已过, 未反馈整改情况", f.Deadline.Format(time.DateOnly))), true
	}
	if f.Escalations == 0 {
		in := Input{}
		switch {
		case f.State == Interview && overdue && p.EscalateAfterInterview > 0 && f.InterviewOn != nil &&
			!today.Before(*f.InterviewOn) && l.workdaysBetween(*f.InterviewOn, today) >= p.EscalateAfterInterview:
			in = because("escalate_after_interview_workdays", fmt.Sprintf("约谈 (%s) 后 %d 个工作日仍逾期未整改",
				f.InterviewOn.Format(time.DateOnly), p.EscalateAfterInterview))
		case (f.State == Overdue || f.State == Interview) && p.RepeatFindings > 0 && adviserRecent >= p.RepeatFindings:
			in = because("repeat_offender_findings", fmt.Sprintf("屡查屡犯: 该顾问 %d 天内被发现 %d 个问题", p.RepeatDays, adviserRecent))
		}
		if in.Comment != "" {
			in.Reason = in.Comment
			in.Measure = p.Measure
			if in.Measure == "" {
				in.Measure = Measures[0]
			}
			in.Decision = "依督查工作规定自动问责: " + in.Comment
			return Escalate, in, true
		}
	}
	if f.Summons == 0 {
		in := Input{}
		switch {
		case f.State == Overdue && p.SummonWhenOverdue:
			in = because("summon_when_overdue", "逾期未整改")
		case f.State == Ordered && p.SummonAfterRejections > 0 && f.Rejections >= p.SummonAfterRejections:
			in = because("summon_after_rejections", fmt.Sprintf("整改报告已被退回 %d 次", f.Rejections))
		case f.State == Ordered && p.SummonSevere && f.Severity == Severe:
			in = because("summon_severe", "严重问题")
		}
		if in.Comment != "" {
			day := l.addWorkdays(today, max(p.SummonAfterWorkdays, 0))
			in.Time = time.Date(day.Year(), day.Month(), day.Day(), p.SummonHour, 0, 0, 0, Shanghai)
			in.Place, in.Interviewer = p.SummonPlace, p.SummonInterviewer
			if in.Place == "" {
				in.Place = "县司法局"
			}
			if in.Interviewer == "" {
				in.Interviewer = "县司法局督查室"
			}
			return Summon, in, true
		}
	}
	if f.State == Ordered && f.Deadline != nil && p.RemindBefore > 0 && !overdue &&
		(f.RemindedFor == nil || !f.RemindedFor.Equal(*f.Deadline)) &&
		l.workdaysBetween(today, *f.Deadline) <= p.RemindBefore {
		return Remind, because("remind_before_workdays", fmt.Sprintf("整改期限 %s 将至 (还有 %d 个工作日)",
			f.Deadline.Format(time.DateOnly), l.workdaysBetween(today, *f.Deadline))), true
	}
	return "", Input{}, false
}

// Colour is the dashboard light of f on civil date today: red when overdue
// or escalated (overdue, interview, accountability, or past the deadline),
// yellow when an order is due within YellowWithin working days, blue
// otherwise; closed findings have none.
func (l *Lifecycle) Colour(f *Finding, today time.Time) Colour {
	switch {
	case !f.Open():
		return NoLight
	case f.State == Overdue || f.State == Interview || f.State == Accountability:
		return Red
	case f.State == Ordered && f.Deadline != nil && today.After(*f.Deadline):
		return Red
	case f.State == Ordered && f.Deadline != nil && l.workdaysBetween(today, *f.Deadline) <= l.Policy.YellowWithin:
		return Yellow
	}
	return Blue
}

func (l *Lifecycle) workdaysBetween(a, b time.Time) int {
	if l.Calendar != nil {
		return l.Calendar.WorkdaysBetween(a, b)
	}
	n := 0
	for d := a.AddDate(0, 0, 1); !d.After(b); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return n
}

func (l *Lifecycle) addWorkdays(d time.Time, n int) time.Time {
	if l.Calendar != nil {
		return l.Calendar.AddWorkdays(d, n)
	}
	return addWeekdays(d, n)
}
