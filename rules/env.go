package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Env is the environment a rule condition is compiled against and runs in:
// one village over one window. It holds plain data and pure functions only.
//
//	village.code, village.name, village.township, village.poverty
//	adviser.code, .name, .kind, .firm, .phone, .qq, .wechat, .email ("" when none)
//	assigned          an adviser is active on the period end
//	events(k...)      number of records of the kinds in the window (all kinds when none given)
//	adviser_events(k...)  number of records of the kinds the village's adviser
//	                  logged in the window in any village (adviser-level duties: training)
//	total(k...)       sum of their counts (人次 for consultations)
//	recovered()       economic loss recovered in the window, in yuan
//	days_since(k...)  days from the newest record of the kinds to the period end
//	                  (0 on the end day; Never = 9999 when none within Lookback days)
//	last(k...)        date of that newest record, or nil
//
// Kinds are string literals by code or Chinese label ("lecture", "法治讲座"),
// checked and normalised to codes when the checklist is compiled.
type Env struct {
	Village  Village                   `expr:"village"`
	Adviser  Adviser                   `expr:"adviser"`
	Assigned bool                      `expr:"assigned"`
	Events   func(kinds ...string) int `expr:"events"`
	Total    func(kinds ...string) int `expr:"total"`
	// AdviserEvents counts the adviser's records in every village.
	AdviserEvents func(kinds ...string) int `expr:"adviser_events"`
	Recovered     func() float64            `expr:"recovered"`
	DaysSince     func(kinds ...string) int `expr:"days_since"`
	Last          func(kinds ...string) any `expr:"last"`
}

// kindFuncs are the env functions whose arguments are kinds.
var kindFuncs = map[string]bool{"events": true, "total": true, "adviser_events": true, "days_since": true, "last": true}

// Limits on hostile expressions: the size of the tree, the VM's memory
// budget (in expr's units: roughly elements allocated) and the source length.
const (
	maxNodes     = 500
	memoryBudget = 100_000
	maxExprLen   = 4000
)

// builtins are the expr builtins a condition may use: pure, bounded ones.
// now() (a clock), repeat() (unbounded strings) and the builtin last (which
// our last(kind) replaces) are left out, as are the JSON/base64 helpers.
var builtins = []string{
	"all", "none", "any", "one", "filter", "map", "count", "sum", "len",
	"abs", "ceil", "floor", "round", "int", "float", "string", "trim",
	"upper", "lower", "hasPrefix", "hasSuffix", "max", "min", "date", "duration",
}

// view is one village seen through one window: it backs Env's functions and
// the message template's.
type view struct {
	f   *Facts
	w   *WindowFacts
	end time.Time
}

func (v view) events(kinds []Kind) int { return sumTallies(&v.w.Kinds, kinds, false) }

func (v view) adviserEvents(kinds []Kind) int { return adviserEvents(v.w, kinds) }

func adviserEvents[S ~string](w *WindowFacts, kinds []S) int {
	if w.Adviser == nil {
		return 0
	}
	return sumTallies(w.Adviser, kinds, false)
}

func (v view) total(kinds []Kind) int { return sumTallies(&v.w.Kinds, kinds, true) }

func (v view) recovered() float64 { return float64(v.w.RecoveredFen) / 100 }

// last is the newest record of the kinds within the lookback, if any.
func (v view) last(kinds []Kind) (time.Time, bool) { return lastOf(v.f, kinds) }

func (v view) daysSince(kinds []Kind) int { return daysSince(v.f, kinds, v.end) }

// sumTallies sums the events (or totals) of the kinds in ts: every kind
// when none is given, a kind listed twice once. Kinds are codes, as
// compiled programs pass them; S lets expr's []string through unconverted.
func sumTallies[S ~string](ts *Tallies, kinds []S, total bool) int {
	n := 0
	pick := func(t Tally) int {
		if total {
			return int(t.Total)
		}
		return int(t.Events)
	}
	if len(kinds) == 0 {
		for _, t := range ts {
			n += pick(t)
		}
		return n
	}
	for j, k := range kinds {
		if i := Kind(k).Index(); i >= 0 && !slices.Contains(kinds[:j], k) {
			n += pick(ts[i])
		}
	}
	return n
}

// lastOf is the newest of f.Last over the kinds (every kind when none).
func lastOf[S ~string](f *Facts, kinds []S) (time.Time, bool) {
	var best time.Time
	if len(kinds) == 0 {
		for _, d := range f.Last {
			if d.After(best) {
				best = d
			}
		}
	}
	for _, k := range kinds {
		if i := Kind(k).Index(); i >= 0 && f.Last[i].After(best) {
			best = f.Last[i]
		}
	}
	return best, !best.IsZero()
}

func daysSince[S ~string](f *Facts, kinds []S, end time.Time) int {
	d, ok := lastOf(f, kinds)
	if !ok {
		return Never
	}
	return int(civil(end).Sub(d).Hours() / 24)
}

// env is an environment whose functions read *v: pointing v at another
// village and calling bind updates it, with no allocation per village.
func (v *view) env() *Env {
	e := &Env{
		Events:        func(k ...string) int { return sumTallies(&v.w.Kinds, k, false) },
		Total:         func(k ...string) int { return sumTallies(&v.w.Kinds, k, true) },
		AdviserEvents: func(k ...string) int { return adviserEvents(v.w, k) },
		Recovered:     func() float64 { return v.recovered() },
		DaysSince:     func(k ...string) int { return daysSince(v.f, k, v.end) },
		Last: func(k ...string) any {
			if d, ok := lastOf(v.f, k); ok {
				return d
			}
			return nil
		},
	}
	v.bind(e)
	return e
}

// bind sets e's plain fields from the village v now points at.
func (v *view) bind(e *Env) {
	e.Village, e.Assigned, e.Adviser = v.f.Village, v.f.Adviser != nil, Adviser{}
	if v.f.Adviser != nil {
		e.Adviser = *v.f.Adviser
	}
}

// measure is one function call of a condition whose value a finding reports.
type measure struct {
	key   string // events("lecture")
	fn    string
	kinds []Kind
}

func (m measure) value(v view) any {
	switch m.fn {
	case "events":
		return v.events(m.kinds)
	case "total":
		return v.total(m.kinds)
	case "adviser_events":
		return v.adviserEvents(m.kinds)
	case "recovered":
		return v.recovered()
	case "days_since":
		return v.daysSince(m.kinds)
	case "last":
		if d, ok := v.last(m.kinds); ok {
			return d.Format(dateLayout)
		}
		return nil
	}
	return nil
}

// kindPatcher checks and normalises the kind arguments of env functions and
// records the calls as measures. It runs once, before type checking.
type kindPatcher struct {
	errs     []*file.Error
	measures []measure
}

func (p *kindPatcher) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || (!kindFuncs[id.Value] && id.Value != "recovered") {
		return
	}
	m := measure{fn: id.Value}
	var args []string
	for _, a := range c.Arguments {
		s, ok := a.(*ast.StringNode)
		if !ok {
			p.errs = append(p.errs, &file.Error{Location: a.Location(),
				Message: fmt.Sprintf("%s 的参数须为工作记录类别的字符串常量, 如 %s(\"lecture\")", id.Value, id.Value)})
			continue
		}
		k, err := ParseKind(s.Value)
		if err != nil {
			p.errs = append(p.errs, &file.Error{Location: a.Location(), Message: err.Error()})
			continue
		}
		s.Value = string(k)
		m.kinds = append(m.kinds, k)
		args = append(args, fmt.Sprintf("%q", k))
	}
	m.key = id.Value + "(" + strings.Join(args, ", ") + ")"
	for _, x := range p.measures {
		if x.key == m.key {
			return
		}
	}
	p.measures = append(p.measures, m)
}

// compileCondition compiles src to a boolean program. Errors are
// *file.Error with Line (1-based) and Column (0-based, in runes) inside src.
func compileCondition(src string) (*vm.Program, []measure, []*file.Error) {
	if n := len([]rune(src)); n > maxExprLen {
		return nil, nil, []*file.Error{{Line: 1, Message: fmt.Sprintf("条件表达式过长 (%d 字符, 最多 %d)", n, maxExprLen)}}
	}
	p := &kindPatcher{}
	opts := []expr.Option{
		expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(maxNodes),
		expr.Timezone("UTC"), expr.DisableAllBuiltins(), expr.Patch(p),
	}
	for _, b := range builtins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, nil, []*file.Error{asFileError(err, src)}
	}
	if len(p.errs) > 0 {
		for _, e := range p.errs {
			e.Bind(file.NewSource(src))
		}
		return nil, nil, p.errs
	}
	return prog, p.measures, nil
}

func asFileError(err error, src string) *file.Error {
	if fe, ok := err.(*file.Error); ok {
		if fe.Line == 0 {
			return fe.Bind(file.NewSource(src))
		}
		return fe
	}
	return &file.Error{Line: 1, Message: err.Error()}
}
