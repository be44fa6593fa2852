package rules

import (
	"sort"
	"time"
)

// Village is what a rule may read about a village (village.* in expressions).
type Village struct {
	Code     string `expr:"code" json:"code"`
	Name     string `expr:"name" json:"name"`
	Township string `expr:"township" json:"township"`
	Poverty  bool   `expr:"poverty" json:"poverty"`
}

// Adviser is what a rule may read about a village's adviser (adviser.* in
// expressions): the record and the service card (法律便民服务卡).
type Adviser struct {
	Code   string `expr:"code" json:"code"`
	Name   string `expr:"name" json:"name"`
	Kind   string `expr:"kind" json:"kind"` // lawyer or worker
	Firm   string `expr:"firm" json:"firm"`
	Phone  string `expr:"phone" json:"phone"`
	QQ     string `expr:"qq" json:"qq"`
	WeChat string `expr:"wechat" json:"wechat"`
	Email  string `expr:"email" json:"email"`
}

// Tally is what a window holds of one kind: the number of records and the
// sum of their counts (人次 for consultations).
type Tally struct {
	Events int
	Total  int
}

// WindowFacts are a village's records within one window.
type WindowFacts struct {
	Kinds        map[Kind]Tally
	RecoveredFen int64 // economic loss recovered, in fen, over all kinds
	// Adviser tallies the records of the village's adviser (the one active on
	// the period end) in ANY village, for adviser-level duties such as
	// training; nil when the village has no adviser.
	Adviser map[Kind]Tally
}

// Facts are everything the checklist may ask about one village for one
// period: computed set-based by the store, evaluated here.
type Facts struct {
	Village Village
	Adviser *Adviser // the adviser active on the period end; nil when none
	// Windows parallels FactsRequest.Windows.
	Windows []WindowFacts
	// Last is the date of the newest record of each kind within
	// FactsRequest.LookbackFrom..End (nil map when no lookback was asked).
	Last map[Kind]time.Time
}

// Scope selects villages: every village when both lists are empty, else the
// villages of the listed townships plus the listed village codes.
type Scope struct {
	Townships []string `json:"townships,omitempty"`
	Villages  []string `json:"villages,omitempty"`
}

// All reports whether the scope is every village.
func (s Scope) All() bool { return len(s.Townships) == 0 && len(s.Villages) == 0 }

// Lookback is how far days_since and last look back: the Lookback days
// ending on the period end. A kind not recorded in that time has never
// happened as far as rules are concerned: days_since gives Never, last nil.
const Lookback = 400

// Never is what days_since returns for a kind not recorded within Lookback.
const Never = 9999

// FactsRequest is what the store must compute for one evaluation.
type FactsRequest struct {
	End     time.Time   // the period end; no record after it counts
	Windows []DateRange // the distinct windows the checklist uses, all ending on End
	// LookbackFrom starts the range of Facts.Last; zero when no rule needs it.
	LookbackFrom time.Time
	// Totals and Recovered say whether any rule reads total() or
	// recovered(); when false, Tally.Total and RecoveredFen stay 0 and the
	// store spares the sums.
	Totals, Recovered bool
	Scope             Scope
}

// ScanFrom is the earliest date any fact needs: a store scans records in
// ScanFrom..End once.
func (r FactsRequest) ScanFrom() time.Time {
	from := r.End
	if !r.LookbackFrom.IsZero() {
		from = r.LookbackFrom
	}
	for _, w := range r.Windows {
		if w.From.Before(from) {
			from = w.From
		}
	}
	return from
}

// Record is one activity record as the naive evaluation (Tally) sees it.
type Record struct {
	Adviser   string
	Village   string
	Kind      Kind
	Day       time.Time
	Count     int
	AmountFen int64
}

// TallyFacts computes facts from records in memory, exactly as a store must:
// the reference implementation behind the stores' tests and small callers.
// villages and advisers (keyed by village code; absent = none) give the rest.
func TallyFacts(req FactsRequest, villages []Village, advisers map[string]*Adviser, records []Record) []Facts {
	byCode := make(map[string]int, len(villages))
	served := map[string][]int{} // adviser code -> villages it serves
	out := make([]Facts, len(villages))
	for i, v := range villages {
		byCode[v.Code] = i
		out[i] = Facts{Village: v, Adviser: advisers[v.Code], Windows: make([]WindowFacts, len(req.Windows))}
		for j := range req.Windows {
			out[i].Windows[j].Kinds = map[Kind]Tally{}
			if out[i].Adviser != nil {
				out[i].Windows[j].Adviser = map[Kind]Tally{}
			}
		}
		if a := out[i].Adviser; a != nil {
			served[a.Code] = append(served[a.Code], i)
		}
		if !req.LookbackFrom.IsZero() {
			out[i].Last = map[Kind]time.Time{}
		}
	}
	for _, r := range records {
		if r.Day.After(req.End) {
			continue
		}
		for _, i := range served[r.Adviser] {
			for j, w := range req.Windows {
				if w.Contains(r.Day) {
					t := out[i].Windows[j].Adviser[r.Kind]
					t.Events++
					if req.Totals {
						t.Total += r.Count
					}
					out[i].Windows[j].Adviser[r.Kind] = t
				}
			}
		}
		i, ok := byCode[r.Village]
		if !ok {
			continue
		}
		f := &out[i]
		for j, w := range req.Windows {
			if w.Contains(r.Day) {
				t := f.Windows[j].Kinds[r.Kind]
				t.Events++
				if req.Totals {
					t.Total += r.Count
				}
				f.Windows[j].Kinds[r.Kind] = t
				if req.Recovered {
					f.Windows[j].RecoveredFen += r.AmountFen
				}
			}
		}
		if f.Last != nil && !r.Day.Before(req.LookbackFrom) && r.Day.After(f.Last[r.Kind]) {
			f.Last[r.Kind] = r.Day
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Village.Code < out[b].Village.Code })
	return out
}
