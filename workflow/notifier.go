package workflow

import (
	"context"
	"fmt"
	"time"

	"ducha/notify"
)

// messageKind is the notification a lifecycle event causes, if any.
func messageKind(ev Event) (notify.Kind, bool) {
	switch ev {
	case Order, Reorder, Uphold:
		return notify.Order, true
	case Reject:
		return notify.Rejection, true
	case Remind:
		return notify.Reminder, true
	case Summon:
		return notify.Interview, true
	case Escalate:
		return notify.Accountability, true
	}
	return "", false
}

// NotifyFinding is what a message says about f on civil date today.
func NotifyFinding(f *Finding, cal WorkCalendar, today time.Time) *notify.Finding {
	nf := &notify.Finding{
		ID: f.ID, Round: f.RoundID, Village: f.VillageName, Township: f.Township,
		AdviserCode: f.Adviser, AdviserName: f.AdviserName, Rule: f.RuleID, RuleTitle: f.RuleTitle,
		Evidence: f.Message,
	}
	if f.Deadline != nil {
		nf.Deadline = *f.Deadline
		nf.WorkdaysLeft = cal.WorkdaysBetween(today, *f.Deadline)
	}
	return nf
}

// Digest renders the daily overdue digest (逾期日报) of the civil date of
// now from the findings overdue then: one message per township for its
// officers and one county-wide for supervisors. Building it twice on a day
// yields the same idempotency keys, so it is enqueued once.
func (n *RouterNotifier) Digest(ctx context.Context, dir notify.Directory, overdue []*Finding, now time.Time) ([]notify.Message, error) {
	today := CivilDate(now)
	fs := make([]notify.Finding, len(overdue))
	for i, f := range overdue {
		fs[i] = *NotifyFinding(f, n.Calendar, today)
	}
	var out []notify.Message
	for _, ev := range notify.DigestEvents(now, today, fs) {
		msgs, err := n.Router.Messages(ctx, dir, ev)
		if err != nil {
			return nil, fmt.Errorf("overdue digest: %w", err)
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// RouterNotifier routes lifecycle transitions through the configured
// notification routes: orders (整改通知), rejections, reminders (催办),
// interview notices (约谈通知) and accountability decisions (问责决定).
type RouterNotifier struct {
	Router   *notify.Router
	Calendar WorkCalendar
}

// Messages renders the messages the transitions cause. The cause of each is
// "finding:ID:seq:N", so the same transition never produces a message twice.
func (n *RouterNotifier) Messages(ctx context.Context, dir notify.Directory, ts []*Transition) ([]notify.Message, error) {
	var out []notify.Message
	for _, t := range ts {
		kind, ok := messageKind(t.Entry.Event)
		if !ok {
			continue
		}
		f, e := t.Finding, t.Entry
		today := CivilDate(e.At)
		nf := NotifyFinding(f, n.Calendar, today)
		nf.Reason, nf.Measure = e.Payload["reason"], e.Payload["measure"]
		nf.Place, nf.Interviewer = e.Payload["place"], e.Payload["interviewer"]
		if d := e.Payload["decision"]; d != "" {
			nf.Reason = d
		}
		if at := e.Payload["time"]; at != "" {
			if t, err := time.ParseInLocation("2006-01-02 15:04", at, Shanghai); err == nil {
				nf.InterviewAt = t
			}
		}
		msgs, err := n.Router.Messages(ctx, dir, notify.Event{
			Kind: kind, Cause: fmt.Sprintf("finding:%d:seq:%d", f.ID, e.Seq), At: e.At, Date: today,
			Finding: nf, Township: f.Township,
		})
		if err != nil {
			return nil, fmt.Errorf("notify finding %d %s: %w", f.ID, e.Event, err)
		}
		out = append(out, msgs...)
	}
	return out, nil
}
