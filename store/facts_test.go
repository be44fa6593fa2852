package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// county is a small roster written with plain SQL: townships, villages,
// advisers; assignments and activities are written per test.
type county struct {
	villages []rules.Village
	advisers []rules.Adviser
	vid, aid map[string]int64
}

func seedCounty(t testing.TB, db *store.DB) *county {
	t.Helper()
	ctx := context.Background()
	c := &county{vid: map[string]int64{}, aid: map[string]int64{}}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.X.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, name := range []string{"城关镇", "河口乡"} {
		exec("INSERT INTO townships (id, name) VALUES (?, ?)", i+1, name)
	}
	for i := 0; i < 6; i++ {
		v := rules.Village{Code: fmt.Sprintf("V%02d", i), Name: fmt.Sprintf("第%d村", i), Township: []string{"城关镇", "河口乡"}[i%2], Poverty: i != 5}
		c.villages = append(c.villages, v)
		c.vid[v.Code] = int64(i + 1)
		exec("INSERT INTO villages (id, code, name, township_id, poverty) VALUES (?, ?, ?, ?, ?)", i+1, v.Code, v.Name, i%2+1, v.Poverty)
	}
	for i := 0; i < 4; i++ {
		a := rules.Adviser{Code: fmt.Sprintf("A%02d", i), Name: fmt.Sprintf("顾问%d", i), Kind: "lawyer", Firm: "某律所", Phone: "1390000000" + fmt.Sprint(i)}
		if i%2 == 0 {
			a.WeChat = "wx" + fmt.Sprint(i)
		}
		c.advisers = append(c.advisers, a)
		c.aid[a.Code] = int64(i + 1)
		exec("INSERT INTO advisers (id, code, name, kind, firm, phone, qq, wechat, email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			i+1, a.Code, a.Name, a.Kind, a.Firm, a.Phone, a.QQ, a.WeChat, a.Email)
	}
	return c
}

type assignment struct {
	village, adviser string
	from             time.Time
	to               *time.Time
}

// load replaces assignments and activities with the given ones.
func (c *county) load(t interface {
	Helper()
	Fatalf(string, ...any)
	Fatal(...any)
}, db *store.DB, as []assignment, recs []rules.Record) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{"DELETE FROM activities", "DELETE FROM assignments"} {
		if _, err := db.X.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range as {
		if _, err := db.X.ExecContext(ctx, db.Rebind("INSERT INTO assignments (adviser_id, village_id, from_date, to_date) VALUES (?, ?, ?, ?)"),
			c.aid[a.adviser], c.vid[a.village], store.DayOf(a.from), store.DayPtr(a.to)); err != nil {
			t.Fatalf("assignment %+v: %v", a, err)
		}
	}
	for start := 0; start < len(recs); start += 200 {
		chunk := recs[start:min(start+200, len(recs))]
		var vals []string
		var args []any
		for i, r := range chunk {
			vals = append(vals, "(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, c.aid[r.Adviser], c.vid[r.Village], string(r.Kind), store.DayOf(r.Day), r.Count, r.AmountFen, fmt.Sprint(start+i))
		}
		q := "INSERT INTO activities (adviser_id, village_id, kind, day, count, amount_fen, note) VALUES " + strings.Join(vals, ", ")
		if _, err := db.X.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatalf("activities: %v", err)
		}
	}
}

// adviserOn is the naive answer to "who serves village v on day d".
func adviserOn(c *county, as []assignment, v string, d time.Time) *rules.Adviser {
	for _, a := range as {
		if a.village == v && !d.Before(a.from) && (a.to == nil || !d.After(*a.to)) {
			for i := range c.advisers {
				if c.advisers[i].Code == a.adviser {
					x := c.advisers[i]
					return &x
				}
			}
		}
	}
	return nil
}

const propertyChecklist = `rules:
  - id: card
    title: 服务卡完整
    window: month
    condition: adviser.phone != "" && (adviser.qq != "" || adviser.wechat != "" || adviser.email != "")
    severity: 一般
    rectify_within: 5 workdays
    message: "{{.adviser.name}}服务卡不完整"
  - id: visit_month
    title: 每月到村服务
    window: month
    condition: events("visit") >= 1
    severity: 较重
    rectify_within: 10 workdays
    message: "{{.village.name}}{{.window.label}}到村服务{{events \"visit\"}}次"
  - id: lecture_quarter
    title: 每季度讲座或会议学法
    applies_to: {poverty_only: true}
    window: quarter
    condition: events("lecture", "会议学法") >= 1
    severity: 较重
    rectify_within: 10 workdays
    message: "讲座{{events \"lecture\"}}次"
  - id: consult_half
    title: 半年咨询
    applies_to: {townships: [河口乡]}
    window: half_year
    condition: total("consultation") >= 3 || recovered() > 100
    severity: 一般
    rectify_within: 7d
    message: "咨询{{total \"consultation\"}}人次 挽回{{recovered}}元"
  - id: year_training
    title: 年度培训
    window: year
    condition: events("training") > 0 || adviser_events("training", "lecture") >= 2
    severity: 一般
    rectify_within: 7d
    message: "培训{{events \"training\"}} {{adviser_events \"training\"}}"
  - id: idle
    title: 不作为
    window: 30d
    condition: events() > 0 && days_since() <= 20 && (last("legal_aid") == nil || days_since("legal_aid") < 300)
    severity: 严重
    rectify_within: 3d
    message: "{{days_since}}天无记录 最近援助{{last \"legal_aid\"}}"
`

// TestFactsMatchNaiveEvaluation is the differential property: over random
// assignments and activity sets, the set-based facts of both backends and the
// violations they yield equal a naive in-memory tally of the same records.
func TestFactsMatchNaiveEvaluation(t *testing.T) {
	full, err := rules.Parse("property.yaml", []byte(propertyChecklist))
	if err != nil {
		t.Fatal(err)
	}
	// Without total(), recovered() or days_since(): the store skips the sums
	// and the lookback, and must still agree.
	counts, err := rules.Parse("counts.yaml", []byte(`rules:
  - id: visits
    title: 到村
    window: month
    condition: events("visit") >= 1 && adviser_events("training") >= 0
    severity: 一般
    rectify_within: 7d
    message: "{{events \"visit\"}}"
  - id: lectures
    title: 讲座
    window: 45d
    condition: events("lecture", "law_study") >= 1
    severity: 一般
    rectify_within: 7d
    message: x
`))
	if err != nil {
		t.Fatal(err)
	}
	ends := []time.Time{day(2018, 6, 30), day(2018, 3, 31), day(2018, 4, 1), day(2018, 12, 31), day(2019, 1, 1), day(2018, 2, 28), day(2018, 7, 15)}
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := seedCounty(t, db)
		ctx := context.Background()
		rapid.Check(t, func(rt *rapid.T) {
			cl := rapid.SampledFrom([]*rules.Checklist{full, counts}).Draw(rt, "checklist")
			end := rapid.SampledFrom(ends).Draw(rt, "end")
			p := rules.Period{From: end.AddDate(0, -6, 0), To: end}
			var as []assignment
			for i, v := range c.villages {
				switch rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("assign", i)) {
				case 0: // none
				case 1: // open-ended from before the end
					as = append(as, assignment{v.Code, c.advisers[i%4].Code, end.AddDate(0, -3, 0), nil})
				case 2: // ended the day before the end, then nobody
					to := end.AddDate(0, 0, -1)
					as = append(as, assignment{v.Code, c.advisers[i%4].Code, end.AddDate(-1, 0, 0), &to})
				case 3: // starts exactly on the end
					as = append(as, assignment{v.Code, c.advisers[(i+1)%4].Code, end, nil})
				}
			}
			kinds := rules.Kinds()
			recs := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) rules.Record {
				return rules.Record{
					Adviser:   rapid.SampledFrom(c.advisers).Draw(rt, "a").Code,
					Village:   rapid.SampledFrom(c.villages).Draw(rt, "v").Code,
					Kind:      rapid.SampledFrom(kinds).Draw(rt, "k"),
					Day:       end.AddDate(0, 0, rapid.IntRange(-420, 5).Draw(rt, "d")),
					Count:     rapid.IntRange(0, 9).Draw(rt, "n"),
					AmountFen: int64(rapid.SampledFrom([]int{0, 0, 0, 150, 20000}).Draw(rt, "fen")),
				}
			}), 0, 120).Draw(rt, "records")
			c.load(rt, db, as, recs)

			scope := rapid.SampledFrom([]rules.Scope{{}, {Townships: []string{"河口乡"}}, {Villages: []string{"V00", "V03"}}, {Townships: []string{"城关镇"}, Villages: []string{"V01"}}}).Draw(rt, "scope")
			req := cl.Request(p, scope)
			got, err := db.Facts(ctx, req)
			if err != nil {
				rt.Fatal(err)
			}
			var inScope []rules.Village
			advisers := map[string]*rules.Adviser{}
			for _, v := range c.villages {
				if scope.All() || contains(scope.Villages, v.Code) || contains(scope.Townships, v.Township) {
					inScope = append(inScope, v)
					advisers[v.Code] = adviserOn(c, as, v.Code, end)
				}
			}
			want := rules.TallyFacts(req, inScope, advisers, recs)
			if !reflect.DeepEqual(got, want) {
				rt.Fatalf("facts differ\n got %+v\nwant %+v", got, want)
			}
			gv, err := rules.Evaluate(cl, p, got)
			if err != nil {
				rt.Fatal(err)
			}
			wv, err := rules.Evaluate(cl, p, want)
			if err != nil {
				rt.Fatal(err)
			}
			if !reflect.DeepEqual(gv, wv) {
				rt.Fatalf("violations differ\n got %+v\nwant %+v", gv, wv)
			}
		})
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
