package rules

import (
	"testing"
	"time"
)

func TestWindowComplete(t *testing.T) {
	d := func(s string) time.Time { x, _ := time.Parse(dateLayout, s); return x }
	cases := []struct {
		w    string
		end  string
		want bool
	}{
		{"month", "2018-01-31", true}, {"month", "2018-01-30", false}, {"month", "2018-02-28", true},
		{"quarter", "2018-01-31", false}, {"quarter", "2018-03-31", true}, {"quarter", "2018-06-30", true},
		{"half_year", "2018-03-31", false}, {"half_year", "2018-06-30", true}, {"half_year", "2018-12-31", true},
		{"year", "2018-06-30", false}, {"year", "2018-12-31", true},
		{"30d", "2018-05-17", true},
	}
	for _, c := range cases {
		w, err := ParseWindow(c.w)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Complete(d(c.end)); got != c.want {
			t.Errorf("%s complete on %s = %v, want %v", c.w, c.end, got, c.want)
		}
	}
}

func TestEvaluateSkipsWindowsNotOver(t *testing.T) {
	c, err := Parse("c.yaml", []byte(`rules:
  - id: lecture_quarterly
    title: 每季度至少开展一次法治讲座
    window: quarter
    condition: events("lecture") >= 1
    severity: 较重
    rectify_within: 10 workdays
    message: 未开展
  - id: not_idle
    title: 不作为
    window: 30d
    condition: days_since() <= 30
    severity: 严重
    rectify_within: 5 workdays
    message: 不作为
`))
	if err != nil {
		t.Fatal(err)
	}
	jan := Period{From: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2018, 1, 31, 0, 0, 0, 0, time.UTC)}
	villages := []Village{{Code: "V1", Name: "一村"}}
	advisers := map[string]*Adviser{"V1": {Code: "A1", Name: "甲"}}
	facts := TallyFacts(c.Request(jan, Scope{}), villages, advisers, nil)
	vs, err := Evaluate(c, jan, facts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].RuleID != "not_idle" {
		t.Fatalf("January round: %+v; want only the 30-day rule (the quarter is not over)", vs)
	}
	mar := Period{From: time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2018, 3, 31, 0, 0, 0, 0, time.UTC)}
	facts = TallyFacts(c.Request(mar, Scope{}), villages, advisers, nil)
	if vs, _ = Evaluate(c, mar, facts); len(vs) != 2 {
		t.Fatalf("March round: %d violations, want 2", len(vs))
	}
}
