package workflow

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	sup1      = User{Login: "sup1", Role: Supervisor}
	sup2      = User{Login: "sup2", Role: Supervisor}
	officerA  = User{Login: "offA", Role: Officer, Township: "城关镇"}
	officerB  = User{Login: "offB", Role: Officer, Township: "河口乡"}
	adviserA  = User{Login: "advA", Role: AdviserRole, Adviser: "A01"}
	adviserB  = User{Login: "advB", Role: AdviserRole, Adviser: "A02"}
	testNow   = time.Date(2018, 3, 5, 2, 0, 0, 0, time.UTC) // Monday 10:00 in Shanghai
	fullInput = Input{
		Comment: "已整改", Reason: "理由", Evidence: "照片", Measure: "通报批评", Decision: "决定",
		Time: time.Date(2018, 3, 8, 9, 0, 0, 0, Shanghai), Place: "县司法局", Interviewer: "张三",
		Statement: "陈述", Outcome: "结果",
	}
)

func testFinding(s State) *Finding {
	d := Date(2018, 3, 9)
	return &Finding{ID: 7, RuleID: "visit", Severity: General, Village: "V01", Township: "城关镇",
		Adviser: "A01", State: s, Version: 3, Deadline: &d, LastSeq: 2, LastHash: "abc"}
}

func testLifecycle() *Lifecycle {
	return &Lifecycle{Calendar: DefaultCalendar(), Policy: DefaultPolicy(), Now: func() time.Time { return testNow }}
}

// expectLegal derives from the lifecycle table (not from the fsm) whether
// actor may fire ev in state s.
func expectLegal(s State, ev Event, u User, f *Finding) (legal bool, stateOK bool) {
	spec, _ := Spec(ev)
	if !slices.Contains(spec.From, s) {
		return false, false
	}
	if !slices.Contains(spec.Roles, u.Role) {
		return false, true
	}
	switch u.Role {
	case Officer:
		return u.Township == f.Township, true
	case AdviserRole:
		return u.Adviser == f.Adviser, true
	}
	return true, true
}

// TestEveryTriple fires every event in every state by every kind of actor
// and checks the outcome against the lifecycle table.
func TestEveryTriple(t *testing.T) {
	l := testLifecycle()
	actors := []User{sup1, officerA, officerB, adviserA, adviserB, SystemUser}
	n := 0
	for _, s := range States {
		for _, ev := range Events() {
			for _, u := range actors {
				f := testFinding(s)
				name := fmt.Sprintf("%s/%s/%s", s, ev, u.Login)
				legal, stateOK := expectLegal(s, ev, u, f)
				tr, err := l.Apply(f, u, ev, fullInput, testNow)
				n++
				var illegal *IllegalTransitionError
				var forbidden *ForbiddenError
				switch {
				case legal:
					if err != nil {
						t.Errorf("%s: want legal, got %v", name, err)
						continue
					}
					spec, _ := Spec(ev)
					e := tr.Entry
					if tr.Finding.State != spec.To || e.From != s || e.To != spec.To || e.Event != ev ||
						e.Actor != u.Login || e.Role != u.Role || e.Seq != 3 || e.PrevHash != "abc" ||
						e.Hash != e.ComputeHash() || tr.Finding.LastHash != e.Hash || tr.Finding.LastSeq != 3 {
						t.Errorf("%s: bad transition %+v", name, tr)
					}
					if f.State != s || f.LastSeq != 2 {
						t.Errorf("%s: Apply modified its input", name)
					}
				case !stateOK:
					if !errors.As(err, &illegal) {
						t.Errorf("%s: want IllegalTransitionError, got %v", name, err)
						continue
					}
					if illegal.State != s || illegal.Event != ev || !slices.IsSorted(illegal.Allowed) ||
						!slices.Equal(illegal.Allowed, allowedFromTable(s)) {
						t.Errorf("%s: bad error %+v", name, illegal)
					}
				default:
					if !errors.As(err, &forbidden) {
						t.Errorf("%s: want ForbiddenError, got %v", name, err)
					}
				}
			}
		}
	}
	if want := len(States) * len(LifecycleTable) * len(actors); n != want {
		t.Fatalf("checked %d triples, want %d", n, want)
	}
}

func allowedFromTable(s State) []string {
	var out []string
	for _, spec := range LifecycleTable {
		if slices.Contains(spec.From, s) {
			out = append(out, string(spec.Event))
		}
	}
	slices.Sort(out)
	return out
}

// TestEveryGuardFires proves each event's before_<event> callback is wired:
// an actor whose role the table does not list is refused by the guard.
func TestEveryGuardFires(t *testing.T) {
	l := testLifecycle()
	all := []User{sup1, officerA, adviserA, SystemUser}
	for _, spec := range LifecycleTable {
		var outsider *User
		for _, u := range all {
			if !slices.Contains(spec.Roles, u.Role) {
				outsider = &u
				break
			}
		}
		if outsider == nil {
			t.Fatalf("%s: every role may fire it; the guard cannot be observed", spec.Event)
		}
		_, err := l.Apply(testFinding(spec.From[0]), *outsider, spec.Event, fullInput, testNow)
		var forbidden *ForbiddenError
		if !errors.As(err, &forbidden) || forbidden.Event != spec.Event {
			t.Errorf("%s by %s: guard did not fire: %v", spec.Event, outsider.Role, err)
		}
	}
}

func TestFourEyes(t *testing.T) {
	l := testLifecycle()
	f := testFinding(Responded)
	tr, err := l.Apply(f, sup1, Verify, Input{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Finding.VerifiedBy != "sup1" {
		t.Fatalf("verified by %q", tr.Finding.VerifiedBy)
	}
	var forbidden *ForbiddenError
	if _, err := l.Apply(tr.Finding, sup1, SignOff, Input{}, testNow); !errors.As(err, &forbidden) {
		t.Fatalf("sign-off by the verifier: want ForbiddenError, got %v", err)
	}
	if _, err := l.Apply(tr.Finding, sup2, SignOff, Input{}, testNow); err != nil {
		t.Fatalf("sign-off by another supervisor: %v", err)
	}
}

func TestRequiredInput(t *testing.T) {
	l := testLifecycle()
	without := func(mod func(*Input)) Input { in := fullInput; mod(&in); return in }
	noReason := without(func(in *Input) { in.Reason, in.Comment = "", "" })
	cases := []struct {
		state State
		actor User
		event Event
		in    Input
		field string
	}{
		{Responded, sup1, Reject, noReason, "理由"},
		{Ordered, adviserA, Appeal, noReason, "理由"},
		{Ordered, sup1, Dismiss, noReason, "理由"},
		{Overdue, sup1, Escalate, noReason, "理由"},
		{Overdue, sup1, Escalate, without(func(in *Input) { in.Measure = "罚款" }), "问责措施"},
		{Overdue, sup1, Escalate, without(func(in *Input) { in.Decision = "" }), "问责决定"},
		{Ordered, sup1, Summon, without(func(in *Input) { in.Time = time.Time{} }), "约谈时间"},
		{Ordered, sup1, Summon, without(func(in *Input) { in.Place = "" }), "约谈地点"},
		{Ordered, sup1, Summon, without(func(in *Input) { in.Interviewer = " " }), "约谈人"},
		{Interview, officerA, RecordInterview, without(func(in *Input) { in.Statement = "" }), "顾问陈述"},
		{Interview, officerA, RecordInterview, without(func(in *Input) { in.Outcome = "" }), "约谈结果"},
		{Ordered, adviserA, Respond, without(func(in *Input) { in.Comment = "" }), "整改报告"},
	}
	for _, c := range cases {
		_, err := l.Apply(testFinding(c.state), c.actor, c.event, c.in, testNow)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Field, c.field) {
			t.Errorf("%s without %s: got %v", c.event, c.field, err)
		}
	}
	// The reason may come as the comment.
	in := noReason
	in.Comment = "数据有误"
	tr, err := l.Apply(testFinding(Ordered), adviserA, Appeal, in, testNow)
	if err != nil || tr.Entry.Payload["reason"] != "数据有误" {
		t.Fatalf("appeal with a comment: %v %+v", err, tr)
	}
}

func TestPayloads(t *testing.T) {
	l := testLifecycle()
	tr, err := l.Apply(testFinding(Overdue), sup1, Escalate, fullInput, testNow)
	if err != nil {
		t.Fatal(err)
	}
	p := tr.Entry.Payload
	if p["measure"] != "通报批评" || p["decision"] != "决定" || p["reason"] != "理由" || tr.Finding.Escalations != 1 {
		t.Errorf("escalate payload %v", p)
	}
	tr, err = l.Apply(testFinding(Ordered), sup1, Summon, fullInput, testNow)
	if err != nil {
		t.Fatal(err)
	}
	p = tr.Entry.Payload
	if p["time"] != "2018-03-08 09:00" || p["place"] != "县司法局" || p["interviewer"] != "张三" ||
		tr.Finding.Summons != 1 || !tr.Finding.InterviewOn.Equal(Date(2018, 3, 8)) {
		t.Errorf("summon payload %v", p)
	}
	tr, err = l.Apply(testFinding(Interview), officerA, RecordInterview, fullInput, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Finding.State != Interview || tr.Entry.Payload["statement"] != "陈述" || tr.Entry.Payload["outcome"] != "结果" {
		t.Errorf("record_interview: %+v", tr.Entry)
	}
	tr, err = l.Apply(testFinding(Responded), officerA, Reject, fullInput, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Finding.Rejections != 1 || tr.Finding.State != Ordered {
		t.Errorf("reject: %+v", tr.Finding)
	}
}

// Deadlines count working days in Asia/Shanghai over the 2018 Spring
// Festival: 2/15–2/21 off, 2/11 (Sunday) and 2/24 (Saturday) worked.
func TestDeadlinesAcrossSpringFestival(t *testing.T) {
	l := testLifecycle()
	// 2018-02-13 20:00 UTC is 2018-02-14 04:00 in Shanghai.
	now := time.Date(2018, 2, 13, 20, 0, 0, 0, time.UTC)
	cases := []struct {
		within Within
		want   time.Time
	}{
		{Within{N: 1, Workdays: true}, Date(2018, 2, 22)},
		{Within{N: 3, Workdays: true}, Date(2018, 2, 24)},
		{Within{N: 4, Workdays: true}, Date(2018, 2, 26)},
		{Within{N: 7}, Date(2018, 2, 21)},
	}
	for _, c := range cases {
		f := testFinding(Discovered)
		f.Rectify = c.within
		tr, err := l.Apply(f, sup1, Order, Input{}, now)
		if err != nil {
			t.Fatal(err)
		}
		if !tr.Finding.Deadline.Equal(c.want) || tr.Entry.Payload["deadline"] != c.want.Format(time.DateOnly) {
			t.Errorf("%v from 2018-02-14: deadline %v, want %v", c.within, tr.Finding.Deadline, c.want)
		}
	}
	// An override beats the rule; the policy default applies without either.
	f := testFinding(Discovered)
	tr, _ := l.Apply(f, sup1, Order, Input{Deadline: Within{N: 2, Workdays: true}}, now)
	if !tr.Finding.Deadline.Equal(Date(2018, 2, 23)) {
		t.Errorf("override: %v", tr.Finding.Deadline)
	}
	f.Severity = Severe
	tr, _ = l.Apply(f, sup1, Order, Input{}, now)
	if !tr.Finding.Deadline.Equal(l.Calendar.AddWorkdays(Date(2018, 2, 14), 5)) {
		t.Errorf("policy default: %v", tr.Finding.Deadline)
	}
}

func TestIllegalTransitionMessage(t *testing.T) {
	_, err := testLifecycle().Apply(testFinding(Ordered), sup1, SignOff, Input{}, testNow)
	var illegal *IllegalTransitionError
	if !errors.As(err, &illegal) {
		t.Fatalf("got %v", err)
	}
	want := "问题当前状态为「整改中」(ordered), 不能执行「销号」(sign_off); 当前可执行的操作: appeal, dismiss, expire, remind, respond, summon"
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if !illegal.BadInput() {
		t.Error("not bad input")
	}
	var unknown *UnknownEventError
	if _, err := testLifecycle().Apply(testFinding(Ordered), sup1, "approve", Input{}, testNow); !errors.As(err, &unknown) {
		t.Errorf("unknown event: %v", err)
	}
	if _, err := testLifecycle().Apply(testFinding(SignedOff), sup1, Dismiss, Input{Reason: "x"}, testNow); !errors.As(err, &illegal) ||
		!strings.Contains(err.Error(), "无 (已办结)") {
		t.Errorf("closed finding: %v", err)
	}
}

func TestGraph(t *testing.T) {
	g, err := Graph()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g, "stateDiagram-v2\n") {
		t.Errorf("not a Mermaid state diagram:\n%s", g)
	}
	for _, spec := range LifecycleTable {
		for _, s := range spec.From {
			line := fmt.Sprintf("%s --> %s: %s", s, spec.To, spec.Event)
			if !strings.Contains(g, line) {
				t.Errorf("graph lacks %q", line)
			}
		}
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := Entry{FindingID: 1, Seq: 2, At: testNow, Actor: "a", Role: Supervisor, Event: Verify,
		From: Responded, To: Verified, Comment: "c", Payload: map[string]string{"k": "v"}, PrevHash: "p"}
	h := base.ComputeHash()
	mods := []func(*Entry){
		func(e *Entry) { e.FindingID = 9 }, func(e *Entry) { e.Seq = 9 },
		func(e *Entry) { e.At = e.At.Add(time.Microsecond) }, func(e *Entry) { e.Actor = "b" },
		func(e *Entry) { e.Role = Officer }, func(e *Entry) { e.Event = Reject },
		func(e *Entry) { e.From = Ordered }, func(e *Entry) { e.To = Ordered },
		func(e *Entry) { e.Comment = "d" }, func(e *Entry) { e.Payload = map[string]string{"k": "w"} },
		func(e *Entry) { e.PrevHash = "q" },
	}
	for i, mod := range mods {
		e := base
		mod(&e)
		if e.ComputeHash() == h {
			t.Errorf("modification %d leaves the hash unchanged", i)
		}
	}
	e := base
	e.At = testNow.In(Shanghai)
	if e.ComputeHash() != h {
		t.Error("the hash depends on the time zone of At")
	}
}
