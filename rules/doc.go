// Package rules owns the inspection checklist (督查工作清单): its file format,
// strict decoding with FILE:LINE:COL errors, compilation of rule conditions to
// expr programs against a typed environment, and evaluation of compiled rules
// against per-village facts.
//
// It is pure: it imports nothing of ducha's, reads no clock and does no I/O
// beyond the reader it is handed. The activity kinds (Kind) live here because
// they are the vocabulary of the checklist; the rest of ducha uses them.
//
// The flow of one evaluation:
//
//	c, err := rules.Parse(name, src)          // Errors: every problem, FILE:LINE:COL
//	req := c.Request(period, scope)           // the windows, lookback and sums the rules need
//	facts, err := db.Facts(ctx, req)          // store: set-based, one scan of activities
//	violations, err := rules.Evaluate(c, period, facts)
//
// Windows are anchored at the END of the period (see Window): calendar
// windows run from the start of the month/quarter/half-year/year containing
// the end up to the end, not clipped to the period start; "30d" is the 30
// days ending on the end. days_since and last look back Lookback (400) days;
// a kind not seen in that time gives Never (9999) and nil. A village with no
// adviser on the period end yields one AdviserAssignedID violation (顾问未配备)
// and no other. Conditions are expr (see Env); messages are text/template
// (see message.go). TallyFacts is the in-memory reference of what a store's
// Facts must return.
package rules
