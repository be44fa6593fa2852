package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
	"ducha/workflow"
)

// importRows runs one staged import in a transaction: add stages the rows,
// and the import applies only when no conflict is found.
func importRows(t *testing.T, db *store.DB, table store.ImportTable, opts store.ImportOptions,
	add func(im *store.Import) error) (store.ImportResult, []store.Conflict) {
	t.Helper()
	var res store.ImportResult
	var conflicts []store.Conflict
	errConflict := fmt.Errorf("conflicts")
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		im, err := store.NewImport(context.Background(), tx, table, opts)
		if err != nil {
			return err
		}
		defer im.Close()
		if err := add(im); err != nil {
			return err
		}
		if conflicts, err = im.Conflicts(10); err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return errConflict
		}
		res, err = im.Apply()
		return err
	})
	if err != nil && err != errConflict {
		t.Fatalf("import %s: %v", table, err)
	}
	return res, conflicts
}

func d(y int, m time.Month, day int) time.Time { return workflow.Date(y, m, day) }

// seed stores two townships, three villages, two advisers and their
// assignments through the import API, the only writer of domain rows.
func seed(t *testing.T, db *store.DB) {
	t.Helper()
	importRows(t, db, store.ImportVillages, store.ImportOptions{}, func(im *store.Import) error {
		for i, v := range []store.VillageRow{
			{Code: "V1", Name: "一村", Township: "甲镇", Poverty: true},
			{Code: "V2", Name: "二村", Township: "甲镇"},
			{Code: "V3", Name: "三村", Township: "乙乡", Poverty: true},
		} {
			v.Line = i + 2
			if err := im.AddVillage(v); err != nil {
				return err
			}
		}
		return nil
	})
	importRows(t, db, store.ImportAdvisers, store.ImportOptions{}, func(im *store.Import) error {
		if err := im.AddAdviser(store.AdviserRow{Line: 2, Code: "A1", Name: "甲", Kind: workflow.Lawyer,
			Card: workflow.ServiceCard{Phone: "1", QQ: "2"}}); err != nil {
			return err
		}
		return im.AddAdviser(store.AdviserRow{Line: 3, Code: "A2", Name: "乙", Kind: workflow.Worker})
	})
	to := d(2018, 3, 31)
	importRows(t, db, store.ImportAssignments, store.ImportOptions{}, func(im *store.Import) error {
		a1, _ := im.AdviserID("A1")
		a2, _ := im.AdviserID("A2")
		v1, _ := im.VillageID("V1")
		v2, _ := im.VillageID("V2")
		for _, r := range []store.AssignmentRow{
			{Line: 2, AdviserID: a1, VillageID: v1, From: d(2018, 1, 1), To: &to},
			{Line: 3, AdviserID: a2, VillageID: v1, From: d(2018, 4, 1)},
			{Line: 4, AdviserID: a1, VillageID: v2, From: d(2018, 1, 1)},
		} {
			if err := im.AddAssignment(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestDomainReads(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if c, err := db.Counts(ctx); err != nil || c != (store.Counts{}) {
			t.Fatalf("empty counts = %+v, %v", c, err)
		}
		if first, last, err := db.ActivityPeriod(ctx, store.ActivityFilter{}); err != nil || !first.IsZero() || !last.IsZero() {
			t.Fatalf("empty period = %v %v %v", first, last, err)
		}
		seed(t, db)
		ts, _ := db.Townships(ctx)
		if len(ts) != 2 || ts[0].Name == ts[1].Name || ts[0].Name > ts[1].Name {
			t.Errorf("townships = %+v", ts)
		}
		vs, _ := db.Villages(ctx)
		if len(vs) != 3 || vs[1] != (workflow.Village{ID: vs[1].ID, Code: "V2", Name: "二村", Township: "甲镇"}) {
			t.Errorf("villages = %+v", vs)
		}
		as, _ := db.Advisers(ctx)
		if len(as) != 2 || as[0].Card != (workflow.ServiceCard{Phone: "1", QQ: "2"}) || as[1].Kind != workflow.Worker {
			t.Errorf("advisers = %+v", as)
		}
		// The end date is inclusive: on 03-31 V1 is A1's, on 04-01 A2's.
		for _, c := range []struct {
			day  time.Time
			want string
		}{
			{d(2017, 12, 31), "[]"},
			{d(2018, 3, 31), "[A1→V1 A1→V2]"},
			{d(2018, 4, 1), "[A2→V1 A1→V2]"},
		} {
			act, err := db.ActiveAssignments(ctx, c.day)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range act {
				got = append(got, a.Adviser+"→"+a.Village)
				if !a.Active(c.day) {
					t.Errorf("%v not active on %v", a, c.day)
				}
			}
			if fmt.Sprint(got) != c.want && !(c.want == "[]" && got == nil) {
				t.Errorf("active on %s = %v, want %s", c.day.Format("2006-01-02"), got, c.want)
			}
		}
		all, _ := db.Assignments(ctx)
		if len(all) != 3 || all[0].To == nil || !all[0].To.Equal(d(2018, 3, 31)) || all[1].To != nil {
			t.Errorf("assignments = %+v", all)
		}

		importRows(t, db, store.ImportActivities, store.ImportOptions{Source: "test"}, func(im *store.Import) error {
			a1, _ := im.AdviserID("A1")
			v1, _ := im.VillageID("V1")
			v2, _ := im.VillageID("V2")
			for i, r := range []store.ActivityRow{
				{AdviserID: a1, VillageID: v1, Kind: rules.Lecture, Day: d(2018, 1, 5), Count: 1},
				{AdviserID: a1, VillageID: v1, Kind: rules.Consultation, Day: d(2018, 2, 5), Count: 7},
				{AdviserID: a1, VillageID: v2, Kind: rules.Consultation, Day: d(2018, 3, 5), Count: 3, AmountFen: 1050},
				{AdviserID: a1, VillageID: v2, Kind: rules.Consultation, Day: d(2018, 3, 5), Count: 2, Note: "另一批"},
			} {
				r.Line = i + 2
				if err := im.AddActivity(r); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			f    store.ActivityFilter
			want int
		}{
			{store.ActivityFilter{}, 4},
			{store.ActivityFilter{Kind: rules.Consultation}, 3},
			{store.ActivityFilter{Village: "V2"}, 2},
			{store.ActivityFilter{Township: "乙乡"}, 0},
			{store.ActivityFilter{Adviser: "A2"}, 0},
			{store.ActivityFilter{From: d(2018, 2, 5), To: d(2018, 3, 4)}, 1},
			{store.ActivityFilter{From: d(2018, 2, 5)}, 3},
		} {
			n, err := db.CountActivities(ctx, c.f)
			xs, err2 := db.Activities(ctx, c.f)
			if err != nil || err2 != nil || n != c.want || len(xs) != c.want {
				t.Errorf("filter %+v: count %d, list %d (%v %v); want %d", c.f, n, len(xs), err, err2, c.want)
			}
		}
		xs, _ := db.Activities(ctx, store.ActivityFilter{Limit: 2})
		if len(xs) != 2 || xs[0].Kind != rules.Lecture || xs[0].Source != "test" || xs[0].Date != d(2018, 1, 5) {
			t.Errorf("first activities = %+v", xs)
		}
		tot, _ := db.ActivityTotals(ctx, store.ActivityFilter{})
		if got := fmt.Sprint(tot); got != "[{lecture 1 1 0} {consultation 3 12 1050}]" {
			t.Errorf("totals = %s", got)
		}
		first, last, _ := db.ActivityPeriod(ctx, store.ActivityFilter{Kind: rules.Consultation})
		if first != d(2018, 2, 5) || last != d(2018, 3, 5) {
			t.Errorf("period = %v..%v", first, last)
		}
	})
}

func TestImportConflicts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		before, _ := db.Counts(ctx)
		// Duplicate in the file, already stored.
		_, cs := importRows(t, db, store.ImportVillages, store.ImportOptions{}, func(im *store.Import) error {
			im.AddVillage(store.VillageRow{Line: 2, Code: "V9", Name: "九村", Township: "丙镇"})
			im.AddVillage(store.VillageRow{Line: 3, Code: "V1", Name: "一村", Township: "甲镇"})
			return im.AddVillage(store.VillageRow{Line: 4, Code: "V9", Name: "九村", Township: "丙镇"})
		})
		if got := fmt.Sprint(cs); got != "[{3 2 0 <nil>} {4 1 2 <nil>}]" {
			t.Errorf("village conflicts = %s", got)
		}
		// Overlaps within the file and with a stored assignment; a stored row
		// the file replaces (same adviser, village, start) is judged by its new dates.
		to := d(2018, 2, 28)
		_, cs = importRows(t, db, store.ImportAssignments, store.ImportOptions{Upsert: true}, func(im *store.Import) error {
			a1, _ := im.AdviserID("A1")
			a2, _ := im.AdviserID("A2")
			v1, _ := im.VillageID("V1")
			v2, _ := im.VillageID("V2")
			v3, _ := im.VillageID("V3")
			for _, r := range []store.AssignmentRow{
				{Line: 2, AdviserID: a1, VillageID: v2, From: d(2018, 1, 1), To: &to}, // replaces A1→V2, now ends 02-28
				{Line: 3, AdviserID: a2, VillageID: v2, From: d(2018, 3, 1)},          // fits after the new end
				{Line: 4, AdviserID: a2, VillageID: v3, From: d(2018, 1, 1)},
				{Line: 5, AdviserID: a1, VillageID: v3, From: d(2018, 6, 1)}, // overlaps line 4
				{Line: 6, AdviserID: a1, VillageID: v1, From: d(2018, 5, 1)}, // overlaps stored A2→V1
			} {
				if err := im.AddAssignment(r); err != nil {
					return err
				}
			}
			return nil
		})
		if len(cs) != 2 || cs[0].Line != 5 || cs[0].Kind != store.OverlapInFile || cs[0].OtherLine != 4 ||
			cs[1].Line != 6 || cs[1].Kind != store.OverlapStored || cs[1].Stored.Adviser != "A2" || cs[1].Stored.Village != "V1" {
			t.Errorf("assignment conflicts = %+v", cs)
		}
		if after, _ := db.Counts(ctx); after != before {
			t.Errorf("counts changed from %+v to %+v", before, after)
		}
		// Without the bad lines the upsert applies.
		res, cs := importRows(t, db, store.ImportAssignments, store.ImportOptions{Upsert: true, Columns: []string{"adviser", "village", "from", "to"}},
			func(im *store.Import) error {
				a1, _ := im.AdviserID("A1")
				a2, _ := im.AdviserID("A2")
				v2, _ := im.VillageID("V2")
				im.AddAssignment(store.AssignmentRow{Line: 2, AdviserID: a1, VillageID: v2, From: d(2018, 1, 1), To: &to})
				return im.AddAssignment(store.AssignmentRow{Line: 3, AdviserID: a2, VillageID: v2, From: d(2018, 3, 1)})
			})
		if len(cs) != 0 || res != (store.ImportResult{Rows: 2, Inserted: 1, Updated: 1}) {
			t.Fatalf("upsert = %+v, conflicts %+v", res, cs)
		}
		act, _ := db.ActiveAssignments(ctx, d(2018, 3, 1))
		if act[1].Adviser+" "+act[1].Village != "A2 V2" {
			t.Errorf("active on 03-01 = %+v", act)
		}
	})
}

// The database itself refuses overlapping assignments, whatever the writer.
func TestOverlapEnforcedByDatabase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		_, err := db.X.Exec(db.Rebind(`INSERT INTO assignments (adviser_id, village_id, from_date)
			SELECT a.id, v.id, ? FROM advisers a, villages v WHERE a.code = 'A1' AND v.code = 'V1'`), "2018-06-01")
		if !store.IsOverlap(err) {
			t.Fatalf("overlapping insert: err = %v, want an overlap", err)
		}
	})
}
