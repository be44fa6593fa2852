package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"ducha/bulletin"
	"ducha/importer"
	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
	sample "ducha/testdata/county"
	"ducha/workflow"
)

// loadSampleCounty imports the embedded sample county.
func loadSampleCounty(t *testing.T, db *store.DB) {
	t.Helper()
	for _, k := range []store.ImportTable{store.ImportVillages, store.ImportAdvisers, store.ImportAssignments, store.ImportActivities} {
		if _, err := importer.ImportFS(context.Background(), db, k, sample.Files, string(k)+".csv", importer.Options{}); err != nil {
			t.Fatalf("import %s: %v", k, err)
		}
	}
}

// The sample county's first half of 2018 gives exactly the seed's figures.
func TestSummarySeedFigures(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		loadSampleCounty(t, db)
		from, to := workflow.Date(2018, 1, 1), workflow.Date(2018, 6, 30)
		s, err := db.Summary(ctx, from, to, "")
		if err != nil {
			t.Fatal(err)
		}
		want := map[rules.Kind]int64{
			rules.Lecture: 48, rules.DocumentReview: 42, rules.Consultation: 650, rules.DocumentDrafting: 46,
			rules.LegalAid: 6, rules.Mediation: 39, rules.LegalAffairs: 10, rules.LegalOpinion: 18,
		}
		for k, n := range want {
			if got := s.Totals.Count(k); got != n {
				t.Errorf("%s = %d, want %d", k, got, n)
			}
		}
		if s.Totals.AmountFen != 25_000_000 {
			t.Errorf("recovered = %d fen, want 250000 yuan", s.Totals.AmountFen)
		}
		// The JSON contract: totals.<kind> and totals.recovered_yuan.
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(s); err != nil {
			t.Fatal(err)
		}
		var j struct{ Totals map[string]float64 }
		if err := json.Unmarshal(buf.Bytes(), &j); err != nil {
			t.Fatal(err)
		}
		if j.Totals["consultation"] != 650 || j.Totals["recovered_yuan"] != 250000 || j.Totals["lecture"] != 48 {
			t.Errorf("json totals = %v", j.Totals)
		}
		// The breakdowns add up to the totals.
		var byTown, byMonth bulletin.Totals
		var recs int64
		for _, r := range s.Townships {
			for k, n := range r.Totals.Counts {
				byTown.Add(k, n, 0)
			}
			byTown.AmountFen += r.Totals.AmountFen
			recs += r.Records
		}
		for _, r := range s.Months {
			for k, n := range r.Totals.Counts {
				byMonth.Add(k, n, 0)
			}
			byMonth.AmountFen += r.Totals.AmountFen
		}
		for _, k := range rules.Kinds() {
			if byTown.Count(k) != s.Totals.Count(k) || byMonth.Count(k) != s.Totals.Count(k) {
				t.Errorf("%s: townships %d, months %d, total %d", k, byTown.Count(k), byMonth.Count(k), s.Totals.Count(k))
			}
		}
		if byTown.AmountFen != s.Totals.AmountFen || byMonth.AmountFen != s.Totals.AmountFen || recs != s.Records {
			t.Errorf("amounts/records do not add up")
		}
		if len(s.Months) != 6 || s.Months[0].Name != "2018-01" || s.Months[5].Name != "2018-06" {
			t.Errorf("months = %v", s.Months)
		}
		n, err := db.CountActivities(ctx, store.ActivityFilter{From: from, To: to})
		if err != nil || int64(n) != s.Records {
			t.Errorf("records = %d, CountActivities = %d (%v)", s.Records, n, err)
		}
		// Ranking: sorted, ranks consistent, formula applied.
		if len(s.Ranking) < bulletin.RankingTop {
			t.Fatalf("ranking has %d places", len(s.Ranking))
		}
		for i, r := range s.Ranking {
			if r.Points != bulletin.Points(r.Totals, s.Formula) {
				t.Errorf("%s points %v, formula gives %v", r.Code, r.Points, bulletin.Points(r.Totals, s.Formula))
			}
			if i > 0 && (r.Points > s.Ranking[i-1].Points || r.Rank < s.Ranking[i-1].Rank) {
				t.Errorf("ranking out of order at %d: %+v", i, r)
			}
		}

		// A drill-down lists exactly the records behind a number.
		recsMed, err := db.Drill(ctx, from, to, "", "人民调解")
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, r := range recsMed {
			sum += r.Count
			if r.Kind != rules.Mediation || r.Adviser == "" || r.Village == "" {
				t.Fatalf("drill row %+v", r)
			}
		}
		if sum != 39 {
			t.Errorf("mediation drill sums to %d, want 39", sum)
		}
		money, err := db.Drill(ctx, from, to, "", bulletin.RecoveredYuan)
		if err != nil {
			t.Fatal(err)
		}
		var fen int64
		for _, r := range money {
			fen += r.AmountFen
		}
		if fen != 25_000_000 {
			t.Errorf("recovered drill sums to %d fen", fen)
		}

		// One township: its row of the county summary.
		tw := s.Townships[0]
		one, err := db.Summary(ctx, from, to, tw.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(one.Townships) != 1 || one.Records != tw.Records || one.Totals.AmountFen != tw.Totals.AmountFen ||
			one.Totals.Count(rules.Consultation) != tw.Totals.Count(rules.Consultation) || one.Villages != tw.Villages {
			t.Errorf("township %s summary = %+v, county row %+v", tw.Name, one, tw)
		}

		// Bad input: unknown township and unknown kind.
		var ut *store.UnknownTownshipError
		if _, err := db.Summary(ctx, from, to, "无此乡"); !errors.As(err, &ut) {
			t.Errorf("unknown township: err = %v", err)
		}
		var de *store.DrillError
		if _, err := db.Drill(ctx, from, to, "", "跳舞"); !errors.As(err, &de) {
			t.Errorf("unknown kind: err = %v", err)
		}

		// Inspections: with no rounds yet, zero rounds and no findings.
		if err := db.SummaryInspections(ctx, s); err != nil {
			t.Fatal(err)
		}
		if s.Rounds == nil || s.Rounds.Total != 0 || s.Findings == nil || s.Findings.Total() != 0 {
			t.Errorf("inspections = %+v %+v", s.Rounds, s.Findings)
		}
		// One random round in March with three findings; one in July outside the period.
		var vid, tid int64
		if err := db.X.QueryRowContext(ctx, `SELECT id, township_id FROM villages ORDER BY id LIMIT 1`).Scan(&vid, &tid); err != nil {
			t.Fatal(err)
		}
		for i, opened := range []time.Time{time.Date(2018, 3, 5, 10, 0, 0, 0, workflow.Shanghai), time.Date(2018, 7, 2, 10, 0, 0, 0, workflow.Shanghai)} {
			var rid int64
			err := db.X.QueryRowContext(ctx, db.Rebind(`INSERT INTO rounds (kind, period_from, period_to, opened_at, opened_by, villages)
				VALUES ('random', ?, ?, ?, 'test', 10) RETURNING id`), store.DayOf(from), store.DayOf(to), store.Instant(opened)).Scan(&rid)
			if err != nil {
				t.Fatal(err)
			}
			for j, state := range []string{"signed_off", "ordered", "signed_off"}[:3-2*i] {
				_, err := db.X.ExecContext(ctx, db.Rebind(`INSERT INTO findings (round_id, rule_id, rule_title, severity, village_id,
					township_id, state, created_at, updated_at, last_seq, last_hash)
					VALUES (?, ?, 'r', 'general', ?, ?, ?, ?, ?, 1, 'h')`), rid, fmt.Sprintf("r%d%d", i, j), vid, tid, state,
					store.Instant(opened), store.Instant(opened))
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := db.SummaryInspections(ctx, s); err != nil {
			t.Fatal(err)
		}
		if s.Rounds.Total != 1 || s.Rounds.Random != 1 || s.Rounds.Villages != 10 || s.Findings.Total() != 3 ||
			s.Findings.N("signed_off") != 2 || fmt.Sprintf("%.1f", s.Findings.Rate()) != "66.7" {
			t.Errorf("inspections = %+v %+v", s.Rounds, s.Findings)
		}
		all, err := db.FindingStates(ctx, "")
		if err != nil || fmt.Sprint(all) != "[{ordered 整改中 1} {signed_off 已销号 3}]" {
			t.Errorf("finding states = %v, %v", all, err)
		}
	})
}
