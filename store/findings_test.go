package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

// seedFindingCounty writes two townships, three villages and two advisers.
func seedFindingCounty(t testing.TB, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO townships (id, name) VALUES (1, '城关镇'), (2, '河口乡')`,
		`INSERT INTO villages (id, code, name, township_id) VALUES (1, 'V01', '东村', 1), (2, 'V02', '西村', 2), (3, 'V03', '南村', 1)`,
		`INSERT INTO advisers (id, code, name, kind) VALUES (1, 'A01', '李律师', 'lawyer'), (2, 'A02', '王工作者', 'worker')`,
	} {
		if _, err := db.X.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

type findingsClock struct{ t time.Time }

func (c *findingsClock) Now() time.Time { return c.t }
func (c *findingsClock) Set(y int, m time.Month, d, hour int) {
	c.t = time.Date(y, m, d, hour, 0, 0, 0, workflow.Shanghai)
}

type findingsBundle struct {
	db    *store.DB
	fs    *store.Findings
	l     *workflow.Lifecycle
	clock *findingsClock
	rules int // rule ids handed out, so each finding has its own
}

func setupFindings(t testing.TB, db *store.DB) *findingsBundle {
	seedFindingCounty(t, db)
	clock := &findingsClock{time.Date(2018, 2, 5, 10, 0, 0, 0, workflow.Shanghai)}
	fs := store.NewFindings(db)
	return &findingsBundle{db, fs, &workflow.Lifecycle{Store: fs, Calendar: workflow.DefaultCalendar(),
		Policy: workflow.DefaultPolicy(), Now: clock.Now}, clock, 0}
}

// discover inserts findings for (village, fAdviser) pairs and returns them.
func (b *findingsBundle) discover(t testing.TB, sev workflow.Severity, pairs ...[2]string) []*workflow.Finding {
	t.Helper()
	var fs []*workflow.Finding
	for _, p := range pairs {
		b.rules++
		fs = append(fs, &workflow.Finding{RuleID: fmt.Sprintf("rule%d", b.rules), RuleTitle: "每月到村服务",
			Severity: sev, Village: p[0], Adviser: p[1], Evidence: []byte(`{"visits": 0}`), Message: "本月未到村服务"})
	}
	if err := b.db.InTx(context.Background(), func(tx *store.Tx) error {
		return store.InsertFindings(context.Background(), tx, fs, b.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	return fs
}

func (b *findingsBundle) fire(t testing.TB, u workflow.User, id int64, ev workflow.Event, in workflow.Input) *workflow.Finding {
	t.Helper()
	tr, err := b.l.Fire(context.Background(), u, id, ev, in)
	if err != nil {
		t.Fatalf("%s %s on %d: %v", u.Login, ev, id, err)
	}
	return tr.Finding
}

func (b *findingsBundle) verify(t testing.TB) *workflow.AuditResult {
	t.Helper()
	res, err := workflow.VerifyChains(context.Background(), b.fs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var (
	fSup     = workflow.User{Login: "sup1", Role: workflow.Supervisor}
	fSup2    = workflow.User{Login: "fSup2", Role: workflow.Supervisor}
	fOfficer = workflow.User{Login: "off1", Role: workflow.Officer, Township: "城关镇"}
	fAdviser = workflow.User{Login: "adv1", Role: workflow.AdviserRole, Adviser: "A01"}
)

func TestFindingLifecycleRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setupFindings(t, db)
		fs := b.discover(t, workflow.General, [2]string{"V01", "A01"}, [2]string{"V02", ""})
		got, err := b.fs.Finding(ctx, fs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Village != "V01" || got.VillageName != "东村" || got.Township != "城关镇" || got.Adviser != "A01" ||
			got.AdviserName != "李律师" || got.State != workflow.Discovered || got.Version != 1 || got.LastSeq != 1 ||
			!got.CreatedAt.Equal(b.clock.Now()) || string(got.Evidence) == "" {
			t.Fatalf("read back %+v", got)
		}
		if f2, _ := b.fs.Finding(ctx, fs[1].ID); f2.Adviser != "" || f2.Township != "河口乡" {
			t.Fatalf("finding without fAdviser: %+v", f2)
		}

		id := fs[0].ID
		b.fire(t, fSup, id, workflow.Order, workflow.Input{})
		b.clock.Set(2018, 2, 7, 9)
		b.fire(t, fAdviser, id, workflow.Respond, workflow.Input{Comment: "已到村服务", Evidence: "签到表"})
		b.fire(t, fOfficer, id, workflow.Reject, workflow.Input{Reason: "签到表无村干部签字"})
		b.fire(t, fAdviser, id, workflow.Respond, workflow.Input{Comment: "补签"})
		b.fire(t, fOfficer, id, workflow.Verify, workflow.Input{})
		if _, err := b.l.Fire(ctx, workflow.User{Login: "off1", Role: workflow.Supervisor}, id, workflow.SignOff, workflow.Input{}); err == nil {
			t.Fatal("the verifier signed off")
		}
		f := b.fire(t, fSup2, id, workflow.SignOff, workflow.Input{Comment: "同意销号"})
		if f.State != workflow.SignedOff || f.Version != 7 || f.Rejections != 1 || f.VerifiedBy != "off1" {
			t.Fatalf("after sign-off: %+v", f)
		}
		h, err := b.fs.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		events := ""
		for i, e := range h {
			if e.Seq != i+1 {
				t.Fatalf("seq %d at %d", e.Seq, i)
			}
			events += string(e.Event) + " "
		}
		if events != "discover order respond reject respond verify sign_off " {
			t.Fatalf("history: %s", events)
		}
		if h[3].Payload["reason"] != "签到表无村干部签字" || h[2].Payload["evidence"] != "签到表" || h[1].Payload["deadline"] == "" {
			t.Fatalf("payloads: %+v", h)
		}
		if res := b.verify(t); res.Break != nil || res.Entries != 8 || res.Findings != 2 {
			t.Fatalf("verify: %+v %v", res, res.Break)
		}

		// A stale version is a conflict and writes nothing.
		stale := *f
		stale.State, stale.Version = workflow.Verified, 6
		stale.VerifiedBy = ""
		if _, err := b.l.FireOn(ctx, fSup, &stale, workflow.SignOff, workflow.Input{}, b.clock.Now()); !errors.Is(err, workflow.ErrConflict) {
			t.Fatalf("stale version: %v", err)
		}
		if h2, _ := b.fs.History(ctx, id); len(h2) != len(h) {
			t.Fatal("a conflict wrote history")
		}
		var nf *workflow.NotFoundError
		if _, err := b.fs.Finding(ctx, 999); !errors.As(err, &nf) || !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("missing finding: %v", err)
		}
		list, err := b.fs.List(ctx, store.FindingFilter{Township: "城关镇"})
		if err != nil || len(list) != 1 || list[0].ID != id {
			t.Fatalf("list by township: %v %v", list, err)
		}
		list, _ = b.fs.List(ctx, store.FindingFilter{State: workflow.Discovered})
		if len(list) != 1 || list[0].ID != fs[1].ID {
			t.Fatalf("list by state: %v", list)
		}
		// The one-finding read (its own query and scan) agrees with the list's.
		b.fire(t, fSup, fs[1].ID, workflow.Order, workflow.Input{})
		b.fire(t, fSup, fs[1].ID, workflow.Summon, workflow.Input{Time: b.clock.Now().AddDate(0, 0, 3), Place: "县司法局", Interviewer: "张三"})
		list, _ = b.fs.List(ctx, store.FindingFilter{})
		for _, want := range list {
			got, err := b.fs.Finding(ctx, want.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("finding %d read alone:\n%+v (%v)\nlisted:\n%+v", want.ID, got, err, want)
			}
		}
	})
}

func TestHistoryIsAppendOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		b := setupFindings(t, db)
		b.discover(t, workflow.General, [2]string{"V01", "A01"})
		for _, q := range []string{`UPDATE finding_history SET comment = 'x'`, `DELETE FROM finding_history`} {
			if _, err := db.X.Exec(q); err == nil {
				t.Errorf("%s: allowed", q)
			}
		}
		if db.Dialect == store.Postgres {
			if _, err := db.X.Exec(`TRUNCATE finding_history CASCADE`); err == nil {
				t.Error("TRUNCATE allowed")
			}
		}
	})
}

func TestAuditDetectsTampering(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		b := setupFindings(t, db)
		fs := b.discover(t, workflow.General, [2]string{"V01", "A01"}, [2]string{"V03", "A01"})
		for _, f := range fs {
			b.fire(t, fSup, f.ID, workflow.Order, workflow.Input{})
			b.fire(t, fAdviser, f.ID, workflow.Respond, workflow.Input{Comment: "已整改"})
		}
		if res := b.verify(t); res.Break != nil {
			t.Fatalf("intact chains broken: %v", res.Break)
		}
		disable := `DROP TRIGGER finding_history_no_update`
		if db.Dialect == store.Postgres {
			disable = `ALTER TABLE finding_history DISABLE TRIGGER finding_history_no_update`
		}
		if _, err := db.X.Exec(disable); err != nil {
			t.Fatal(err)
		}
		// Edit the fAdviser's report on the second finding.
		if _, err := db.X.Exec(db.Rebind(`UPDATE finding_history SET comment = '按时整改' WHERE finding_id = ? AND seq = 3`), fs[1].ID); err != nil {
			t.Fatal(err)
		}
		res := b.verify(t)
		if res.Break == nil || res.Break.FindingID != fs[1].ID || res.Break.Seq != 3 {
			t.Fatalf("edited row not named: %+v", res.Break)
		}
		// Restoring the text restores the chain.
		if _, err := db.X.Exec(db.Rebind(`UPDATE finding_history SET comment = '已整改' WHERE finding_id = ? AND seq = 3`), fs[1].ID); err != nil {
			t.Fatal(err)
		}
		if res := b.verify(t); res.Break != nil {
			t.Fatalf("restored: %v", res.Break)
		}
		// A deleted tail is caught by the finding's chain head.
		if db.Dialect == store.Postgres {
			if _, err := db.X.Exec(`ALTER TABLE finding_history DISABLE TRIGGER finding_history_no_update`); err != nil {
				t.Fatal(err)
			}
		} else if _, err := db.X.Exec(`DROP TRIGGER finding_history_no_delete`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.X.Exec(db.Rebind(`DELETE FROM finding_history WHERE finding_id = ? AND seq = 3`), fs[0].ID); err != nil {
			t.Fatal(err)
		}
		res = b.verify(t)
		if res.Break == nil || res.Break.FindingID != fs[0].ID || res.Break.Seq != 2 {
			t.Fatalf("deleted tail not named: %+v", res.Break)
		}
	})
}

// TestRacingTransitions: 50 goroutines fire events on one finding at once.
// Exactly one wins per version, and the history has no gap.
func TestRacingTransitions(t *testing.T) {
	db := testdb.Open(t, store.Postgres)
	ctx := context.Background()
	b := setupFindings(t, db)
	id := b.discover(t, workflow.General, [2]string{"V01", "A01"})[0].ID
	b.fire(t, fSup, id, workflow.Order, workflow.Input{})

	const workers, rounds = 50, 6
	var (
		mu       sync.Mutex
		winners  = map[int][]int{} // version read → workers that won with it
		start    = make(chan struct{})
		wg       sync.WaitGroup
		failures atomic.Int32
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range rounds {
				f, err := b.fs.Finding(ctx, id)
				if err != nil {
					failures.Add(1)
					return
				}
				actor, ev, in := fAdviser, workflow.Respond, workflow.Input{Comment: fmt.Sprintf("报告 %d", w)}
				if f.State == workflow.Responded {
					actor, ev, in = fOfficer, workflow.Reject, workflow.Input{Reason: fmt.Sprintf("退回 %d", w)}
				}
				_, err = b.l.FireOn(ctx, actor, f, ev, in, b.clock.Now())
				switch {
				case err == nil:
					mu.Lock()
					winners[f.Version] = append(winners[f.Version], w)
					mu.Unlock()
				case errors.Is(err, workflow.ErrConflict):
				default:
					t.Errorf("worker %d: %v", w, err)
					failures.Add(1)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if failures.Load() > 0 {
		t.FailNow()
	}
	f, err := b.fs.Finding(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for v := 2; v < f.Version; v++ {
		if len(winners[v]) != 1 {
			t.Errorf("version %d: %d winners", v, len(winners[v]))
		}
	}
	if len(winners) != f.Version-2 || f.Version < 4 {
		t.Errorf("final version %d, %d winning versions", f.Version, len(winners))
	}
	h, err := b.fs.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range h {
		if e.Seq != i+1 {
			t.Fatalf("gap in history at %d: seq %d", i+1, e.Seq)
		}
	}
	if len(h) != f.LastSeq || len(h) != f.Version {
		t.Fatalf("history %d rows, last_seq %d, version %d", len(h), f.LastSeq, f.Version)
	}
	if res := b.verify(t); res.Break != nil {
		t.Fatalf("chain: %v", res.Break)
	}
	t.Logf("%d transitions won by 50 racing workers", len(winners))
}

// BenchmarkTransitions measures transitions (read the finding, guarded
// update and history row) on PostgreSQL, each worker cycling respond/reject
// on findings of its own.
func BenchmarkTransitions(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			db := testdb.Open(b, store.Postgres)
			bb := setupFindings(b, db)
			ctx := context.Background()
			pairs := make([][2]string, conc)
			for i := range pairs {
				pairs[i] = [2]string{"V01", "A01"}
			}
			fs := bb.discover(b, workflow.General, pairs...)
			for _, f := range fs {
				bb.fire(b, fSup, f.ID, workflow.Order, workflow.Input{})
			}
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fs[w].ID
					for next.Add(1) <= int64(b.N) {
						f, err := bb.fs.Finding(ctx, id)
						if err != nil {
							b.Error(err)
							return
						}
						actor, ev, in := fAdviser, workflow.Respond, workflow.Input{Comment: "已整改"}
						if f.State == workflow.Responded {
							actor, ev, in = fOfficer, workflow.Reject, workflow.Input{Reason: "不合格"}
						}
						if _, err := bb.l.FireOn(ctx, actor, f, ev, in, bb.clock.Now()); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
	}
}

// TestSweepAcrossSpringFestival runs the escalation sweep with a fake clock
// over the 2018 Spring Festival (2/15–2/21 off, 2/11 and 2/24 worked).
func TestSweepAcrossSpringFestival(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setupFindings(t, db)
		b.clock.Set(2018, 2, 12, 10) // Monday
		fs := b.discover(t, workflow.General, [2]string{"V01", "A01"}, [2]string{"V02", "A02"})
		severe := b.discover(t, workflow.Severe, [2]string{"V03", "A02"})[0]
		f1, f2 := fs[0].ID, fs[1].ID
		b.fire(t, fSup, f1, workflow.Order, workflow.Input{Deadline: workflow.Within{N: 4, Workdays: true}})
		if f, _ := b.fs.Finding(ctx, f1); !f.Deadline.Equal(workflow.Date(2018, 2, 23)) {
			t.Fatalf("deadline %v, want 2018-02-23", f.Deadline)
		}
		// f2: two rejected reports.
		adv2 := workflow.User{Login: "adv2", Role: workflow.AdviserRole, Adviser: "A02"}
		b.fire(t, fSup, f2, workflow.Order, workflow.Input{})
		for range 2 {
			b.fire(t, adv2, f2, workflow.Respond, workflow.Input{Comment: "已整改"})
			b.fire(t, fSup, f2, workflow.Reject, workflow.Input{Reason: "未见实效"})
		}
		b.fire(t, fSup, severe.ID, workflow.Order, workflow.Input{})

		type step struct {
			day    [3]int
			want   []string // "finding:event" in order
			colour workflow.Colour
		}
		name := map[int64]string{f1: "f1", f2: "f2", severe.ID: "severe"}
		steps := []step{
			{[3]int{2018, 2, 12}, []string{"f2:summon", "severe:summon"}, workflow.Blue},
			{[3]int{2018, 2, 13}, nil, workflow.Yellow},                             // 3 working days left: 2/14, 2/22, 2/23
			{[3]int{2018, 2, 14}, []string{"f1:remind"}, workflow.Yellow},           // 2 left, across the holiday
			{[3]int{2018, 2, 14}, nil, workflow.Yellow},                             // one reminder per deadline
			{[3]int{2018, 2, 20}, nil, workflow.Yellow},                             // holiday
			{[3]int{2018, 2, 23}, nil, workflow.Yellow},                             // due today, not overdue
			{[3]int{2018, 2, 24}, []string{"f1:expire", "f1:summon"}, workflow.Red}, // make-up Saturday
			// f1: 4 working days after its 2/27 interview. f2 and the severe one,
			// interviewed 2/14 and overdue, are escalated.
			{[3]int{2018, 3, 5}, []string{"f2:escalate", "severe:escalate"}, workflow.Red},
			{[3]int{2018, 3, 6}, []string{"f1:escalate"}, workflow.Red}, // 5
			{[3]int{2018, 3, 7}, nil, workflow.Red},
		}
		for _, s := range steps {
			now := time.Date(s.day[0], time.Month(s.day[1]), s.day[2], 8, 0, 0, 0, workflow.Shanghai)
			b.clock.t = now
			rep, err := b.l.Sweep(ctx, b.fs, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range rep.Actions {
				got = append(got, name[a.FindingID]+":"+string(a.Event))
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Errorf("%v: actions %v, want %v", s.day, got, s.want)
			}
			f, _ := b.fs.Finding(ctx, f1)
			if c := b.l.Colour(f, workflow.CivilDate(now)); c != s.colour {
				t.Errorf("%v: f1 is %s, want %s", s.day, c, s.colour)
			}
		}
		h, _ := b.fs.History(ctx, f1)
		var summon, escalate workflow.Entry
		for _, e := range h {
			switch e.Event {
			case workflow.Summon:
				summon = e
			case workflow.Escalate:
				escalate = e
			}
			if e.Actor == "system" && (e.Role != workflow.System || e.Comment == "") {
				t.Errorf("automatic %s without the system role or a reason: %+v", e.Event, e)
			}
		}
		if summon.Payload["time"] != "2018-02-27 09:00" || summon.Payload["place"] == "" {
			t.Errorf("summon payload %v", summon.Payload)
		}
		if escalate.Payload["measure"] != "通报批评" || escalate.Comment == "" {
			t.Errorf("escalate %+v", escalate)
		}

		// Repeat offender: two more findings of A01 make three within 90
		// days; once overdue they are escalated at once, not summoned.
		more := b.discover(t, workflow.General, [2]string{"V01", "A01"}, [2]string{"V03", "A01"})
		for _, f := range more {
			name[f.ID] = "more"
			b.fire(t, fSup, f.ID, workflow.Order, workflow.Input{Deadline: workflow.Within{N: 1}})
		}
		now := time.Date(2018, 3, 9, 8, 0, 0, 0, workflow.Shanghai)
		rep, err := b.l.Sweep(ctx, b.fs, now)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range rep.Actions {
			got = append(got, name[a.FindingID]+":"+string(a.Event))
		}
		if want := "[more:expire more:escalate more:expire more:escalate]"; fmt.Sprint(got) != want {
			t.Fatalf("repeat offender: %v, want %s", got, want)
		}
		if !strings.Contains(rep.Actions[1].Reason, "屡查屡犯") {
			t.Errorf("reason %q", rep.Actions[1].Reason)
		}
		if res := b.verify(t); res.Break != nil {
			t.Fatal(res.Break)
		}
	})
}

// TestTransitionsTxBulk orders many findings in one transaction, and refuses
// the whole batch when one version is stale.
func TestTransitionsTxBulk(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := setupFindings(t, db)
		var pairs [][2]string
		for range 40 {
			pairs = append(pairs, [2]string{"V01", "A01"})
		}
		fs := b.discover(t, workflow.Serious, pairs...)
		apply := func(stale bool) error {
			return db.InTx(ctx, func(tx *store.Tx) error {
				var ts []*workflow.Transition
				for i, f := range fs {
					g := *f
					if stale && i == 17 {
						g.Version = 9
					}
					tr, err := b.l.Apply(&g, workflow.SystemUser, workflow.Order, workflow.Input{}, b.clock.Now())
					if err != nil {
						return err
					}
					ts = append(ts, tr)
				}
				return store.TransitionsTx(ctx, tx, ts)
			})
		}
		if err := apply(true); !errors.Is(err, workflow.ErrConflict) {
			t.Fatalf("stale batch: %v", err)
		}
		if list, _ := b.fs.List(ctx, store.FindingFilter{State: workflow.Ordered}); len(list) != 0 {
			t.Fatalf("a refused batch wrote %d findings", len(list))
		}
		if err := apply(false); err != nil {
			t.Fatal(err)
		}
		list, _ := b.fs.List(ctx, store.FindingFilter{State: workflow.Ordered})
		if len(list) != 40 || list[0].Version != 2 || list[0].Deadline == nil || list[0].LastSeq != 2 {
			t.Fatalf("ordered: %d %+v", len(list), list[0])
		}
		if res := b.verify(t); res.Break != nil || res.Entries != 80 {
			t.Fatalf("verify: %+v %v", res, res.Break)
		}
	})
}
