package rules

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"
)

// Violation is one rule not met by one village: the raw material of a
// finding.
type Violation struct {
	RuleID        string         `json:"rule"`
	Title         string         `json:"title"`
	Severity      Severity       `json:"severity"`
	RectifyWithin Duration       `json:"rectify_within"`
	VillageCode   string         `json:"village"`
	VillageName   string         `json:"village_name"`
	Township      string         `json:"township"`
	AdviserCode   string         `json:"adviser,omitempty"` // "" when none is assigned
	AdviserName   string         `json:"adviser_name,omitempty"`
	Window        DateRange      `json:"window"`
	Measured      map[string]any `json:"measured"`
	Message       string         `json:"message"`
}

// Unassigned is the engine's own rule for villages without an active adviser.
var Unassigned = struct {
	Title         string
	Severity      Severity
	RectifyWithin Duration
}{"顾问未配备", Serious, Duration{N: 10, Workdays: true}}

// Request is what the store must compute to evaluate the checklist for period p.
func (c *Checklist) Request(p Period, scope Scope) FactsRequest {
	req := FactsRequest{End: civil(p.To), Scope: scope}
	all := func(*Rule) bool { return true }
	for _, w := range c.windows() {
		req.Windows = append(req.Windows, w.Range(req.End))
		in := func(r *Rule) bool { return r.Window == w }
		req.Totals = append(req.Totals, c.uses(in, "total"))
		req.Recovered = append(req.Recovered, c.uses(in, "recovered"))
	}
	if c.uses(all, "days_since", "last") {
		req.LookbackFrom = req.End.AddDate(0, 0, 1-Lookback)
	}
	return req
}

// windows lists the distinct windows the rules use, in rule order.
func (c *Checklist) windows() []Window {
	var ws []Window
	seen := map[Window]bool{}
	for _, r := range c.Rules {
		if !seen[r.Window] {
			seen[r.Window] = true
			ws = append(ws, r.Window)
		}
	}
	return ws
}

// uses reports whether any rule selected by which calls one of the
// functions in its condition, or its message may (a template is searched as
// text, erring on the side of yes).
func (c *Checklist) uses(which func(*Rule) bool, fns ...string) bool {
	for _, r := range c.Rules {
		if !which(r) {
			continue
		}
		for _, fn := range fns {
			for _, m := range r.measures {
				if m.fn == fn {
					return true
				}
			}
			if strings.Contains(r.Message, fn) {
				return true
			}
		}
	}
	return false
}

// Evaluate checks every village's facts against the checklist for period p.
// facts must have been computed for c.Request(p, …). A village that no rule
// applies to is skipped; a village with no active adviser yields one
// violation of AdviserAssignedID and no other. A rule whose calendar window
// is not over on the period end is not checked. Violations come in the order
// of facts, then of rules. An error means a condition failed at run time
// (e.g. a hostile expression exceeded its memory budget).
//
// Villages are evaluated in parallel, one chunk per CPU; the result does
// not depend on how many.
func Evaluate(c *Checklist, p Period, facts []Facts) ([]Violation, error) {
	ws := c.windows()
	idx := make(map[Window]int, len(ws))
	for i, w := range ws {
		idx[w] = i
	}
	for i := range facts {
		if len(facts[i].Windows) != len(ws) {
			return nil, fmt.Errorf("rules: facts of village %s have %d windows, the checklist uses %d", facts[i].Village.Code, len(facts[i].Windows), len(ws))
		}
	}
	// Chunks of at least minChunk villages: below that a goroutine costs
	// more than it saves.
	const minChunk = 2000
	workers := min(runtime.GOMAXPROCS(0), (len(facts)+minChunk-1)/minChunk)
	if workers <= 1 {
		return evaluate(c, p, idx, facts)
	}
	outs := make([][]Violation, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	size := (len(facts) + workers - 1) / workers
	for w := range workers {
		chunk := facts[min(w*size, len(facts)):min((w+1)*size, len(facts))]
		wg.Go(func() { outs[w], errs[w] = evaluate(c, p, idx, chunk) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first village's error, as one goroutine would report
		}
	}
	return slices.Concat(outs...), nil
}

// evaluate is Evaluate over one chunk of villages, in one goroutine.
func evaluate(c *Checklist, p Period, idx map[Window]int, facts []Facts) ([]Violation, error) {
	end := civil(p.To)
	machine := &vm.VM{MemoryBudget: memoryBudget}
	var out []Violation
	envs := make([]*Env, len(idx))
	rds := make([]*renderer, len(c.Rules)) // each rule's message renderer, made at its first violation
	views := make([]view, len(idx))        // the village each window's env reads now
	bound := make([]bool, len(idx))
	for fi := range facts {
		f := &facts[fi]
		applies := false
		for _, r := range c.Rules {
			if r.AppliesTo.Match(f.Village) {
				applies = true
				break
			}
		}
		if !applies {
			continue
		}
		if f.Adviser == nil {
			out = append(out, Violation{
				RuleID: AdviserAssignedID, Title: Unassigned.Title, Severity: Unassigned.Severity,
				RectifyWithin: Unassigned.RectifyWithin,
				VillageCode:   f.Village.Code, VillageName: f.Village.Name, Township: f.Village.Township,
				Window:   DateRange{From: end, To: end},
				Measured: map[string]any{"assigned": false},
				Message:  fmt.Sprintf("%s%s截至%s没有在聘的法律顾问", f.Village.Township, f.Village.Name, end.Format(dateLayout)),
			})
			continue
		}
		clear(bound)
		for ri, r := range c.Rules {
			if !r.AppliesTo.Match(f.Village) || !r.Window.Complete(end) {
				continue
			}
			i := idx[r.Window]
			if !bound[i] {
				views[i] = view{f: f, w: &f.Windows[i], end: end}
				if envs[i] == nil {
					envs[i] = views[i].env()
				} else {
					views[i].bind(envs[i])
				}
				bound[i] = true
			}
			res, err := machine.Run(r.program, envs[i])
			if err != nil {
				return nil, fmt.Errorf("规则 %s 对村 %s 求值失败: %w", r.ID, f.Village.Code, err)
			}
			if ok, _ := res.(bool); ok {
				continue
			}
			v := &views[i]
			measured := make(map[string]any, len(r.measures))
			for _, m := range r.measures {
				measured[m.key] = m.value(*v)
			}
			if rds[ri] == nil {
				if rds[ri], err = newRenderer(r.tmpl); err != nil {
					return nil, err
				}
			}
			msg, err := rds[ri].render(r, v, p)
			if err != nil {
				return nil, fmt.Errorf("规则 %s 对村 %s 生成消息失败: %w", r.ID, f.Village.Code, err)
			}
			out = append(out, Violation{
				RuleID: r.ID, Title: r.Title, Severity: r.Severity, RectifyWithin: r.RectifyWithin,
				VillageCode: f.Village.Code, VillageName: f.Village.Name, Township: f.Village.Township,
				AdviserCode: f.Adviser.Code, AdviserName: f.Adviser.Name,
				Window: r.Window.Range(end), Measured: measured, Message: msg,
			})
		}
	}
	return out, nil
}
