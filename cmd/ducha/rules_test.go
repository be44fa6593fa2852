package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"ducha/importer"
	"ducha/internal/testdb"
	"ducha/store"
	"ducha/testdata/county"
)

const sampleChecklist = "../../testdata/rules/checklist-2018.yaml"

func TestRulesCheck(t *testing.T) {
	code, out, errs := runDucha(t, "rules", "check", sampleChecklist)
	if code != 0 {
		t.Fatalf("check sample: code %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"service_card", "lecture_quarterly", "visit_monthly", "consultation_answered",
		"training_attended", "not_idle_30d", "law_study_quarterly", "quarter (本季度)", "10个工作日", "7 条规则"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	bad := "../../testdata/rules/bad/bad-expressions.yaml"
	code, out, errs = runDucha(t, "rules", "check", bad)
	if code != 2 || !strings.Contains(errs, bad+":10:34: 条件表达式有误: unknown name visits") || !strings.Contains(errs, bad+":40:16:") {
		t.Fatalf("bad file: code %d, want 2 and every FILE:LINE:COL\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{{"rules"}, {"rules", "lint"}, {"rules", "check"}, {"rules", "check", "/no/such/file.yaml"},
		{"rules", "eval", sampleChecklist}, {"rules", "eval", sampleChecklist, "--period", "2018-06-30..2018-01-01"},
		{"rules", "eval", sampleChecklist, "--period", "2018-01-01..2018-06-30", "--scope", "county:x"}} {
		if code, out, errs := runDucha(t, args...); code != 2 {
			t.Errorf("%v: code %d, want 2\n%s%s", args, code, out, errs)
		}
	}
}

// TestRulesEvalSampleCounty evaluates the 2018 checklist on the sample county
// over the first half of 2018, on both backends: it must find exactly the
// deliberately under-served villages.
func TestRulesEvalSampleCounty(t *testing.T) {
	want := strings.Join([]string{
		"adviser_assigned 439901206207",
		"consultation_answered 439901104209",
		"consultation_answered 439901201205",
		"consultation_answered 439901202201",
		"law_study_quarterly 439901104209",
		"law_study_quarterly 439901105206",
		"law_study_quarterly 439901105207",
		"law_study_quarterly 439901202208",
		"lecture_quarterly 439901104209",
		"lecture_quarterly 439901105206",
		"not_idle_30d 439901103206",
		"service_card 439901203203",
		"service_card 439901203204",
		"service_card 439901203205",
		"training_attended 439901103205",
		"training_attended 439901103206",
		"training_attended 439901103207",
		"training_attended 439901106201",
		"training_attended 439901106202",
		"training_attended 439901106206",
		"training_attended 439901202203",
		"training_attended 439901202204",
		"visit_monthly 439901102209",
		"visit_monthly 439901103206",
		"visit_monthly 439901103207",
		"visit_monthly 439901106208",
	}, "\n")
	for _, d := range testdb.Backends {
		t.Run(string(d), func(t *testing.T) {
			url := testdb.URL(t, d)
			db, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, k := range importer.Kinds {
				if _, err := importer.ImportFS(context.Background(), db, k, county.Files, string(k)+".csv", importer.Options{Source: "test"}); err != nil {
					t.Fatalf("import %s: %v", k, err)
				}
			}
			code, out, errs := runDucha(t, "--db", url, "rules", "eval", sampleChecklist, "--period", "2018-01-01..2018-06-30", "--json")
			if code != 0 {
				t.Fatalf("eval: code %d\n%s", code, errs)
			}
			var res struct {
				Checked    int `json:"villages_checked"`
				Violations []struct {
					Rule, Village, Message string
					Measured               map[string]any
				}
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var got []string
			for _, v := range res.Violations {
				got = append(got, v.Rule+" "+v.Village)
				if v.Message == "" {
					t.Errorf("%s %s: empty message", v.Rule, v.Village)
				}
			}
			sort.Strings(got)
			if res.Checked != 104 || strings.Join(got, "\n") != want {
				t.Fatalf("checked %d villages, violations:\n%s\nwant:\n%s", res.Checked, strings.Join(got, "\n"), want)
			}
			// One village: the idle one, with its measured value.
			code, out, errs = runDucha(t, "--db", url, "rules", "eval", sampleChecklist, "--period", "2018-01-01..2018-06-30",
				"--scope", "village=439901103206")
			if code != 0 || !strings.Contains(out, "已39天无任何工作记录 (最近一次: 2018-05-22)") || !strings.Contains(out, "检查 1 个村") {
				t.Fatalf("scoped eval: code %d\n%s%s", code, out, errs)
			}
		})
	}
}
