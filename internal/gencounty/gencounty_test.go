package main

import (
	"bytes"
	"encoding/csv"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"ducha/rules"
	"ducha/workflow"
)

// committed is where the generated files are committed.
const committed = "../../testdata/county"

var headers = map[string][]string{
	"villages.csv":    {"code", "name", "township", "poverty"},
	"advisers.csv":    {"code", "name", "kind", "firm", "phone", "qq", "wechat", "email"},
	"assignments.csv": {"adviser", "village", "from", "to"},
	"activities.csv":  {"adviser", "village", "kind", "date", "count", "amount_yuan", "note"},
}

func TestCommittedFilesAreGenerated(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	for name := range headers {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run `go run ./internal/gencounty -o testdata/county`", name)
		}
	}
}

// row is one CSV record by column name.
type row map[string]string

func load(t *testing.T, name string) []row {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(committed, name))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte("\uFEFF")) || !utf8.Valid(data) {
		t.Fatalf("%s: want UTF-8 without BOM", name)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !slices.Equal(recs[0], headers[name]) {
		t.Fatalf("%s: header %v, want %v", name, recs[0], headers[name])
	}
	var rows []row
	for _, rec := range recs[1:] {
		r := make(row)
		for i, h := range recs[0] {
			r[h] = rec[i]
		}
		rows = append(rows, r)
	}
	return rows
}

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatalf("bad date %q", s)
	}
	return d
}

// sample is the committed county, read back from its files.
type sample struct {
	villages    map[string]row // by code
	names       map[string]string
	advisers    map[string]row // by code
	assignments []row
	activities  []row
}

func loadSample(t *testing.T) sample {
	s := sample{villages: map[string]row{}, names: map[string]string{}, advisers: map[string]row{}}
	for _, v := range load(t, "villages.csv") {
		if s.villages[v["code"]] != nil || s.names[v["name"]] != "" {
			t.Errorf("duplicate village %v", v)
		}
		s.villages[v["code"]] = v
		s.names[v["name"]] = v["code"]
	}
	for _, a := range load(t, "advisers.csv") {
		if s.advisers[a["code"]] != nil {
			t.Errorf("duplicate adviser %v", a)
		}
		s.advisers[a["code"]] = a
	}
	s.assignments = load(t, "assignments.csv")
	s.activities = load(t, "activities.csv")
	return s
}

// adviserOn is the active adviser of a village on d.
func (s sample) adviserOn(t *testing.T, village string, d time.Time) string {
	for _, a := range s.assignments {
		if a["village"] == village && !d.Before(date(t, a["from"])) && (a["to"] == "" || !d.After(date(t, a["to"]))) {
			return a["adviser"]
		}
	}
	return ""
}

func TestRoster(t *testing.T) {
	s := loadSample(t)
	townships, poor := map[string]bool{}, 0
	for _, v := range s.villages {
		if !regexp.MustCompile(`^439901[12]\d{5}$`).MatchString(v["code"]) || v["name"] == "" {
			t.Errorf("bad village %v", v)
		}
		townships[v["township"]] = true
		if v["poverty"] == "true" {
			poor++
		} else if v["poverty"] != "false" {
			t.Errorf("bad poverty flag %v", v)
		}
	}
	if len(townships) != 12 || poor != 100 || len(s.villages) != 104 {
		t.Errorf("%d townships, %d poverty villages of %d, want 12, 100 of 104", len(townships), poor, len(s.villages))
	}

	phone := regexp.MustCompile(`^1\d{2}-\d{4}-\d{4}$`)
	var incomplete []string
	for _, a := range s.advisers {
		firm := map[string]string{"lawyer": "律师事务所", "worker": "法律服务所"}[a["kind"]]
		if firm == "" || !regexp.MustCompile(firm+`$`).MatchString(a["firm"]) || a["name"] == "" {
			t.Errorf("bad adviser %v", a)
		}
		if a["phone"] != "" && !phone.MatchString(a["phone"]) ||
			!regexp.MustCompile(`^(\d{6,10})?$`).MatchString(a["qq"]) ||
			!regexp.MustCompile(`^(.+@(qq|163)\.com)?$`).MatchString(a["email"]) {
			t.Errorf("bad service card %v", a)
		}
		card := workflow.ServiceCard{Phone: a["phone"], QQ: a["qq"], WeChat: a["wechat"], Email: a["email"]}
		if !card.Complete() {
			incomplete = append(incomplete, a["name"])
		}
	}
	if want := []string{incompleteCard}; !slices.Equal(incomplete, want) {
		t.Errorf("incomplete service cards %v, want exactly %v", incomplete, want)
	}

	// Assignments: known codes, from 2018-01-01, no overlap and no gap in
	// a village, 1 to 4 villages per adviser.
	served := map[string]map[string]bool{}
	byVillage := map[string][]row{}
	for _, a := range s.assignments {
		if s.advisers[a["adviser"]] == nil || s.villages[a["village"]] == nil {
			t.Errorf("assignment of unknown codes %v", a)
		}
		if a["to"] != "" && date(t, a["to"]).Before(date(t, a["from"])) {
			t.Errorf("assignment ends before it starts %v", a)
		}
		if served[a["adviser"]] == nil {
			served[a["adviser"]] = map[string]bool{}
		}
		served[a["adviser"]][a["village"]] = true
		byVillage[a["village"]] = append(byVillage[a["village"]], a)
	}
	for code, v := range s.villages {
		as := byVillage[code]
		slices.SortFunc(as, func(a, b row) int { return date(t, a["from"]).Compare(date(t, b["from"])) })
		if len(as) == 0 || as[0]["from"] != "2018-01-01" {
			t.Errorf("%s is not assigned from 2018-01-01: %v", v["name"], as)
			continue
		}
		for i := 1; i < len(as); i++ {
			if prev := as[i-1]["to"]; prev == "" || !date(t, prev).AddDate(0, 0, 1).Equal(date(t, as[i]["from"])) {
				t.Errorf("%s: assignments overlap or leave a gap: %v then %v", v["name"], as[i-1], as[i])
			}
		}
		if len(as) > 1 != slices.Contains([]string{handover1, handover2}, v["name"]) {
			t.Errorf("%s has %d assignments", v["name"], len(as))
		}
	}
	for code := range s.advisers {
		if n := len(served[code]); n < 1 || n > 4 {
			t.Errorf("adviser %s serves %d villages, want 1 to 4", code, n)
		}
	}
	var vacant []string
	for code, v := range s.villages {
		if s.adviserOn(t, code, periodTo) == "" {
			vacant = append(vacant, v["name"])
		}
	}
	if want := []string{vacantVillage}; !slices.Equal(vacant, want) {
		t.Errorf("villages without an adviser on 2018-06-30: %v, want %v", vacant, want)
	}
}

func TestActivities(t *testing.T) {
	s := loadSample(t)
	totals := map[rules.Kind]int{}
	var recovered int64
	keys := map[[5]string]bool{}
	trained := map[string]int{}
	festival, weekend := 0, 0
	for i, a := range s.activities {
		line := i + 2
		k := rules.Kind(a["kind"])
		d := date(t, a["date"])
		v := s.villages[a["village"]]
		count, err := strconv.Atoi(a["count"])
		if !k.Valid() || v == nil || err != nil || count < 1 || a["note"] == "" || d.Before(periodFrom) || d.After(periodTo) {
			t.Fatalf("activities.csv:%d: bad record %v", line, a)
		}
		if k != rules.Consultation && count != 1 {
			t.Errorf("activities.csv:%d: count %d, want 1 for %s", line, count, k)
		}
		if got := s.adviserOn(t, a["village"], d); got != a["adviser"] {
			t.Errorf("activities.csv:%d: %s is not the active adviser of %s on %s (%q is)", line, a["adviser"], a["village"], a["date"], got)
		}
		key := [5]string{a["adviser"], a["village"], a["kind"], a["date"], a["note"]}
		if keys[key] {
			t.Errorf("activities.csv:%d: duplicate record %v", line, key)
		}
		keys[key] = true
		if v["poverty"] == "false" && k != rules.Visit && k != rules.LawStudy && k != rules.Training {
			t.Errorf("activities.csv:%d: a %s in a non-poverty village", line, k)
		}
		if a["amount_yuan"] != "" {
			amount, err := strconv.ParseInt(a["amount_yuan"], 10, 64)
			if err != nil || amount <= 0 || (k != rules.Mediation && k != rules.LegalAffairs && k != rules.LegalAid) {
				t.Errorf("activities.csv:%d: bad amount on %v", line, a)
			}
			recovered += amount
		}
		if k == rules.Training {
			if !d.Equal(trainingDay) {
				t.Errorf("activities.csv:%d: training on %s", line, a["date"])
			}
			trained[a["adviser"]]++
		}
		if !d.Before(day(time.February, 15)) && !d.After(day(time.February, 21)) {
			festival++
		}
		if wd := d.Weekday(); (wd == time.Saturday || wd == time.Sunday) && !makeupDays[d] && k != rules.Training {
			weekend++
		}
		totals[k] += count
	}
	for _, f := range []struct {
		kind  rules.Kind
		total int
	}{
		{rules.Lecture, 48}, {rules.DocumentReview, 42}, {rules.Consultation, 650}, {rules.DocumentDrafting, 46},
		{rules.LegalAid, 6}, {rules.Mediation, 39}, {rules.LegalAffairs, 10}, {rules.LegalOpinion, 18},
	} {
		if totals[f.kind] != f.total {
			t.Errorf("%s: total %d, want the seed's %d", f.kind, totals[f.kind], f.total)
		}
	}
	if recovered != 250000 {
		t.Errorf("recovered %d yuan, want 250000", recovered)
	}
	if festival != 2 || weekend > len(s.activities)/20 {
		t.Errorf("%d records in the Spring Festival (want 2), %d of %d at weekends", festival, weekend, len(s.activities))
	}
	var skipped []string
	for code, a := range s.advisers {
		if trained[code] == 0 {
			skipped = append(skipped, a["name"])
		} else if trained[code] > 1 {
			t.Errorf("adviser %s has %d training records", code, trained[code])
		}
	}
	slices.Sort(skipped)
	if want := slices.Sorted(slices.Values(skippedTraining)); !slices.Equal(skipped, want) {
		t.Errorf("advisers without the March training: %v, want %v", skipped, want)
	}
}

// The facts the README promises inspections will find, and nothing more.
var (
	incompleteCard  = "袁桂芳"
	skippedTraining = []string{"陶光荣", "叶红梅", "莫海燕"}
	noVisitIn       = map[string][]time.Month{
		"石板村": {2}, "油坊村": {3}, "高岩村": {3}, "庙前村": {4}, "梅溪村": {5},
		"燕子岩村": {5, 6}, "杉树村": {6}, "冲口村": {6}, "鸡公岭村": {6}, "雷公村": {6},
	}
	noEducationIn  = map[string][]int{"长冲村": {1}, "八角村": {2}, "上寨村": {2}}
	noLawStudyIn   = map[string][]int{"长冲村": {1}, "竹林村": {1}, "八角村": {2}, "上寨村": {2}, "板栗村": {2}, "九龙村": {2}}
	noConsultIn    = map[string][]int{"八角村": {2}, "上寨村": {2}} // poverty villages only
	silentVillages = []string{"高岩村", "鸡公岭村", "雷公村"}           // 30 days or more without any record
	maxOtherGap    = 25                                       // days between records anywhere else
)

func TestUnderServed(t *testing.T) {
	s := loadSample(t)
	kinds := map[string]map[rules.Kind]map[time.Time]bool{} // village name → kind → dates
	for _, a := range s.activities {
		name := s.villages[a["village"]]["name"]
		if kinds[name] == nil {
			kinds[name] = map[rules.Kind]map[time.Time]bool{}
		}
		k := rules.Kind(a["kind"])
		if kinds[name][k] == nil {
			kinds[name][k] = map[time.Time]bool{}
		}
		kinds[name][k][date(t, a["date"])] = true
	}
	has := func(name string, k rules.Kind, from, to time.Time) bool {
		for d := range kinds[name][k] {
			if !d.Before(from) && !d.After(to) {
				return true
			}
		}
		return false
	}
	visits, education, lawStudy, consult := map[string][]time.Month{}, map[string][]int{}, map[string][]int{}, map[string][]int{}
	lectures := [2]int{}
	var silent []string
	for _, v := range s.villages {
		name := v["name"]
		for m := time.January; m <= time.June; m++ {
			if !has(name, rules.Visit, day(m, 1), day(m+1, 0)) {
				visits[name] = append(visits[name], m)
			}
		}
		for q := 1; q <= 2; q++ {
			from, to := quarterSpan(q)
			lecture, study := has(name, rules.Lecture, from, to), has(name, rules.LawStudy, from, to)
			if lecture {
				lectures[q-1]++
			}
			if !lecture && !study {
				education[name] = append(education[name], q)
			}
			if !study {
				lawStudy[name] = append(lawStudy[name], q)
			}
			if v["poverty"] == "true" && !has(name, rules.Consultation, from, to) {
				consult[name] = append(consult[name], q)
			}
		}
		var days []time.Time
		for _, ds := range kinds[name] {
			days = slices.AppendSeq(days, maps.Keys(ds))
		}
		days = append(days, periodFrom, periodTo)
		slices.SortFunc(days, time.Time.Compare)
		gap := 0
		for i := 1; i < len(days); i++ {
			gap = max(gap, int(days[i].Sub(days[i-1]).Hours()/24))
		}
		if gap >= 30 {
			silent = append(silent, name)
		} else if gap > maxOtherGap {
			t.Errorf("%s goes %d days without a record, want at most %d", name, gap, maxOtherGap)
		}
	}
	slices.Sort(silent)
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"months without a visit", visits, noVisitIn},
		{"quarters without a lecture or law study", education, noEducationIn},
		{"quarters without law study", lawStudy, noLawStudyIn},
		{"quarters without a consultation", consult, noConsultIn},
		{"villages with 30 days or more without a record", silent, slices.Sorted(slices.Values(silentVillages))},
		{"villages with a lecture per quarter", lectures, [2]int{20, 28}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s:\n got  %v\n want %v", c.what, c.got, c.want)
		}
	}
}
