package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The sample county's first half of 2018 gives the seed's figures on the
// command line, as JSON, Markdown and HTML; bad input exits 2.
func TestSummaryCommand(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "c.db")
	for _, k := range []string{"villages", "advisers", "assignments", "activities"} {
		if code, _, stderr := runDucha(t, "--db", db, "import", k, filepath.Join("..", "..", "testdata", "county", k+".csv")); code != 0 {
			t.Fatalf("import %s: %s", k, stderr)
		}
	}
	code, out, stderr := runDucha(t, "--db", db, "summary", "--from", "2018-01-01", "--to", "2018-06-30", "--json")
	if code != 0 {
		t.Fatalf("summary --json: %d %s", code, stderr)
	}
	var j struct{ Totals map[string]float64 }
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"lecture": 48, "document_review": 42, "consultation": 650, "document_drafting": 46,
		"legal_aid": 6, "mediation": 39, "legal_affairs": 10, "legal_opinion": 18, "recovered_yuan": 250000}
	for k, v := range want {
		if j.Totals[k] != v {
			t.Errorf("totals.%s = %v, want %v", k, j.Totals[k], v)
		}
	}
	for _, k := range []string{"visit", "training"} {
		if _, ok := j.Totals[k]; !ok {
			t.Errorf("totals.%s missing", k)
		}
	}
	_, md, _ := runDucha(t, "--db", db, "summary", "--from", "2018-01-01", "--to", "2018-06-30")
	if !strings.Contains(md, "截止到2018年6月30日，全县精准脱贫村法律顾问共开设法治讲座教育普法活动48次，帮助修订村规民约、审查合同、协议书、调解书42次，解答法律咨询650人次，代写法律文书46件，申请法律援助6次，参与人民调解39次，协助处理涉法事务10次，出具法律意见书18次，协助挽回经济损失25万元。") {
		t.Errorf("markdown lacks the seed's sentence:\n%.800s", md)
	}
	html := filepath.Join(dir, "s.html")
	if code, out, stderr := runDucha(t, "--db", db, "summary", "--from", "2018-01-01", "--to", "2018-06-30", "--format", "html", "-o", html); code != 0 || !strings.Contains(out, html) {
		t.Fatalf("summary html: %d %s %s", code, out, stderr)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "<svg class=\"chart\"") {
		t.Error("summary HTML has no chart")
	}
	code, out, _ = runDucha(t, "--db", db, "summary", "--from", "2018-01-01", "--to", "2018-06-30", "--drill", "人民调解", "--json")
	var recs []struct{ Count int }
	if err := json.Unmarshal([]byte(out), &recs); code != 0 || err != nil {
		t.Fatalf("drill: %d %v", code, err)
	}
	n := 0
	for _, r := range recs {
		n += r.Count
	}
	if n != 39 {
		t.Errorf("mediation drill sums to %d", n)
	}
	for _, bad := range [][]string{
		{"summary", "--township", "无此乡"}, {"summary", "--from", "2018-02-30"}, {"summary", "--format", "doc"},
		{"summary", "--drill", "跳舞"}, {"summary", "--format", "pdf"}, {"cards", "--township", "无此乡", "-o", filepath.Join(dir, "x.html")},
	} {
		if code, _, stderr := runDucha(t, append([]string{"--db", db}, bad...)...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", bad, code, stderr)
		}
	}
	cards := filepath.Join(dir, "cards.html")
	if code, _, stderr := runDucha(t, "--db", db, "cards", "--on", "2018-03-01", "-o", cards); code != 0 {
		t.Fatalf("cards: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(cards); strings.Count(string(b), `<div class="card">`) < 100 {
		t.Errorf("cards.html has %d cards", strings.Count(string(b), `<div class="card">`))
	}
}
