package bulletin

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultBureau is the bureau named in the red header when none is configured.
const DefaultBureau = "**县司法局"

// Number identifies a bulletin: per year, gap-free from 1 ("2018年第5期").
type Number struct {
	Year int `json:"year"`
	Seq  int `json:"seq"`
}

// String is the number as printed: "2018年第5期".
func (n Number) String() string { return fmt.Sprintf("%d年第%d期", n.Year, n.Seq) }

// ParseNumber accepts "2018年第5期", "2018-5" and "2018/5".
func ParseNumber(s string) (Number, error) {
	m := numberRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Number{}, fmt.Errorf("通报期号 %q 无效 (应为 2018年第5期 或 2018-5)", s)
	}
	y, _ := strconv.Atoi(m[1])
	seq := m[2]
	if seq == "" {
		seq = m[3]
	}
	q, _ := strconv.Atoi(seq)
	if q == 0 {
		return Number{}, fmt.Errorf("通报期号 %q 无效: 期数从 1 开始", s)
	}
	return Number{Year: y, Seq: q}, nil
}

var numberRE = regexp.MustCompile(`^(\d{4})(?:年第(\d{1,6})期|[-/](\d{1,6}))$`)

// Bulletin is one inspection bulletin (督查通报), a frozen snapshot of
// everything it prints. Its JSON form is what gets stored.
type Bulletin struct {
	Number Number    `json:"number"`
	Bureau string    `json:"bureau"` // issuing bureau, printed in the red header
	Date   time.Time `json:"date"`   // civil date of publication
	// Title overrides the generated headline (关于……督查情况的通报).
	Title string `json:"title,omitempty"`

	Round Round `json:"round"`
	// Problems are the findings of this round, one row each.
	Problems []Finding `json:"problems"`
	// Earlier is how findings of earlier rounds stand; nil when not reported.
	Earlier *Earlier `json:"earlier,omitempty"`
	// GoodExamples are praised practices or advisers (典型做法), one paragraph each.
	GoodExamples []string `json:"good_examples,omitempty"`
	// Requirements are what the bureau requires next (下一步工作要求).
	Requirements []string `json:"requirements,omitempty"`
	// Corrects is set on a correction (更正) bulletin.
	Corrects *Correction `json:"corrects,omitempty"`

	// Activity is the activity-per-month chart data (工作记录条数); optional.
	Activity []Bar `json:"activity,omitempty"`
	// States counts all findings by state at publication, for the chart; optional.
	States []StateCount `json:"states,omitempty"`
}

// Round describes the inspection a bulletin reports on.
type Round struct {
	ID         int64     `json:"id,omitempty"`
	Kind       string    `json:"kind"`        // periodic, random, manual
	Opened     time.Time `json:"opened"`      // when the inspection was made
	PeriodFrom time.Time `json:"period_from"` // the period inspected (civil dates)
	PeriodTo   time.Time `json:"period_to"`
	// Method is how it was done, in Chinese, e.g. "查阅工作台账、电话回访村干部".
	Method string `json:"method,omitempty"`
	// Scope is what was inspected, in Chinese, e.g. "全县" or "城关镇、河口乡".
	Scope string `json:"scope"`
	// Sample is how the villages were drawn, in Chinese, including the seed,
	// e.g. "按乡镇分层随机抽取20%的村"; empty for full inspections.
	Sample   string `json:"sample,omitempty"`
	Seed     string `json:"seed,omitempty"`
	Villages int    `json:"villages"` // villages inspected
	Rules    int    `json:"rules"`    // checklist items applied
}

// KindLabel is the round kind in Chinese.
func (r Round) KindLabel() string {
	switch r.Kind {
	case "periodic":
		return "定期督查"
	case "random":
		return "不定期随机抽查"
	case "manual":
		return "专项督查"
	}
	return r.Kind
}

// Finding is one problem as printed in bulletins and ledgers.
type Finding struct {
	ID       int64     `json:"id,omitempty"`
	Township string    `json:"township"`
	Village  string    `json:"village"`
	Adviser  string    `json:"adviser"`
	Rule     string    `json:"rule"`     // rule title (督查事项)
	Severity string    `json:"severity"` // label as printed, e.g. 一般/较重/严重
	Message  string    `json:"message"`
	Found    time.Time `json:"found,omitzero"`    // civil date found
	Deadline time.Time `json:"deadline,omitzero"` // rectification deadline; zero: none
	State    string    `json:"state,omitempty"`   // lifecycle state code
	// History is a one-line summary of the finding's history, for ledgers.
	History string `json:"history,omitempty"`
}

// Earlier is the status of findings from earlier rounds (整改落实情况).
type Earlier struct {
	SignedOff   []Finding `json:"signed_off"`  // 已销号
	Overdue     []Finding `json:"overdue"`     // 逾期未整改
	Interviewed []Finding `json:"interviewed"` // 约谈
	Accountable []Finding `json:"accountable"` // 问责
}

// Correction names the bulletin a 更正 corrects and why.
type Correction struct {
	Number Number `json:"number"`
	Reason string `json:"reason"`
}

// Bar is one bar of a chart.
type Bar struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
}

// StateCount is how many findings are in one lifecycle state.
type StateCount struct {
	State string `json:"state"`
	Label string `json:"label,omitempty"` // Chinese; StateLabel(State) when empty
	N     int    `json:"n"`
}

var stateLabels = map[string]string{
	"discovered": "发现", "ordered": "整改中", "responded": "已反馈", "verified": "已核实",
	"signed_off": "已销号", "overdue": "逾期", "appealed": "申诉中", "interview": "约谈",
	"accountability": "问责", "dismissed": "已撤销",
}

// StateLabel is the Chinese name of a finding state code (DESIGN.md).
func StateLabel(state string) string {
	if l, ok := stateLabels[state]; ok {
		return l
	}
	return state
}

func (s StateCount) label() string {
	if s.Label != "" {
		return s.Label
	}
	return StateLabel(s.State)
}

// Headline is the bulletin's title line.
func (b *Bulletin) Headline() string {
	if b.Title != "" {
		return b.Title
	}
	if b.Corrects != nil {
		return fmt.Sprintf("关于更正%s督查通报的通报", b.Corrects.Number)
	}
	return fmt.Sprintf("关于%s精准脱贫村法律顾问工作%s情况的通报", periodText(b.Round.PeriodFrom, b.Round.PeriodTo), b.Round.KindLabel())
}

// Tally is a count of problems under one heading (a township or a rule).
type Tally struct {
	Name     string `json:"name"`
	Problems int    `json:"problems"`
	Villages int    `json:"villages"` // distinct villages with a problem
	Advisers int    `json:"advisers"` // distinct advisers named
}

// ByTownship counts the problems per township, most first, then by name.
func (b *Bulletin) ByTownship() []Tally {
	return tally(b.Problems, func(f *Finding) string { return f.Township })
}

// ByRule counts the problems per rule, most first, then by title.
func (b *Bulletin) ByRule() []Tally {
	return tally(b.Problems, func(f *Finding) string { return f.Rule })
}

func tally(fs []Finding, key func(*Finding) string) []Tally {
	type acc struct {
		t        Tally
		villages map[string]bool
		advisers map[string]bool
	}
	m := map[string]*acc{}
	for i := range fs {
		f := &fs[i]
		k := key(f)
		a := m[k]
		if a == nil {
			a = &acc{t: Tally{Name: k}, villages: map[string]bool{}, advisers: map[string]bool{}}
			m[k] = a
		}
		a.t.Problems++
		a.villages[f.Township+"/"+f.Village] = true
		a.advisers[f.Adviser] = true
	}
	out := make([]Tally, 0, len(m))
	for _, a := range m {
		a.t.Villages, a.t.Advisers = len(a.villages), len(a.advisers)
		out = append(out, a.t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Problems != out[j].Problems {
			return out[i].Problems > out[j].Problems
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Group is the problems of one township, in print order.
type Group struct {
	Township string
	Problems []Finding
}

// ProblemsByTownship groups the problems by township (townships by name,
// problems by village, rule and adviser), the order the tables print in.
func (b *Bulletin) ProblemsByTownship() []Group {
	ps := append([]Finding(nil), b.Problems...)
	sort.SliceStable(ps, func(i, j int) bool {
		a, c := &ps[i], &ps[j]
		if a.Township != c.Township {
			return a.Township < c.Township
		}
		if a.Village != c.Village {
			return a.Village < c.Village
		}
		if a.Rule != c.Rule {
			return a.Rule < c.Rule
		}
		return a.Adviser < c.Adviser
	})
	var gs []Group
	for _, p := range ps {
		if len(gs) == 0 || gs[len(gs)-1].Township != p.Township {
			gs = append(gs, Group{Township: p.Township})
		}
		g := &gs[len(gs)-1]
		g.Problems = append(g.Problems, p)
	}
	return gs
}

// FindingsChart is the States as bars, with Chinese labels.
func (b *Bulletin) FindingsChart() []Bar { return stateBars(b.States) }

func stateBars(states []StateCount) []Bar {
	bars := make([]Bar, len(states))
	for i, s := range states {
		bars[i] = Bar{Label: s.label(), Value: float64(s.N)}
	}
	return bars
}
