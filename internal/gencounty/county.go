package main

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"ducha/rules"
)

// The seed of the county: the same seed gives the same files, byte for byte.
const seed1, seed2 = 20180630, 0x1c1f1a

type village struct {
	code, name, township string
	poverty              bool
}

type adviser struct {
	code, name, kind, firm   string
	phone, qq, wechat, email string
	skipTraining             bool
}

type assignment struct {
	adviser, village string // codes
	from, to         time.Time
	open             bool // no end date
}

func (a assignment) active(d time.Time) bool {
	return !d.Before(a.from) && (a.open || !d.After(a.to))
}

type activity struct {
	adviser, village string // codes
	kind             rules.Kind
	date             time.Time
	count            int
	amountYuan       int64
	note             string
}

type activityKey struct {
	adviser, village string
	kind             rules.Kind
	date             time.Time
	note             string
}

type county struct {
	rng        *rand.Rand
	villages   []*village
	byName     map[string]*village
	advisers   []*adviser
	assigns    []assignment
	activities []activity
	keys       map[activityKey]bool
	names      map[string]bool
	numbers    map[string]bool
}

// generate builds the whole county.
func generate() (*county, error) {
	c := &county{
		rng:     rand.New(rand.NewPCG(seed1, seed2)),
		byName:  make(map[string]*village),
		keys:    make(map[activityKey]bool),
		names:   make(map[string]bool),
		numbers: make(map[string]bool),
	}
	if err := c.roster(); err != nil {
		return nil, err
	}
	if err := c.activityRecords(); err != nil {
		return nil, err
	}
	return c, nil
}

// roster creates the villages, the advisers with their service cards, and the
// assignments. Workers serve two or three villages of their own township;
// lawyers two to four villages, taken in township order.
func (c *county) roster() error {
	for _, t := range townships {
		for i, name := range t.villages {
			v := &village{
				code:     fmt.Sprintf("%s%s%03d", countyCode, t.code, 201+i),
				name:     name,
				township: t.name,
				poverty:  !slices.Contains(nonPoverty, name),
			}
			c.villages = append(c.villages, v)
			c.byName[name] = v
		}
	}
	fixed := []string{lazyVillage1, lazyVillage2, vacantVillage}
	var queue []*village // villages left for the lawyers
	for _, t := range townships {
		var free []*village
		for _, name := range t.villages {
			if !slices.Contains(fixed, name) {
				free = append(free, c.byName[name])
			}
		}
		c.rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
		for range t.workers {
			a := c.newAdviser("worker", t.name+"法律服务所")
			k := 2 + c.rng.IntN(2)
			for _, v := range free[:k] {
				c.assign(a, v, periodFrom, time.Time{})
			}
			free = free[k:]
		}
		queue = append(queue, free...)
	}
	var lawyers []*adviser
	for len(queue) > 0 {
		a := c.newAdviser("lawyer", firms[len(lawyers)%len(firms)])
		lawyers = append(lawyers, a)
		k := min(2+c.rng.IntN(3), len(queue))
		for _, v := range queue[:k] {
			c.assign(a, v, periodFrom, time.Time{})
		}
		queue = queue[k:]
	}
	lazy := c.newAdviser("lawyer", firms[len(lawyers)%len(firms)])
	c.assign(lazy, c.byName[lazyVillage1], periodFrom, time.Time{})
	c.assign(lazy, c.byName[lazyVillage2], periodFrom, time.Time{})
	lazy.skipTraining = true
	leaver := c.newAdviser("lawyer", firms[(len(lawyers)+1)%len(firms)])
	c.assign(leaver, c.byName[vacantVillage], periodFrom, vacantUntil)

	// Handovers: the first goes to the township's worker with the fewest
	// villages, the second to the lawyer with the fewest.
	if err := c.handOver(handover1, handover1Last, c.officeWorkers(c.byName[handover1].township+"法律服务所")); err != nil {
		return err
	}
	if err := c.handOver(handover2, handover2Last, lawyers); err != nil {
		return err
	}

	card := c.officeWorkers(incompleteCardOffice)[0]
	card.qq, card.wechat, card.email = "", "", ""
	c.officeWorkers(skipTrainingOffice)[0].skipTraining = true
	lawyers[skipTrainingLawyer-1].skipTraining = true
	return nil
}

func (c *county) officeWorkers(office string) []*adviser {
	var out []*adviser
	for _, a := range c.advisers {
		if a.firm == office {
			out = append(out, a)
		}
	}
	return out
}

// villagesOf counts the distinct villages an adviser serves in the period.
func (c *county) villagesOf(a *adviser) int {
	seen := make(map[string]bool)
	for _, s := range c.assigns {
		if s.adviser == a.code {
			seen[s.village] = true
		}
	}
	return len(seen)
}

// handOver ends the village's assignment on last and gives the village to
// the candidate with the fewest villages from the next day on.
func (c *county) handOver(name string, last time.Time, candidates []*adviser) error {
	v := c.byName[name]
	i := slices.IndexFunc(c.assigns, func(s assignment) bool { return s.village == v.code })
	old := c.assigns[i].adviser
	var to *adviser
	for _, a := range candidates {
		if a.code != old && c.villagesOf(a) < 4 && (to == nil || c.villagesOf(a) < c.villagesOf(to)) {
			to = a
		}
	}
	if to == nil {
		return fmt.Errorf("no adviser can take over %s", name)
	}
	c.assigns[i].to, c.assigns[i].open = last, false
	c.assign(to, v, last.AddDate(0, 0, 1), time.Time{})
	return nil
}

func (c *county) assign(a *adviser, v *village, from, to time.Time) {
	c.assigns = append(c.assigns, assignment{adviser: a.code, village: v.code, from: from, to: to, open: to.IsZero()})
}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	givenNames = []string{
		"建国", "志强", "海燕", "丽华", "晓明", "红梅", "卫东", "秀英", "国庆", "小平", "永红", "俊杰", "文斌", "雪梅",
		"立新", "德华", "春林", "玉兰", "明辉", "光荣", "少华", "振宇", "晓燕", "桂芳", "亚军", "大勇", "新民", "爱华",
		"思远", "敏", "静", "磊", "勇", "军", "艳", "涛", "斌", "芳", "鹏", "婷", "建军", "利民", "宏伟", "家乐", "梦琪",
	}
	phonePrefixes = []string{"130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158", "159", "177", "180", "182", "186", "187", "188", "189"}
)

// newAdviser creates an adviser with a unique name and a complete service
// card: a phone and some of QQ, WeChat and e-mail.
func (c *county) newAdviser(kind, firm string) *adviser {
	a := &adviser{code: fmt.Sprintf("A%03d", len(c.advisers)+1), kind: kind, firm: firm}
	for a.name == "" || c.names[a.name] {
		a.name = string(surnames[c.rng.IntN(len(surnames))]) + givenNames[c.rng.IntN(len(givenNames))]
	}
	c.names[a.name] = true
	digits := c.unique(func() string {
		return phonePrefixes[c.rng.IntN(len(phonePrefixes))] + fmt.Sprintf("%08d", c.rng.IntN(100_000_000))
	})
	a.phone = digits[:3] + "-" + digits[3:7] + "-" + digits[7:]
	qq := c.unique(func() string { return strconv.Itoa(100_000 + c.rng.IntN(2_999_900_000)) })
	wechat := digits
	if c.rng.IntN(2) == 0 {
		prefix := map[string]string{"lawyer": "yxls", "worker": "yxfw"}[kind]
		wechat = c.unique(func() string { return fmt.Sprintf("%s_%04d", prefix, c.rng.IntN(10000)) })
	}
	mail163 := c.unique(func() string { return fmt.Sprintf("yxfl%05d@163.com", c.rng.IntN(100000)) })
	switch r := c.rng.IntN(20); {
	case r < 6:
		a.qq, a.wechat, a.email = qq, wechat, qq+"@qq.com"
	case r < 10:
		a.qq, a.wechat, a.email = qq, wechat, mail163
	case r < 14:
		a.qq, a.wechat = qq, wechat
	case r < 17:
		a.wechat = wechat
	default:
		a.qq, a.email = qq, qq+"@qq.com"
	}
	c.advisers = append(c.advisers, a)
	return a
}

// unique draws until it gets a string not drawn before.
func (c *county) unique(draw func() string) string {
	for {
		if s := draw(); !c.numbers[s] {
			c.numbers[s] = true
			return s
		}
	}
}

// adviserOn is the code of the village's active adviser on d, or "".
func (c *county) adviserOn(v *village, d time.Time) string {
	for _, s := range c.assigns {
		if s.village == v.code && s.active(d) {
			return s.adviser
		}
	}
	return ""
}

// allowed says whether a record of kind k may be logged in v on d, given
// the village's plan.
func (c *county) allowed(v *village, k rules.Kind, d time.Time) bool {
	if d.Before(periodFrom) || d.After(periodTo) || c.adviserOn(v, d) == "" {
		return false
	}
	if !v.poverty && k != rules.Visit && k != rules.LawStudy && k != rules.Training {
		return false
	}
	s := specials[v.name]
	if !s.silentFrom.IsZero() && !d.Before(s.silentFrom) && !d.After(s.silentTo) {
		return false
	}
	q := quarter(d)
	switch {
	case k == rules.Visit:
		return !slices.Contains(s.noVisit, d.Month())
	case slices.Contains(s.onlyVisits, q):
		return false
	case k == rules.Lecture:
		return !slices.Contains(s.noEducation, q)
	case k == rules.LawStudy:
		return !slices.Contains(s.noEducation, q) && !slices.Contains(s.noLawStudy, q)
	}
	return true
}

// days lists the days in from..to on which v may log kind k: working days,
// or (weekend) ordinary weekend days.
func (c *county) days(v *village, k rules.Kind, from, to time.Time, weekend bool) []time.Time {
	var out []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if weekend == workday(d) || (weekend && holidays[d]) || !c.allowed(v, k, d) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// add logs a record with the village's active adviser unless the same
// record exists already.
func (c *county) add(v *village, k rules.Kind, d time.Time, count int, amount int64, note string) bool {
	key := activityKey{c.adviserOn(v, d), v.code, k, d, note}
	if key.adviser == "" || c.keys[key] {
		return false
	}
	c.keys[key] = true
	c.activities = append(c.activities, activity{key.adviser, v.code, k, d, count, amount, note})
	return true
}

// place logs a record of kind k in v on a random allowed day of from..to
// (consultations and mediations fall on a weekend now and then).
func (c *county) place(v *village, k rules.Kind, from, to time.Time, count int, amount int64, note func() string) bool {
	for range 20 {
		ds := c.days(v, k, from, to, false)
		if k == rules.Consultation || k == rules.Mediation {
			if we := c.days(v, k, from, to, true); len(we) > 0 && c.rng.IntN(10) == 0 {
				ds = we
			}
		}
		if len(ds) == 0 {
			return false
		}
		if c.add(v, k, ds[c.rng.IntN(len(ds))], count, amount, note()) {
			return true
		}
	}
	return false
}

func (c *county) note(k rules.Kind) func() string {
	return func() string { return notes[k][c.rng.IntN(len(notes[k]))] }
}

func (c *county) total(k rules.Kind) int {
	n := 0
	for _, a := range c.activities {
		if a.kind == k {
			n += a.count
		}
	}
	return n
}

func (c *county) poverty() []*village {
	var out []*village
	for _, v := range c.villages {
		if v.poverty {
			out = append(out, v)
		}
	}
	return out
}

func (c *county) shuffled() []*village {
	vs := c.poverty()
	c.rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	return vs
}

// activityRecords logs the half year's work.
func (c *county) activityRecords() error {
	// Visits: every 10 to 16 days, moved to the next working day, so that a
	// village that is not deliberately under-served has a visit every month
	// and never goes 30 days without a record.
	for _, v := range c.villages {
		for d := day(time.January, 2+c.rng.IntN(8)); ; {
			w := nextWorkday(d)
			if !w.Equal(d) { // after a holiday, not everyone comes on its first working day
				for range c.rng.IntN(3) {
					w = nextWorkday(w.AddDate(0, 0, 1))
				}
			}
			if w.After(periodTo) {
				break
			}
			if c.allowed(v, rules.Visit, w) {
				c.add(v, rules.Visit, w, 1, 0, c.note(rules.Visit)())
			}
			d = w.AddDate(0, 0, 10+c.rng.IntN(7))
		}
	}
	// Months without a visit get weekly phone consultations instead.
	for _, v := range c.villages {
		for _, m := range specials[v.name].noVisit {
			for _, d := range []int{4, 11, 18, 25} {
				if w := nextWorkday(day(m, d)); c.allowed(v, rules.Consultation, w) {
					c.add(v, rules.Consultation, w, 1+c.rng.IntN(2), 0, phoneNote)
				}
			}
		}
	}
	// Law study at a village meeting once a quarter, a consultation or a
	// few in every poverty village each quarter.
	for q := 1; q <= 2; q++ {
		from, to := quarterSpan(q)
		for _, v := range c.villages {
			c.place(v, rules.LawStudy, from, to, 1, 0, c.note(rules.LawStudy))
			if v.poverty {
				c.place(v, rules.Consultation, from, to, 1+c.rng.IntN(3), 0, c.note(rules.Consultation))
			}
		}
	}
	// Lectures: first where the law study was skipped, then in random
	// villages, at most one per village and quarter.
	for q := 1; q <= 2; q++ {
		from, to := quarterSpan(q)
		held := make(map[string]bool)
		for _, v := range c.villages {
			if slices.Contains(specials[v.name].noLawStudy, q) {
				if !c.place(v, rules.Lecture, from, to, 1, 0, c.note(rules.Lecture)) {
					return fmt.Errorf("no lecture possible in %s in Q%d", v.name, q)
				}
				held[v.code] = true
			}
		}
		for _, v := range c.shuffled() {
			if len(held) == lecturesPerQuarter[q-1] {
				break
			}
			if !held[v.code] && c.place(v, rules.Lecture, from, to, 1, 0, c.note(rules.Lecture)) {
				held[v.code] = true
			}
		}
		if len(held) != lecturesPerQuarter[q-1] {
			return fmt.Errorf("only %d lectures in Q%d", len(held), q)
		}
	}
	// The two rare records of the Spring Festival holiday.
	for _, r := range springFestival {
		placed := false
		for _, v := range c.shuffled() {
			if _, under := specials[v.name]; !under && c.allowed(v, r.kind, r.date) && c.add(v, r.kind, r.date, r.count, 0, r.note) {
				placed = true
				break
			}
		}
		if !placed {
			return fmt.Errorf("no village for the Spring Festival %s", r.kind)
		}
	}
	// The other kinds of the seed's figures, in random poverty villages;
	// the first few records of the kinds that recover money carry amounts.
	amounts := c.amounts()
	vs := c.poverty()
	for _, f := range figures {
		if f.kind == rules.Consultation {
			continue
		}
		for n := 0; c.total(f.kind) < f.total; n++ {
			if n > 100*f.total {
				return fmt.Errorf("cannot place %d records of %s", f.total, f.kind)
			}
			v := vs[c.rng.IntN(len(vs))]
			note, amount := c.note(f.kind), int64(0)
			if c.withAmount(f.kind) < amountRecords[f.kind] {
				amount = amounts[0]
				note = func() string { return amountNotes[f.kind][c.rng.IntN(len(amountNotes[f.kind]))] }
			}
			if c.place(v, f.kind, periodFrom, periodTo, 1, amount, note) && amount > 0 {
				amounts = amounts[1:]
			}
		}
	}
	// The remaining consultations, 1 to 8 people each.
	for n := 0; c.total(rules.Consultation) < figureOf(rules.Consultation); n++ {
		if n > 10000 {
			return fmt.Errorf("cannot place the consultations")
		}
		count := min(1+c.rng.IntN(8), figureOf(rules.Consultation)-c.total(rules.Consultation))
		c.place(vs[c.rng.IntN(len(vs))], rules.Consultation, periodFrom, periodTo, count, 0, c.note(rules.Consultation))
	}
	if got := c.total(rules.Consultation); got != figureOf(rules.Consultation) {
		return fmt.Errorf("%d consultations, want %d", got, figureOf(rules.Consultation))
	}
	// The March training, logged once per adviser under the first village
	// the adviser serves on that day.
	for _, a := range c.advisers {
		if a.skipTraining {
			continue
		}
		placed := false
		for _, v := range c.villages {
			if c.adviserOn(v, trainingDay) == a.code && c.allowed(v, rules.Training, trainingDay) {
				placed = c.add(v, rules.Training, trainingDay, 1, 0, trainingNote)
				break
			}
		}
		if !placed {
			return fmt.Errorf("no village to log the training of %s", a.code)
		}
	}
	slices.SortFunc(c.activities, func(a, b activity) int {
		return cmp.Or(a.date.Compare(b.date), cmp.Compare(a.village, b.village), cmp.Compare(a.adviser, b.adviser),
			cmp.Compare(a.kind, b.kind), cmp.Compare(a.note, b.note))
	})
	return nil
}

func figureOf(k rules.Kind) int {
	for _, f := range figures {
		if f.kind == k {
			return f.total
		}
	}
	return 0
}

func (c *county) withAmount(k rules.Kind) int {
	n := 0
	for _, a := range c.activities {
		if a.kind == k && a.amountYuan > 0 {
			n++
		}
	}
	return n
}

// amounts draws the recovered amounts: multiples of 100 yuan between 3,000
// and 60,000 that add up to exactly recoveredYuan.
func (c *county) amounts() []int64 {
	n := 0
	for _, k := range []rules.Kind{rules.Mediation, rules.LegalAffairs, rules.LegalAid} {
		n += amountRecords[k]
	}
	for {
		out := make([]int64, n)
		rest := int64(recoveredYuan)
		for i := range n - 1 {
			out[i] = int64(30+c.rng.IntN(271)) * 100
			rest -= out[i]
		}
		if rest >= 3000 && rest <= 60000 {
			out[n-1] = rest
			c.rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
			return out
		}
	}
}

// write generates the county and writes its CSV files into dir.
func write(dir string) error {
	c, err := generate()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name   string
		header []string
		rows   [][]string
	}{
		{"villages.csv", []string{"code", "name", "township", "poverty"}, c.villageRows()},
		{"advisers.csv", []string{"code", "name", "kind", "firm", "phone", "qq", "wechat", "email"}, c.adviserRows()},
		{"assignments.csv", []string{"adviser", "village", "from", "to"}, c.assignmentRows()},
		{"activities.csv", []string{"adviser", "village", "kind", "date", "count", "amount_yuan", "note"}, c.activityRows()},
	}
	for _, f := range files {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(f.header)
		w.WriteAll(f.rows)
		if err := w.Error(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

const dateLayout = "2006-01-02"

func (c *county) villageRows() [][]string {
	var rows [][]string
	for _, v := range c.villages {
		rows = append(rows, []string{v.code, v.name, v.township, strconv.FormatBool(v.poverty)})
	}
	return rows
}

func (c *county) adviserRows() [][]string {
	var rows [][]string
	for _, a := range c.advisers {
		rows = append(rows, []string{a.code, a.name, a.kind, a.firm, a.phone, a.qq, a.wechat, a.email})
	}
	return rows
}

func (c *county) assignmentRows() [][]string {
	as := slices.Clone(c.assigns)
	slices.SortStableFunc(as, func(a, b assignment) int {
		return cmp.Or(cmp.Compare(a.village, b.village), a.from.Compare(b.from))
	})
	var rows [][]string
	for _, a := range as {
		to := ""
		if !a.open {
			to = a.to.Format(dateLayout)
		}
		rows = append(rows, []string{a.adviser, a.village, a.from.Format(dateLayout), to})
	}
	return rows
}

func (c *county) activityRows() [][]string {
	var rows [][]string
	for _, a := range c.activities {
		amount := ""
		if a.amountYuan > 0 {
			amount = strconv.FormatInt(a.amountYuan, 10)
		}
		rows = append(rows, []string{a.adviser, a.village, string(a.kind), a.date.Format(dateLayout), strconv.Itoa(a.count), amount, a.note})
	}
	return rows
}
