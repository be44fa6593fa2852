package rules

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// one compiles a one-rule checklist.
func one(t *testing.T, window, cond, msg string) *Checklist {
	t.Helper()
	src := fmt.Sprintf("rules:\n  - id: r\n    title: 测试\n    window: %s\n    condition: %q\n    severity: 一般\n    rectify_within: 7d\n    message: %q\n", window, cond, msg)
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return c
}

var (
	testVillage = Village{Code: "V1", Name: "岩口村", Township: "青山镇", Poverty: true}
	testAdviser = &Adviser{Code: "A1", Name: "万宏伟", Kind: "worker", Phone: "151", WeChat: "wx"}
)

// holds evaluates a one-rule checklist for the test village over a period
// ending on end and reports whether the rule holds, with the violation.
func holds(t *testing.T, window, cond string, end time.Time, recs ...Record) (bool, *Violation) {
	t.Helper()
	c := one(t, window, cond, "{{.village.name}}")
	p := Period{From: end.AddDate(0, -6, 0), To: end}
	for i := range recs {
		if recs[i].Village == "" {
			recs[i].Village = "V1"
		}
		if recs[i].Adviser == "" {
			recs[i].Adviser = "A1"
		}
	}
	facts := TallyFacts(c.Request(p, Scope{}), []Village{testVillage}, map[string]*Adviser{"V1": testAdviser}, recs)
	vs, err := Evaluate(c, p, facts)
	if err != nil {
		t.Fatalf("%s: %v", cond, err)
	}
	if len(vs) == 0 {
		return true, nil
	}
	return false, &vs[0]
}

func rec(k Kind, day time.Time, count int) Record { return Record{Kind: k, Day: day, Count: count} }

func TestFunctionsAtWindowEdges(t *testing.T) {
	end := d(2018, 6, 30)
	for _, tc := range []struct {
		name, window, cond string
		recs               []Record
		want               bool
	}{
		{"quarter starts on its first day", "quarter", `events("lecture") == 1`, []Record{rec(Lecture, d(2018, 4, 1), 1), rec(Lecture, d(2018, 3, 31), 1)}, true},
		{"period end is inclusive", "month", `events("visit") == 1`, []Record{rec(Visit, d(2018, 6, 30), 1), rec(Visit, d(2018, 7, 1), 1)}, true},
		{"month boundary", "month", `events("visit") == 0`, []Record{rec(Visit, d(2018, 5, 31), 1)}, true},
		{"30d boundary", "30d", `events() == 1`, []Record{rec(Visit, d(2018, 6, 1), 1), rec(Visit, d(2018, 5, 31), 1)}, true},
		{"total sums counts", "half_year", `total("consultation") == 7 && events("consultation") == 2`, []Record{rec(Consultation, d(2018, 1, 1), 3), rec(Consultation, d(2018, 6, 30), 4), rec(Consultation, d(2017, 12, 31), 9)}, true},
		{"several kinds", "quarter", `events("lecture", "会议学法") == 2 && events("法治讲座") == 1`, []Record{rec(Lecture, d(2018, 5, 1), 1), rec(LawStudy, d(2018, 5, 2), 1), rec(Visit, d(2018, 5, 2), 1)}, true},
		{"no kind is every kind", "year", `events() == 3 && total() == 6`, []Record{rec(Lecture, d(2018, 5, 1), 1), rec(LawStudy, d(2018, 5, 2), 2), rec(Visit, d(2018, 1, 1), 3)}, true},
		{"days_since on the end day", "month", `days_since("visit") == 0`, []Record{rec(Visit, d(2018, 6, 30), 1)}, true},
		{"days_since counts days", "month", `days_since("visit") == 30 && days_since() == 30`, []Record{rec(Visit, d(2018, 5, 31), 1), rec(Visit, d(2018, 7, 2), 1)}, true},
		{"days_since at the lookback's first day", "month", fmt.Sprintf(`days_since("visit") == %d`, Lookback-1), []Record{rec(Visit, end.AddDate(0, 0, 1-Lookback), 1)}, true},
		{"days_since beyond the lookback", "month", `days_since("visit") == 9999 && last("visit") == nil`, []Record{rec(Visit, end.AddDate(0, 0, -Lookback), 1)}, true},
		{"days_since never", "month", `days_since("visit") == 9999 && days_since() == 9999`, nil, true},
		{"last is a date", "month", `last("training") == date("2018-03-24") && last("training") > date("2018-03-01")`, []Record{rec(Training, d(2018, 3, 24), 1), rec(Training, d(2018, 1, 2), 1)}, true},
		{"last of several kinds is the newest", "month", `last("visit", "lecture") == date("2018-05-05")`, []Record{rec(Visit, d(2018, 3, 24), 1), rec(Lecture, d(2018, 5, 5), 1), rec(Mediation, d(2018, 6, 1), 1)}, true},
		{"recovered in yuan", "half_year", `recovered() == 1250.5`, []Record{{Kind: Mediation, Day: d(2018, 2, 1), AmountFen: 125000}, {Kind: LegalAid, Day: d(2018, 2, 2), AmountFen: 50}, {Kind: LegalAid, Day: d(2017, 2, 2), AmountFen: 50}}, true},
		{"adviser_events counts other villages", "half_year", `adviser_events("training") == 1 && events("training") == 0`, []Record{{Village: "V9", Kind: Training, Day: d(2018, 3, 24), Count: 1}, {Village: "V9", Adviser: "A2", Kind: Training, Day: d(2018, 3, 24), Count: 1}}, true},
		{"village and adviser fields", "month", `village.code == "V1" && village.poverty && village.township == "青山镇" && adviser.name == "万宏伟" && adviser.qq == "" && assigned`, nil, true},
		{"failing rule", "month", `events("visit") >= 1`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, v := holds(t, tc.window, tc.cond, end, tc.recs...)
			if ok != tc.want {
				t.Fatalf("%s held = %v, want %v (violation %+v)", tc.cond, ok, tc.want, v)
			}
		})
	}
}

func TestViolationCarriesMeasuresAndMessage(t *testing.T) {
	c := one(t, "quarter", `events("法治讲座", "law_study") >= 2 && days_since("visit") < 10 && recovered() >= 0 && last("visit") != nil`,
		`{{.village.township}}{{.village.name}}{{.window.label}}({{.window.from}}至{{.window.to}})讲座{{events "lecture"}}次, 咨询{{total "法律咨询"}}人次, {{days_since "visit"}}天未到村 (最近: {{last "visit"}}, 培训: {{last "training"}}), 顾问{{.adviser.name}}, {{.rule.id}} {{.period.to}} {{adviser_events}}`)
	end := d(2018, 6, 30)
	p := Period{From: d(2018, 1, 1), To: end}
	recs := []Record{{Village: "V1", Adviser: "A1", Kind: Lecture, Day: d(2018, 4, 2), Count: 1}, {Village: "V1", Adviser: "A1", Kind: Visit, Day: d(2018, 6, 10), Count: 1}, {Village: "V1", Adviser: "A1", Kind: Consultation, Day: d(2018, 6, 10), Count: 5}}
	vs, err := Evaluate(c, p, TallyFacts(c.Request(p, Scope{}), []Village{testVillage}, map[string]*Adviser{"V1": testAdviser}, recs))
	if err != nil || len(vs) != 1 {
		t.Fatalf("%+v %v", vs, err)
	}
	v := vs[0]
	wantMeasured := map[string]any{`events("lecture", "law_study")`: 1, `days_since("visit")`: 20, `recovered()`: 0.0, `last("visit")`: "2018-06-10"}
	if !reflect.DeepEqual(v.Measured, wantMeasured) {
		t.Errorf("measured %#v, want %#v", v.Measured, wantMeasured)
	}
	wantMsg := "青山镇岩口村本季度(2018-04-01至2018-06-30)讲座1次, 咨询5人次, 20天未到村 (最近: 2018-06-10, 培训: 无记录), 顾问万宏伟, r 2018-06-30 3"
	if v.Message != wantMsg {
		t.Errorf("message %q\nwant    %q", v.Message, wantMsg)
	}
	if v.RuleID != "r" || v.Severity != General || v.RectifyWithin != (Duration{7, false}) || v.AdviserCode != "A1" || v.VillageCode != "V1" ||
		v.Window != (DateRange{d(2018, 4, 1), end}) {
		t.Errorf("violation %+v", v)
	}
}

func TestAppliesToAndUnassigned(t *testing.T) {
	src := `rules:
  - id: poor
    title: 贫困村
    applies_to: {poverty_only: true}
    window: month
    condition: "false"
    severity: 严重
    rectify_within: 3 workdays
    message: x
  - id: hekou
    title: 河口乡
    applies_to: {townships: [河口乡]}
    window: month
    condition: "false"
    severity: 一般
    rectify_within: 3d
    message: y
`
	c, err := Parse("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	end := d(2018, 6, 30)
	p := Period{From: d(2018, 6, 1), To: end}
	villages := []Village{
		{Code: "1", Name: "甲", Township: "城关镇", Poverty: true},  // poor only
		{Code: "2", Name: "乙", Township: "河口乡", Poverty: false}, // hekou only
		{Code: "3", Name: "丙", Township: "城关镇", Poverty: false}, // no rule: skipped, even unassigned
		{Code: "4", Name: "丁", Township: "河口乡", Poverty: true},  // both, but unassigned
	}
	advisers := map[string]*Adviser{"1": testAdviser, "2": testAdviser}
	vs, err := Evaluate(c, p, TallyFacts(c.Request(p, Scope{}), villages, advisers, nil))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.VillageCode+":"+v.RuleID)
	}
	if want := "1:poor 2:hekou 4:adviser_assigned"; strings.Join(got, " ") != want {
		t.Fatalf("violations %v, want %s", got, want)
	}
	u := vs[2]
	if u.Title != "顾问未配备" || u.Severity != Serious || u.AdviserCode != "" || !strings.Contains(u.Message, "河口乡丁截至2018-06-30没有在聘的法律顾问") {
		t.Errorf("unassigned violation %+v", u)
	}
}

func TestRequestWindowsAndLookback(t *testing.T) {
	c := one(t, "quarter", `events("visit") > 0`, "x")
	req := c.Request(Period{To: d(2018, 6, 30)}, Scope{Townships: []string{"x"}})
	if len(req.Windows) != 1 || !req.LookbackFrom.IsZero() || !req.ScanFrom().Equal(d(2018, 4, 1)) || req.Scope.Townships[0] != "x" {
		t.Errorf("request %+v", req)
	}
	c = one(t, "month", `days_since("visit") < 30`, "x")
	req = c.Request(Period{To: d(2018, 6, 30)}, Scope{})
	if !req.LookbackFrom.Equal(d(2018, 6, 30).AddDate(0, 0, 1-Lookback)) || !req.ScanFrom().Equal(req.LookbackFrom) {
		t.Errorf("request %+v", req)
	}
	if slices.Contains(req.Totals, true) || slices.Contains(req.Recovered, true) {
		t.Errorf("request %+v asks for sums no rule reads", req)
	}
	c = one(t, "month", `recovered() > 0`, `{{total "visit"}}`)
	if req = c.Request(Period{To: d(2018, 6, 30)}, Scope{}); !req.Totals[0] || !req.Recovered[0] || !req.LookbackFrom.IsZero() {
		t.Errorf("request %+v", req)
	}
	// Sums only for the windows whose rules read them.
	c, err := Parse("t.yaml", []byte(`rules:
  - {id: a, title: 甲, window: month, condition: 'total("consultation") > 0', severity: 一般, rectify_within: 7d, message: x}
  - {id: b, title: 乙, window: quarter, condition: 'events("visit") > 0', severity: 一般, rectify_within: 7d, message: '{{recovered}}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	req = c.Request(Period{To: d(2018, 6, 30)}, Scope{})
	if !slices.Equal(req.Totals, []bool{true, false}) || !slices.Equal(req.Recovered, []bool{false, true}) {
		t.Errorf("per-window sums: totals %v, recovered %v", req.Totals, req.Recovered)
	}
	// A template alone asking for last() needs the lookback too.
	c = one(t, "month", `events("visit") > 0`, `{{last "visit"}}`)
	if req = c.Request(Period{To: d(2018, 6, 30)}, Scope{}); req.LookbackFrom.IsZero() {
		t.Error("message using last gets no lookback")
	}
}

func TestHostileExpressionsAreBounded(t *testing.T) {
	// Too big to compile.
	for _, cond := range []string{
		strings.Repeat("1 + ", 600) + "1 > 0",
		strings.Repeat("(", 3000) + "true" + strings.Repeat(")", 3000),
		`now() > date("2018-01-01")`,
		`len(repeat("x", 1000000000)) > 0`,
	} {
		src := fmt.Sprintf("rules:\n  - id: r\n    title: t\n    window: month\n    condition: %q\n    severity: 一般\n    rectify_within: 7d\n    message: m\n", cond)
		if _, err := Parse("h.yaml", []byte(src)); err == nil {
			t.Errorf("compiled %.40q…", cond)
		}
	}
	// Compiles, but exceeds the memory budget at run time: an error, fast.
	c := one(t, "month", `all(1..1000, {all(1..1000, {all(1..1000, {# > 0})})})`, "x")
	start := time.Now()
	p := Period{To: d(2018, 6, 30)}
	_, err := Evaluate(c, p, TallyFacts(c.Request(p, Scope{}), []Village{testVillage}, map[string]*Adviser{"V1": testAdviser}, nil))
	if err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Errorf("hostile loop: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("hostile loop took %s", time.Since(start))
	}
}

// TestParallelEvaluationEqualsSequential evaluates enough villages for
// Evaluate to split them across goroutines and compares the result, order
// included, with one sequential pass over the same facts.
func TestParallelEvaluationEqualsSequential(t *testing.T) {
	src, err := os.ReadFile("../testdata/rules/checklist-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("checklist-2018.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	p := Period{From: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2018, 6, 30, 0, 0, 0, 0, time.UTC)}
	const n = 9000
	villages := make([]Village, n)
	advisers := map[string]*Adviser{}
	var recs []Record
	for i := range villages {
		v := Village{Code: fmt.Sprintf("V%05d", i), Name: fmt.Sprintf("村%d", i), Township: fmt.Sprintf("镇%d", i%7), Poverty: i%3 > 0}
		villages[i] = v
		if i%11 == 0 {
			continue // no adviser
		}
		a := &Adviser{Code: fmt.Sprintf("A%05d", i/3), Name: fmt.Sprintf("顾问%d", i/3), Phone: "1"}
		advisers[v.Code] = a
		for j := range i % 9 {
			recs = append(recs, Record{Adviser: a.Code, Village: v.Code, Kind: Kinds()[(i+j)%NumKinds],
				Day: time.Date(2018, time.Month(1+(i*j)%6), 1+j, 0, 0, 0, 0, time.UTC), Count: 1 + j})
		}
	}
	facts := TallyFacts(c.Request(p, Scope{}), villages, advisers, recs)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // four chunks whatever the machine
	got, err := Evaluate(c, p, facts)
	if err != nil {
		t.Fatal(err)
	}
	ws := c.windows()
	idx := make(map[Window]int, len(ws))
	for i, w := range ws {
		idx[w] = i
	}
	want, err := evaluate(c, p, idx, facts)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < n/2 {
		t.Fatalf("only %d violations: the test no longer exercises much", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parallel evaluation differs from sequential: %d vs %d violations", len(got), len(want))
	}
}
