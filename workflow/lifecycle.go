package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/looplab/fsm"

	"ducha/notify"
)

// State is where a finding is in its lifecycle.
type State string

const (
	Discovered     State = "discovered"     // 发现
	Ordered        State = "ordered"        // 整改中
	Responded      State = "responded"      // 已反馈
	Verified       State = "verified"       // 已核实
	SignedOff      State = "signed_off"     // 已销号
	Overdue        State = "overdue"        // 逾期
	Appealed       State = "appealed"       // 申诉中
	Interview      State = "interview"      // 约谈
	Accountability State = "accountability" // 问责
	Dismissed      State = "dismissed"      // 已撤销
)

// States lists every state, in lifecycle order.
var States = []State{Discovered, Ordered, Responded, Verified, SignedOff,
	Overdue, Appealed, Interview, Accountability, Dismissed}

// Label is the state's Chinese name.
func (s State) Label() string {
	switch s {
	case Discovered:
		return "发现"
	case Ordered:
		return "整改中"
	case Responded:
		return "已反馈"
	case Verified:
		return "已核实"
	case SignedOff:
		return "已销号"
	case Overdue:
		return "逾期"
	case Appealed:
		return "申诉中"
	case Interview:
		return "约谈"
	case Accountability:
		return "问责"
	case Dismissed:
		return "已撤销"
	}
	return string(s)
}

// Open reports whether a finding in this state still needs action.
func (s State) Open() bool { return s != SignedOff && s != Dismissed && s != "" }

// ParseState accepts a state's code or Chinese name.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if s == string(st) || s == st.Label() {
			return st, nil
		}
	}
	names := make([]string, len(States))
	for i, st := range States {
		names[i] = string(st)
	}
	return "", fmt.Errorf("未知的状态 %q (应为 %s)", s, strings.Join(names, ", "))
}

// Event is something that happens to a finding.
type Event string

const (
	Discover        Event = "discover" // first history entry; not an fsm event
	Order           Event = "order"
	Respond         Event = "respond"
	Appeal          Event = "appeal"
	Uphold          Event = "uphold"
	Verify          Event = "verify"
	Reject          Event = "reject"
	Expire          Event = "expire"
	Summon          Event = "summon"
	RecordInterview Event = "record_interview" // stays in interview
	Reorder         Event = "reorder"
	Escalate        Event = "escalate"
	SignOff         Event = "sign_off"
	Dismiss         Event = "dismiss"
	Remind          Event = "remind" // 催办; stays in ordered
)

// Title names the event for messages: 「Chinese name」(code), or just the
// Chinese name when it has no code of its own.
func (e Event) Title() string {
	if l := e.Label(); l != string(e) {
		return fmt.Sprintf("「%s」(%s)", l, e)
	}
	return "「" + string(e) + "」"
}

// Label is the event's Chinese name.
func (e Event) Label() string {
	switch e {
	case Discover:
		return "发现问题"
	case Order:
		return "下达整改通知"
	case Respond:
		return "反馈整改情况"
	case Appeal:
		return "申诉"
	case Uphold:
		return "维持原结论"
	case Verify:
		return "核实整改"
	case Reject:
		return "退回整改"
	case Expire:
		return "逾期"
	case Summon:
		return "约谈通知"
	case RecordInterview:
		return "约谈记录"
	case Reorder:
		return "重新下达整改"
	case Escalate:
		return "问责"
	case SignOff:
		return "销号"
	case Dismiss:
		return "撤销"
	case Remind:
		return "催办"
	case Recur:
		return "再次发现"
	case OpenRound:
		return "开启督查"
	case CloseRound:
		return "结束督查"
	case PublishBulletin:
		return "发布督查通报"
	}
	return string(e)
}

// Measures are the accountability measures escalate may record.
var Measures = []string{"通报批评", "取消年度评优资格", "调整或解聘法律顾问", "其他"}

// EventSpec is one row of the lifecycle table.
type EventSpec struct {
	Event Event
	From  []State
	To    State
	Roles []Role // who may fire it; officers and advisers only on their own findings
}

// LifecycleTable is the lifecycle table of DESIGN.md, plus the two entries that
// stay in their state (record_interview, remind). It is the single source of
// the fsm's transitions, the guards' roles and the tests' expectations.
var LifecycleTable = []EventSpec{
	{Order, []State{Discovered}, Ordered, []Role{Supervisor, System}},
	{Respond, []State{Ordered, Overdue}, Responded, []Role{AdviserRole}},
	{Appeal, []State{Ordered}, Appealed, []Role{AdviserRole}},
	{Uphold, []State{Appealed}, Ordered, []Role{Supervisor}},
	{Verify, []State{Responded}, Verified, []Role{Officer, Supervisor}},
	{Reject, []State{Responded}, Ordered, []Role{Officer, Supervisor}},
	{Expire, []State{Ordered}, Overdue, []Role{System}},
	{Summon, []State{Ordered, Overdue, Responded}, Interview, []Role{Supervisor, System}},
	{RecordInterview, []State{Interview}, Interview, []Role{Officer, Supervisor}},
	{Reorder, []State{Interview, Accountability}, Ordered, []Role{Supervisor}},
	{Escalate, []State{Overdue, Interview}, Accountability, []Role{Supervisor, System}},
	{SignOff, []State{Verified, Accountability}, SignedOff, []Role{Supervisor}},
	{Dismiss, []State{Discovered, Ordered, Responded, Verified, Overdue, Appealed, Interview, Accountability}, Dismissed, []Role{Supervisor}},
	{Remind, []State{Ordered}, Ordered, []Role{Supervisor, System}},
}

// Spec returns the table row of an event.
func Spec(ev Event) (EventSpec, bool) {
	for _, s := range LifecycleTable {
		if s.Event == ev {
			return s, true
		}
	}
	return EventSpec{}, false
}

// Events lists the fsm's events in table order.
func Events() []Event {
	out := make([]Event, len(LifecycleTable))
	for i, s := range LifecycleTable {
		out[i] = s.Event
	}
	return out
}

// IllegalTransitionError is an event that cannot happen in the finding's
// current state. Allowed lists the events that can, sorted.
type IllegalTransitionError struct {
	State   State
	Event   Event
	Allowed []string
}

func (e *IllegalTransitionError) Error() string {
	allowed := "无 (已办结)"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	return fmt.Sprintf("问题当前状态为「%s」(%s), 不能执行「%s」(%s); 当前可执行的操作: %s",
		e.State.Label(), e.State, e.Event.Label(), e.Event, allowed)
}

// BadInput makes the command line exit with code 2.
func (e *IllegalTransitionError) BadInput() bool { return true }

// UnknownEventError is an event name the lifecycle does not know.
type UnknownEventError struct{ Event string }

func (e *UnknownEventError) Error() string {
	names := make([]string, 0, len(LifecycleTable))
	for _, s := range LifecycleTable {
		names = append(names, string(s.Event))
	}
	slices.Sort(names)
	return fmt.Sprintf("未知的操作 %q (应为 %s)", e.Event, strings.Join(names, ", "))
}
func (e *UnknownEventError) BadInput() bool { return true }

// ForbiddenError is an actor who may not fire an event on a finding.
type ForbiddenError struct {
	Actor string
	Event Event
	Why   string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("用户 %s 无权执行%s: %s", e.Actor, e.Event.Title(), e.Why)
}
func (e *ForbiddenError) BadInput() bool { return true }

// InputError is a missing or malformed field an event requires.
type InputError struct {
	Event Event
	Field string
	Msg   string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%s 的 %s: %s", e.Event.Title(), e.Field, e.Msg)
}
func (e *InputError) BadInput() bool { return true }

// Input is what an actor supplies with an event. Which fields are required
// depends on the event.
type Input struct {
	Comment     string
	Reason      string    // reject, appeal, dismiss, escalate (falls back to Comment)
	Evidence    string    // respond: where the evidence is (files, links)
	Measure     string    // escalate: one of Measures
	Decision    string    // escalate: the decision text (问责决定)
	Time        time.Time // summon: when the interview takes place
	Place       string    // summon
	Interviewer string    // summon
	Statement   string    // record_interview: the adviser's statement
	Outcome     string    // record_interview: the outcome
	Deadline    Within    // order, uphold, reject, reorder: overrides the rule's period when N > 0
}

func (in Input) reason() string {
	if strings.TrimSpace(in.Reason) != "" {
		return strings.TrimSpace(in.Reason)
	}
	return strings.TrimSpace(in.Comment)
}

// request is what a guard sees: the finding, the actor and the input.
type request struct {
	f     *Finding
	actor User
	in    Input
}

// newFSM builds the lifecycle fsm in state s with a before_<event> guard for
// every event of the table.
// fsmTable is the lifecycle table as looplab/fsm takes it, with a guard in
// before_<event> for every event; built once, shared by every machine.
var fsmTable = sync.OnceValues(func() ([]fsm.EventDesc, map[string]fsm.Callback) {
	descs := make([]fsm.EventDesc, 0, len(LifecycleTable))
	callbacks := map[string]fsm.Callback{}
	for _, spec := range LifecycleTable {
		src := make([]string, len(spec.From))
		for i, st := range spec.From {
			src[i] = string(st)
		}
		descs = append(descs, fsm.EventDesc{Name: string(spec.Event), Src: src, Dst: string(spec.To)})
		callbacks["before_"+string(spec.Event)] = func(_ context.Context, e *fsm.Event) {
			r := e.Args[0].(*request)
			if err := guard(spec, r); err != nil {
				e.Cancel(err)
			}
		}
	}
	return descs, callbacks
})

// newFSM is a machine in state s (the fsm keeps no state of ours: it is
// rebuilt from the stored state for every event).
func newFSM(s State) *fsm.FSM {
	descs, callbacks := fsmTable()
	return fsm.NewFSM(string(s), descs, callbacks)
}

// machines keeps built machines for reuse: fsm.NewFSM builds its tables
// (maps of transitions and callbacks) each time, more than half of Apply's
// CPU. A machine holds nothing of a finding between events: Apply sets it
// to the stored state (SetState runs no callbacks) and returns it after the
// event, which leaves no transition pending (guards cancel in before_
// callbacks, before the fsm starts one; there are no async transitions).
var machines = sync.Pool{New: func() any { return newFSM(Discovered) }}

// guard checks who fires the event and what they supply.
func guard(spec EventSpec, r *request) error {
	if err := authorize(spec, r.actor, r.f); err != nil {
		return err
	}
	return validate(spec.Event, r.actor, r.f, r.in)
}

func authorize(spec EventSpec, u User, f *Finding) error {
	if !slices.Contains(spec.Roles, u.Role) {
		names := make([]string, len(spec.Roles))
		for i, r := range spec.Roles {
			names[i] = r.Label()
		}
		return &ForbiddenError{u.Login, spec.Event, fmt.Sprintf("此操作仅限%s, 而其角色为%s", strings.Join(names, "或"), u.Role.Label())}
	}
	switch u.Role {
	case Officer:
		if u.Township == "" || u.Township != f.Township {
			return &ForbiddenError{u.Login, spec.Event, fmt.Sprintf("司法所工作人员只能处理本乡镇 (%s) 的问题, 该问题属于 %s", u.Township, f.Township)}
		}
	case AdviserRole:
		if u.Adviser == "" || u.Adviser != f.Adviser {
			return &ForbiddenError{u.Login, spec.Event, "法律顾问只能处理自己的问题"}
		}
	}
	if spec.Event == SignOff && f.VerifiedBy != "" && f.VerifiedBy == u.Login {
		return &ForbiddenError{u.Login, spec.Event, "销号须由核实人以外的人员办理 (双人复核)"}
	}
	return nil
}

func validate(ev Event, u User, f *Finding, in Input) error {
	need := func(field, v string) error {
		if strings.TrimSpace(v) == "" {
			return &InputError{ev, field, "必须填写"}
		}
		return nil
	}
	switch ev {
	case Respond:
		return need("整改报告 (--comment)", in.Comment)
	case Reject, Appeal, Dismiss:
		return need("理由 (--reason)", in.reason())
	case Escalate:
		if err := need("理由 (--reason)", in.reason()); err != nil {
			return err
		}
		if !slices.Contains(Measures, in.Measure) {
			return &InputError{ev, "问责措施 (--measure)", fmt.Sprintf("应为 %s 之一, 而不是 %q", strings.Join(Measures, "、"), in.Measure)}
		}
		return need("问责决定 (--decision)", in.Decision)
	case Summon:
		if in.Time.IsZero() {
			return &InputError{ev, "约谈时间 (--time)", "必须填写"}
		}
		if err := need("约谈地点 (--place)", in.Place); err != nil {
			return err
		}
		return need("约谈人 (--interviewer)", in.Interviewer)
	case RecordInterview:
		if err := need("顾问陈述 (--statement)", in.Statement); err != nil {
			return err
		}
		return need("约谈结果 (--outcome)", in.Outcome)
	case Remind:
		if f.Deadline == nil {
			return &InputError{ev, "整改期限", "该问题没有整改期限, 无从催办"}
		}
	}
	if in.Deadline.N < 0 {
		return &InputError{ev, "整改期限 (--deadline-days)", "不能为负数"}
	}
	return nil
}

// WorkCalendar is the part of the holiday calendar deadlines need;
// *Calendar implements it.
type WorkCalendar interface {
	IsWorkday(d time.Time) bool
	AddWorkdays(d time.Time, n int) time.Time
	WorkdaysBetween(a, b time.Time) int
}

// Lifecycle applies events to findings: it decides with the fsm and its guards,
// computes the new lifecycle fields and the sealed history entry, and has the
// store write both atomically. Every time comes from Now.
type Lifecycle struct {
	Store    FindingStore
	Calendar WorkCalendar
	Policy   Policy
	Now      func() time.Time
	// Notifier, when set, renders the messages a transition causes; they
	// are written with it. Directory finds their recipients.
	Notifier  Notifier
	Directory notify.Directory
}

// Fire reads finding id, applies ev by actor and writes the result. A stale
// read is ErrConflict; illegal events are *IllegalTransitionError.
func (g *Lifecycle) Fire(ctx context.Context, actor User, id int64, ev Event, in Input) (*Transition, error) {
	f, err := g.Store.Finding(ctx, id)
	if err != nil {
		return nil, err
	}
	return g.FireOn(ctx, actor, f, ev, in, g.Now())
}

// FireOn applies ev to an already read finding at instant now and writes it.
func (g *Lifecycle) FireOn(ctx context.Context, actor User, f *Finding, ev Event, in Input, now time.Time) (*Transition, error) {
	t, err := g.Apply(f, actor, ev, in, now)
	if err != nil {
		return nil, err
	}
	if g.Notifier != nil {
		if t.Messages, err = g.Notifier.Messages(ctx, g.Directory, []*Transition{t}); err != nil {
			return nil, err
		}
	}
	if err := g.Store.Transition(ctx, t); err != nil {
		return nil, err
	}
	t.Finding.Version++
	return t, nil
}

// Apply decides: it runs the fsm and its guards on f and returns the
// transition to write, without writing it. f is not modified.
func (g *Lifecycle) Apply(f *Finding, actor User, ev Event, in Input, now time.Time) (*Transition, error) {
	if _, ok := Spec(ev); !ok {
		return nil, &UnknownEventError{string(ev)}
	}
	machine := machines.Get().(*fsm.FSM)
	defer machines.Put(machine)
	machine.SetState(string(f.State))
	err := machine.Event(context.Background(), string(ev), &request{f: f, actor: actor, in: in})
	var (
		invalid  fsm.InvalidEventError
		canceled fsm.CanceledError
		noTrans  fsm.NoTransitionError
	)
	switch {
	case err == nil:
	case errors.As(err, &noTrans) && noTrans.Err == nil: // record_interview, remind
	case errors.As(err, &invalid):
		allowed := machine.AvailableTransitions()
		slices.Sort(allowed)
		return nil, &IllegalTransitionError{State: f.State, Event: ev, Allowed: allowed}
	case errors.As(err, &canceled) && canceled.Err != nil:
		return nil, canceled.Err
	default:
		return nil, fmt.Errorf("lifecycle %s on %s: %w", ev, f.State, err)
	}
	now = now.UTC().Truncate(time.Microsecond) // what PostgreSQL keeps
	nf := *f
	nf.State = State(machine.Current())
	nf.UpdatedAt = now
	today := CivilDate(now)
	payload := map[string]string{}
	comment := strings.TrimSpace(in.Comment)
	setDeadline := func() {
		d := g.deadline(f, today, in.Deadline)
		nf.Deadline = &d
		nf.RemindedFor = nil
		payload["deadline"] = d.Format(time.DateOnly)
	}
	switch ev {
	case Order, Uphold, Reorder:
		setDeadline()
	case Reject:
		nf.Rejections++
		payload["reason"] = in.reason()
		setDeadline()
	case Respond:
		if in.Evidence != "" {
			payload["evidence"] = in.Evidence
		}
	case Appeal, Dismiss:
		payload["reason"] = in.reason()
	case Verify:
		nf.VerifiedBy = actor.Login
	case Summon:
		nf.Summons++
		d := CivilDate(in.Time)
		nf.InterviewOn = &d
		payload["time"] = in.Time.In(Shanghai).Format("2006-01-02 15:04")
		payload["place"] = in.Place
		payload["interviewer"] = in.Interviewer
	case RecordInterview:
		payload["statement"] = in.Statement
		payload["outcome"] = in.Outcome
	case Escalate:
		nf.Escalations++
		payload["reason"] = in.reason()
		payload["measure"] = in.Measure
		payload["decision"] = in.Decision
	case Remind:
		d := *f.Deadline
		nf.RemindedFor = &d
		payload["deadline"] = d.Format(time.DateOnly)
	}
	if comment == "" && in.reason() != "" && payload["reason"] == "" {
		comment = in.reason()
	}
	e := Entry{
		FindingID: f.ID, Seq: f.LastSeq + 1, At: now, Actor: actor.Login, Role: actor.Role,
		Event: ev, From: f.State, To: nf.State, Comment: comment, Payload: payload, PrevHash: f.LastHash,
	}
	e.Seal()
	nf.LastSeq, nf.LastHash = e.Seq, e.Hash
	return &Transition{Finding: &nf, Entry: e}, nil
}

// deadline is the due date of a rectification ordered on civil date today:
// the override when given, else the rule's period, else the policy's default
// for the severity; in working days or calendar days.
func (g *Lifecycle) deadline(f *Finding, today time.Time, override Within) time.Time {
	w := override
	if w.N <= 0 {
		w = f.Rectify
	}
	if w.N <= 0 {
		w = g.Policy.DeadlineFor(f.Severity)
	}
	if w.Workdays {
		return g.addWorkdays(today, w.N)
	}
	return today.AddDate(0, 0, w.N)
}

// addWeekdays counts Monday to Friday only; used when no calendar is wired.
func addWeekdays(d time.Time, n int) time.Time {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d
}

// Graph draws the lifecycle as a Mermaid state diagram, from the fsm itself.
func Graph() (string, error) {
	return fsm.VisualizeWithType(newFSM(Discovered), fsm.MermaidStateDiagram)
}

// Allowed lists the events legal in state s, sorted (regardless of who asks).
func Allowed(s State) []string {
	a := newFSM(s).AvailableTransitions()
	slices.Sort(a)
	return a
}
