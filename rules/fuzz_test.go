package rules

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary checklist files to the parser and compiler and,
// when one compiles, evaluates it: nothing may panic, every error must carry
// a position, and hostile conditions stay within their node and memory
// budgets. Run: go test ./rules -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/rules/*.yaml")
	bad, _ := filepath.Glob("../testdata/rules/bad/*.yaml")
	for _, p := range append(files, bad...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("rules:\n  - id: a\n    title: t\n    window: 30d\n    condition: all(1..100, {# > 0}) && events() >= 0\n    severity: 一般\n    rectify_within: 7d\n    message: '{{events}}'\n"))
	f.Add([]byte("rules:\n  - id: a\n    title: t\n    window: month\n    condition: |\n      last(\"visit\") == nil ||\n        days_since(\"到村服务\") < 30\n    severity: 一般\n    rectify_within: 7d\n    message: '{{last \"visit\"}}'\n"))
	end := time.Date(2018, 6, 30, 0, 0, 0, 0, time.UTC)
	p := Period{From: end.AddDate(0, -6, 0), To: end}
	recs := []Record{
		{Adviser: "A1", Village: "V1", Kind: Visit, Day: end, Count: 1},
		{Adviser: "A1", Village: "V1", Kind: Lecture, Day: end.AddDate(0, -2, 0), Count: 2, AmountFen: 100},
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		defer func() {
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("input took %s", took)
			}
		}()
		c, err := Parse("f.yaml", src)
		if err != nil {
			list, ok := err.(Errors)
			if !ok || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty Errors", err, err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Col < 1 || e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("error without a position: %#v", e)
				}
			}
			return
		}
		villages := []Village{testVillage, {Code: "V2", Name: "乙", Township: "河口乡"}}
		facts := TallyFacts(c.Request(p, Scope{}), villages, map[string]*Adviser{"V1": testAdviser}, recs)
		Evaluate(c, p, facts) // may fail (budget), must not panic
	})
}
