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
// sum of their counts (人次 for consultations); 32 bits each, since no
// village logs anywhere near 2^31 records and a province's facts are then
// half the size.
type Tally struct {
	Events int32
	Total  int32
}

// Tallies holds one Tally per activity kind, indexed by Kind.Index: a
// fixed array, so that the facts of a province are a few flat blocks of
// memory rather than hundreds of thousands of small maps.
type Tallies [NumKinds]Tally

// Add adds t to kind k's tally.
func (ts *Tallies) Add(k int, t Tally) {
	ts[k].Events += t.Events
	ts[k].Total += t.Total
}

// WindowFacts are a village's records within one window.
type WindowFacts struct {
	Kinds        Tallies
	RecoveredFen int64 // economic loss recovered, in fen, over all kinds
	// Adviser tallies the records of the village's adviser (the one active on
	// the period end) in ANY village, for adviser-level duties such as
	// training; nil when the village has no adviser. The villages an adviser
	// serves share one Tallies.
	Adviser *Tallies
}

// Facts are everything the checklist may ask about one village for one
// period: computed set-based by the store, evaluated here.
type Facts struct {
	Village Village
	Adviser *Adviser // the adviser active on the period end; nil when none
	// Windows parallels FactsRequest.Windows.
	Windows []WindowFacts
	// Last is the date of the newest record of each kind (by Kind.Index)
	// within FactsRequest.LookbackFrom..End; zero when none, and always zero
	// when no lookback was asked.
	Last [NumKinds]time.Time
}

// NoteLast records day as a record of kind k: Last keeps the newest.
func (f *Facts) NoteLast(k int, day time.Time) {
	if day.After(f.Last[k]) {
		f.Last[k] = day
	}
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
	// Totals and Recovered say, per window (parallel to Windows), whether a
	// rule of that window reads total() or recovered(); where false,
	// Tally.Total and RecoveredFen stay 0 and the store spares the sums.
	Totals, Recovered []bool
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

// WindowsFrom is the earliest start of the windows (End when there are
// none): the records before it matter only to Facts.Last.
func (r FactsRequest) WindowsFrom() time.Time {
	from := r.End
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
	served := map[string][]*Tallies{} // adviser code -> its tallies, one per window
	out := make([]Facts, len(villages))
	for i, v := range villages {
		byCode[v.Code] = i
		out[i] = Facts{Village: v, Adviser: advisers[v.Code], Windows: make([]WindowFacts, len(req.Windows))}
		if a := out[i].Adviser; a != nil {
			ts, ok := served[a.Code]
			if !ok {
				ts = make([]*Tallies, len(req.Windows))
				for j := range ts {
					ts[j] = new(Tallies)
				}
				served[a.Code] = ts
			}
			for j := range req.Windows {
				out[i].Windows[j].Adviser = ts[j]
			}
		}
	}
	for _, r := range records {
		if r.Day.After(req.End) {
			continue
		}
		k := r.Kind.Index()
		if k < 0 {
			continue // not a kind: no store would hold it
		}
		tally := func(j int) Tally {
			if req.Totals[j] {
				return Tally{Events: 1, Total: int32(r.Count)}
			}
			return Tally{Events: 1}
		}
		for j, w := range req.Windows {
			if ts := served[r.Adviser]; ts != nil && w.Contains(r.Day) {
				ts[j].Add(k, tally(j))
			}
		}
		i, ok := byCode[r.Village]
		if !ok {
			continue
		}
		f := &out[i]
		for j, w := range req.Windows {
			if w.Contains(r.Day) {
				f.Windows[j].Kinds.Add(k, tally(j))
				if req.Recovered[j] {
					f.Windows[j].RecoveredFen += r.AmountFen
				}
			}
		}
		if !req.LookbackFrom.IsZero() && !r.Day.Before(req.LookbackFrom) {
			f.NoteLast(k, r.Day)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Village.Code < out[b].Village.Code })
	return out
}
