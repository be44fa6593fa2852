package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
	"ducha/workflow"
)

// smallCounty writes two townships, six villages, three advisers and a few
// activity records with plain SQL. V6 has no adviser.
func smallCounty(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.X.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO townships (id, name) VALUES (1, '青山镇'), (2, '石门乡')`)
	for i, tw := range []int{1, 1, 1, 2, 2, 2} {
		code := "V" + string(rune('1'+i))
		exec(`INSERT INTO villages (id, code, name, township_id, poverty) VALUES (?, ?, ?, ?, ?)`, i+1, code, code+"村", tw, true)
	}
	exec(`INSERT INTO advisers (id, code, name, kind, phone, wechat) VALUES
		(1, 'A1', '张律师', 'lawyer', '13800000001', 'zhang'), (2, 'A2', '李工作者', 'worker', '13800000002', 'li'),
		(3, 'A3', '王律师', 'lawyer', '13800000003', '')`)
	exec(`INSERT INTO assignments (adviser_id, village_id, from_date) VALUES (1, 1, '2018-01-01'), (1, 2, '2018-01-01'),
		(2, 3, '2018-01-01'), (2, 4, '2018-01-01'), (3, 5, '2018-01-01')`)
	// V1 and V3 were visited in March; the others were not.
	exec(`INSERT INTO activities (adviser_id, village_id, kind, day, count) VALUES
		(1, 1, 'visit', '2018-03-05', 1), (2, 3, 'visit', '2018-03-20', 1), (1, 2, 'lecture', '2018-03-06', 1)`)
}

const visitChecklist = `rules:
  - id: visit_monthly
    title: 每月至少到村服务一次
    window: month
    condition: events("visit") >= 1
    severity: 一般
    rectify_within: 10 workdays
    message: "{{.village.name}}本月到村服务{{events \"visit\"}}次"
`

func newRounds(t *testing.T, db *store.DB) *workflow.Rounds {
	return &workflow.Rounds{
		Store: db.Rounds(),
		Lifecycle: &workflow.Lifecycle{Store: store.NewFindings(db), Calendar: workflow.DefaultCalendar(),
			Policy: workflow.DefaultPolicy(), Now: time.Now},
		OrderOnOpen: true,
	}
}

func openReq(t *testing.T, scope string, now time.Time) workflow.OpenRequest {
	t.Helper()
	c, err := rules.Parse("visit.yaml", []byte(visitChecklist))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := workflow.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	return workflow.OpenRequest{Checklist: c, ChecklistName: "visit.yaml", ChecklistSum: workflow.ChecklistSum([]byte(visitChecklist)),
		From: workflow.Date(2018, 3, 1), To: workflow.Date(2018, 3, 31), Scope: sc,
		Actor: workflow.User{Login: "boss", Role: workflow.Supervisor}, Now: now}
}

func TestOpenRoundWritesFindingsOrdersAndRepeats(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		r, err := rs.Open(ctx, openReq(t, "all", now))
		if err != nil {
			t.Fatal(err)
		}
		// V2, V4, V5 not visited; V6 has no adviser (its own violation).
		if r.Villages != 6 || r.NewFindings != 4 || r.RepeatFindings != 0 {
			t.Fatalf("round = %+v", r)
		}
		fs, err := store.NewFindings(db).List(ctx, store.FindingFilter{Round: r.ID})
		if err != nil || len(fs) != 4 {
			t.Fatalf("findings = %d, %v", len(fs), err)
		}
		for _, f := range fs {
			if f.State != workflow.Ordered || f.Deadline == nil || f.LastSeq != 2 {
				t.Fatalf("finding %+v not ordered with a deadline and two history rows", f)
			}
		}
		// Ordered on Monday 2 April 2018: 10 working days skip the Qingming holiday (5–7 April)
		// and count Sunday 8 April, a make-up working day: 3, 4, 8, 9, 10, 11, 12, 13, 16, 17 — due 17 April.
		for _, f := range fs {
			if f.RuleID == "visit_monthly" && f.Deadline.Format(time.DateOnly) != "2018-04-17" {
				t.Fatalf("deadline %s, want 2018-04-17", f.Deadline.Format(time.DateOnly))
			}
		}
		// A second round over the same month records repeats, not new findings.
		r2, err := rs.Open(ctx, openReq(t, "township=青山镇", now.Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if r2.Villages != 3 || r2.NewFindings != 0 || r2.RepeatFindings != 1 {
			t.Fatalf("second round = %+v", r2)
		}
		fs, _ = store.NewFindings(db).List(ctx, store.FindingFilter{})
		repeats := 0
		for _, f := range fs {
			repeats += f.RepeatCount
		}
		if len(fs) != 4 || repeats != 1 {
			t.Fatalf("after the second round: %d findings, %d repeats", len(fs), repeats)
		}
		res, err := workflow.VerifyChains(ctx, store.NewFindings(db))
		if err != nil || res.Break != nil {
			t.Fatalf("audit: %+v, %v", res, err)
		}
		got, err := db.Rounds().Round(ctx, r2.ID)
		if err != nil || got.Scope != "township=青山镇" || got.RepeatFindings != 1 || len(got.Rules) != 1 {
			t.Fatalf("stored round = %+v, %v", got, err)
		}
		if _, err := db.Rounds().Roster(ctx, []string{"无此镇"}); err == nil || !strings.Contains(err.Error(), "无此镇") {
			t.Fatalf("unknown township: %v", err)
		}
	})
}

func TestOpenRandomRoundIsVerifiable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		req := openReq(t, "sample=50%", time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai))
		req.Kind = workflow.RoundRandom
		req.Seed, _ = workflow.ParseSeed("00112233445566778899aabbccddeeff")
		r, err := rs.Open(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if r.Villages != 3 || r.Draw == nil || len(r.Draw.Sample) != 3 {
			t.Fatalf("round = %+v", r)
		}
		stored, err := db.Rounds().Round(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := stored.Draw.Verify(); err != nil {
			t.Fatalf("stored draw does not verify: %v", err)
		}
		vs, _ := db.Rounds().RoundVillages(ctx, r.ID)
		if strings.Join(vs, ",") != strings.Join(stored.Draw.Sample, ",") {
			t.Fatalf("round villages %v, sample %v", vs, stored.Draw.Sample)
		}
		// Stratified: one or two of each township's three villages.
		// Leaving out villages inspected in the last 30 days leaves the other three.
		req.ExcludeDays = 30
		req.Now = req.Now.Add(time.Hour)
		r2, err := rs.Open(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range r2.Draw.Sample {
			for _, w := range r.Draw.Sample {
				if v == w {
					t.Fatalf("village %s drawn again within 30 days", v)
				}
			}
		}
	})
}

func TestOpenRoundClaimIsAllOrNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		sc := monthly()
		if err := sc.Validate(); err != nil {
			t.Fatal(err)
		}
		fire := &workflow.Fire{Schedule: sc, At: time.Date(2018, 4, 1, 9, 0, 0, 0, workflow.Shanghai)}
		req := openReq(t, "all", fire.At)
		req.Actor, req.Fire, req.Kind = workflow.SystemUser, fire, workflow.RoundPeriodic
		if _, err := rs.Open(ctx, req); err != nil {
			t.Fatal(err)
		}
		_, err := rs.Open(ctx, req)
		if !errors.Is(err, workflow.ErrAlreadyClaimed) {
			t.Fatalf("second open of one fire: %v", err)
		}
		rounds, _ := db.Rounds().Rounds(ctx)
		c, _ := db.Counts(ctx)
		var findings int
		db.X.GetContext(ctx, &findings, `SELECT count(*) FROM findings`)
		if len(rounds) != 1 || findings != 4 {
			t.Fatalf("after a refused claim: %d rounds, %d findings (counts %+v)", len(rounds), findings, c)
		}
	})
}

func TestRoundOpenForbiddenToAdvisers(t *testing.T) {
	db := testdb.Open(t, store.SQLite)
	smallCounty(t, db)
	req := openReq(t, "all", time.Now())
	req.Actor = workflow.User{Login: "a1", Role: workflow.AdviserRole, Adviser: "A1"}
	var fe *workflow.ForbiddenError
	if _, err := newRounds(t, db).Open(context.Background(), req); !errors.As(err, &fe) {
		t.Fatalf("adviser opened a round: %v", err)
	}
}

// A round's villages are recorded by code; an unknown code is named and
// nothing is written.
func TestInsertRoundVillages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		smallCounty(t, db)
		ctx := context.Background()
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, time.UTC)
		round := func() *workflow.Round {
			return &workflow.Round{Kind: workflow.RoundManual, From: now, To: now, Scope: "all", OpenedAt: now, OpenedBy: "sup"}
		}
		err := db.Rounds().InRoundTx(ctx, func(tx workflow.RoundTx) error {
			return tx.InsertRound(ctx, round(), []string{"V1", "V9", "V2"})
		})
		if err == nil || !strings.Contains(err.Error(), `"V9"`) {
			t.Fatalf("unknown village: got %v", err)
		}
		r := round()
		if err := db.Rounds().InRoundTx(ctx, func(tx workflow.RoundTx) error {
			return tx.InsertRound(ctx, r, []string{"V5", "V1", "V3"})
		}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Rounds().RoundVillages(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != "V1,V3,V5" {
			t.Errorf("round villages: %v", got)
		}
		if rs, err := db.Rounds().Rounds(ctx); err != nil || len(rs) != 1 {
			t.Errorf("rounds: %d, %v", len(rs), err)
		}
	})
}

// A round over townships is refused when one does not exist (the facts are
// computed meanwhile, and dropped); one over an existing township inspects
// its villages only.
func TestOpenRoundOverTownships(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallCounty(t, db)
		rs := newRounds(t, db)
		now := time.Date(2018, 4, 2, 9, 0, 0, 0, workflow.Shanghai)
		var ut *store.UnknownTownshipError
		if _, err := rs.Open(ctx, openReq(t, "township=青山镇,无此乡", now)); !errors.As(err, &ut) || strings.Join(ut.Names, ",") != "无此乡" {
			t.Fatalf("unknown township: err = %v", err)
		}
		if rounds, err := db.Rounds().Rounds(ctx); err != nil || len(rounds) != 0 {
			t.Fatalf("rounds after a refused one: %d, %v", len(rounds), err)
		}
		r, err := rs.Open(ctx, openReq(t, "township=石门乡", now))
		if err != nil {
			t.Fatal(err)
		}
		// V4–V6; V4 was not visited in March, nor V5, and V6 has no adviser.
		villages, err := db.Rounds().RoundVillages(ctx, r.ID)
		if err != nil || strings.Join(villages, ",") != "V4,V5,V6" {
			t.Fatalf("round villages %v, %v", villages, err)
		}
		fs, err := store.NewFindings(db).List(ctx, store.FindingFilter{Round: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Township != "石门乡" {
				t.Errorf("finding %d in %s", f.ID, f.Township)
			}
		}
		if len(fs) != r.NewFindings || len(fs) == 0 {
			t.Errorf("%d findings, round says %d new", len(fs), r.NewFindings)
		}
	})
}
