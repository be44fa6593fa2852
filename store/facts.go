package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"ducha/rules"
)

// Facts computes, set-based, what the checklist needs of every village in
// req.Scope: two or three queries whatever the number of villages, rules
// and windows.
//
//  1. villages in scope with the adviser whose assignment covers req.End;
//  2. ONE scan of activities over the windows (req.WindowsFrom()..req.End):
//     on PostgreSQL the raw records streamed by a binary COPY and counted
//     here (streamActivities), on SQLite an aggregate grouped by village,
//     adviser and kind (groupActivities). Either way each record counts for
//     its village and, for adviser_events, for its adviser when that adviser
//     serves a village in scope (so a scoped scan also reads the rows of the
//     scope's advisers outside the scope), and max(day) feeds days_since/last;
//  3. when the lookback of days_since/last starts before the windows, the
//     newest record per village and kind in the older part of it.
//
// Results are ordered by village code.
func (db *DB) Facts(ctx context.Context, req rules.FactsRequest) ([]rules.Facts, error) {
	end := DayOf(req.End)
	scope, scopeArgs, err := scopeClause(req.Scope)
	if err != nil {
		return nil, err
	}

	q := `SELECT count(*) OVER () AS n, v.id, a.id AS aid, v.code, v.name, t.name AS township, v.poverty,
	       a.code AS acode, a.name AS aname, a.kind, a.firm, a.phone, a.qq, a.wechat, a.email
	FROM villages v
	JOIN townships t ON t.id = v.township_id
	LEFT JOIN assignments s ON s.village_id = v.id AND s.from_date <= ? AND (s.to_date IS NULL OR s.to_date >= ?)
	LEFT JOIN advisers a ON a.id = s.adviser_id
	WHERE ` + scope + `
	ORDER BY v.code`
	args := append([]any{end, end}, scopeArgs...)
	rows, err := db.X.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("facts: villages: %w", err)
	}
	var out []rules.Facts // sized on the first row by its window count: Facts are big, regrowing costs
	var byID map[int64]int
	var windows []rules.WindowFacts
	nw := len(req.Windows)
	served := map[int64][]*rules.Tallies{} // adviser id -> its tallies, one per window
	for rows.Next() {
		var (
			n, id                                      int64
			aid                                        sql.NullInt64
			f                                          rules.Facts
			code, name, kind, firm, phone, qq, wx, eml sql.NullString
		)
		if err := rows.Scan(&n, &id, &aid, &f.Village.Code, &f.Village.Name, &f.Village.Township, &f.Village.Poverty,
			&code, &name, &kind, &firm, &phone, &qq, &wx, &eml); err != nil {
			rows.Close()
			return nil, fmt.Errorf("facts: villages: %w", err)
		}
		if code.Valid {
			f.Adviser = &rules.Adviser{Code: code.String, Name: name.String, Kind: kind.String, Firm: firm.String,
				Phone: phone.String, QQ: qq.String, WeChat: wx.String, Email: eml.String}
		}
		if out == nil {
			out, byID = make([]rules.Facts, 0, n), make(map[int64]int, n)
		}
		if len(windows) < nw { // one block for every village's windows
			windows = make([]rules.WindowFacts, nw*max(int(n)-len(out), 1))
		}
		f.Windows, windows = windows[:nw:nw], windows[nw:]
		if aid.Valid {
			ts, ok := served[aid.Int64]
			if !ok {
				block := make([]rules.Tallies, len(req.Windows))
				ts = make([]*rules.Tallies, len(block))
				for i := range block {
					ts[i] = &block[i]
				}
				served[aid.Int64] = ts
			}
			for i := range f.Windows {
				f.Windows[i].Adviser = ts[i]
			}
		}
		byID[id] = len(out)
		out = append(out, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("facts: villages: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}

	f := &factsFold{req: req, out: out, byID: byID, served: served}
	// The scan covers the windows; when the lookback reaches further back,
	// the newest record of each village and kind before the windows comes
	// from a second, narrower query (lookback below).
	scanFrom := req.ScanFrom()
	if ws := req.WindowsFrom(); !req.LookbackFrom.IsZero() && req.LookbackFrom.Before(ws) {
		scanFrom = ws
	}
	actScope := ""
	var actArgs []any
	if !req.Scope.All() {
		actScope = ` AND (village_id IN (SELECT v.id FROM villages v WHERE ` + scope + `)
	  OR adviser_id IN (SELECT s.adviser_id FROM assignments s JOIN villages v ON v.id = s.village_id
	    WHERE s.from_date <= ? AND (s.to_date IS NULL OR s.to_date >= ?) AND ` + scope + `))`
		actArgs = append(append(actArgs, scopeArgs...), end, end)
		actArgs = append(actArgs, scopeArgs...)
	}
	if scanFrom.After(req.ScanFrom()) {
		if err := db.lookback(ctx, req.LookbackFrom, scanFrom, actScope, actArgs, f); err != nil {
			return nil, err
		}
	}
	if db.Dialect == Postgres {
		err = db.streamActivities(ctx, scanFrom, f)
	} else {
		err = db.groupActivities(ctx, scanFrom, actScope, actArgs, f)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// factsFold accumulates activity records into the facts of the villages in
// scope and the tallies of the advisers serving them.
type factsFold struct {
	req    rules.FactsRequest
	out    []rules.Facts
	byID   map[int64]int              // village id -> index in out
	served map[int64][]*rules.Tallies // adviser id -> its tallies, one per window
}

// foldTarget is where the records of one village and adviser go: the
// village's facts (nil outside the scope) and the adviser's tallies (nil
// unless the adviser serves a village in scope).
type foldTarget struct {
	village *rules.Facts
	adviser []*rules.Tallies
}

func (f *factsFold) target(vid, aid int64) foldTarget {
	to := foldTarget{adviser: f.served[aid]}
	if i, ok := f.byID[vid]; ok {
		to.village = &f.out[i]
	}
	return to
}

// add folds t, records of kind k within window w recovering fen.
func (f *factsFold) add(to foldTarget, k, w int, t rules.Tally, fen int64) {
	if !f.req.Totals[w] {
		t.Total = 0
	}
	if to.adviser != nil {
		to.adviser[w].Add(k, t)
	}
	if to.village != nil {
		to.village.Windows[w].Kinds.Add(k, t)
		if f.req.Recovered[w] {
			to.village.Windows[w].RecoveredFen += fen
		}
	}
}

// noteLast notes day as a record of kind k in the target village, if any.
func (f *factsFold) noteLast(to foldTarget, k int, day time.Time) {
	if to.village != nil && !day.IsZero() {
		to.village.NoteLast(k, day)
	}
}

// groupActivities folds ONE aggregate scan of activities over the windows
// (scanFrom..End), grouped by village, adviser and kind, with one count (and
// the sums a rule of the window reads) per window start, FILTERed to the
// window unless it is the widest, and max(day) for days_since/last. The same
// SQL runs on PostgreSQL and SQLite (FILTER needs SQLite ≥ 3.30).
func (db *DB) groupActivities(ctx context.Context, scanFrom time.Time, actScope string, actArgs []any, f *factsFold) error {
	req := f.req
	// Windows starting on the same day (every window ends on req.End) share
	// their columns; only the sums some rule reads are computed (and sent).
	var cols []string
	var colArgs []any
	type triple struct{ count, total, recovered int } // column indexes into counts; -1: not computed
	col := make([]triple, len(req.Windows))
	type needs struct{ totals, recovered bool }
	need := map[string]needs{} // by start day, over the windows sharing it
	for i, w := range req.Windows {
		day := w.From.Format(DateLayout)
		n := need[day]
		need[day] = needs{n.totals || req.Totals[i], n.recovered || req.Recovered[i]}
	}
	// filtered is a column's aggregate over the rows from day on.
	filtered := func(agg string, from time.Time) string {
		if !from.After(scanFrom) {
			return agg // every scanned row
		}
		colArgs = append(colArgs, DayOf(from))
		return agg + " FILTER (WHERE day >= ?)"
	}
	starts := map[string]triple{}
	for i, w := range req.Windows {
		day := w.From.Format(DateLayout)
		if c, ok := starts[day]; ok {
			col[i] = c
			continue
		}
		c := triple{count: len(cols), total: -1, recovered: -1}
		cols = append(cols, filtered("count(*)", w.From))
		if need[day].totals {
			c.total = len(cols)
			cols = append(cols, "COALESCE("+filtered("sum(count)", w.From)+", 0)")
		}
		if need[day].recovered {
			c.recovered = len(cols)
			cols = append(cols, "COALESCE("+filtered("sum(amount_fen)", w.From)+", 0)")
		}
		col[i], starts[day] = c, c
	}
	counts := make([]int64, len(cols))
	if req.LookbackFrom.IsZero() {
		cols = append(cols, "NULL")
	} else {
		cols = append(cols, filtered("max(day)", req.LookbackFrom))
	}
	q := `SELECT village_id, adviser_id, kind, ` + strings.Join(cols, ", ") + `
	FROM activities
	WHERE day >= ? AND day <= ?` + actScope + `
	GROUP BY village_id, adviser_id, kind`
	args := append(colArgs, DayOf(scanFrom), DayOf(req.End))
	args = append(args, actArgs...)
	rows, err := db.X.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("facts: activities: %w", err)
	}
	defer rows.Close()
	// Numbers are scanned into interfaces and converted here: database/sql
	// assigns an int64 to an *int64 by reflection, which was a fifth of the
	// fold's CPU at half a million rows × eight columns.
	nums := make([]any, 2+len(counts)) // village, adviser, counts…
	dest := make([]any, 0, len(nums)+2)
	var kind sql.RawBytes
	var last Day
	dest = append(dest, &nums[0], &nums[1], &kind)
	for i := range counts {
		dest = append(dest, &nums[2+i])
	}
	dest = append(dest, &last)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("facts: activities: %w", err)
		}
		vid, err := asInt64(nums[0])
		var aid int64
		if err == nil {
			aid, err = asInt64(nums[1])
		}
		for i := 0; err == nil && i < len(counts); i++ {
			counts[i], err = asInt64(nums[2+i])
		}
		if err != nil {
			return fmt.Errorf("facts: activities: %w", err)
		}
		k := rules.KindIndexOf(kind)
		if k < 0 {
			return fmt.Errorf("facts: activities: unknown kind %q", kind)
		}
		to := f.target(vid, aid)
		for w, c := range col {
			if counts[c.count] == 0 {
				continue
			}
			t := rules.Tally{Events: int32(counts[c.count])}
			if c.total >= 0 {
				t.Total = int32(counts[c.total])
			}
			var fen int64
			if c.recovered >= 0 {
				fen = counts[c.recovered]
			}
			f.add(to, k, w, t, fen)
		}
		// A row of a serving adviser in a village outside the scope notes nothing.
		f.noteLast(to, k, last.Time)
		last = Day{}
	}
	return rows.Err()
}

// lookback notes, per village in out and kind, the newest record in
// from..before-1: the part of the lookback older than every window.
func (db *DB) lookback(ctx context.Context, from, before time.Time, actScope string, actArgs []any, f *factsFold) error {
	rows, err := db.X.QueryContext(ctx, db.Rebind(`SELECT village_id, kind, max(day) FROM activities
	WHERE day >= ? AND day < ?`+actScope+`
	GROUP BY village_id, kind`), append([]any{DayOf(from), DayOf(before)}, actArgs...)...)
	if err != nil {
		return fmt.Errorf("facts: lookback: %w", err)
	}
	defer rows.Close()
	var vid int64
	var kind sql.RawBytes
	var last Day
	for rows.Next() {
		if err := rows.Scan(&vid, &kind, &last); err != nil {
			return fmt.Errorf("facts: lookback: %w", err)
		}
		if k := rules.KindIndexOf(kind); k >= 0 {
			f.noteLast(f.target(vid, 0), k, last.Time)
		}
	}
	return rows.Err()
}

// asInt64 converts a scanned integer column: int64 from both drivers, text
// where a driver sends numbers as text.
func asInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("unexpected %T for an integer column", v)
}

// scopeClause is the WHERE condition on villages v selecting the scope.
func scopeClause(s rules.Scope) (string, []any, error) {
	if s.All() {
		return "1 = 1", nil, nil
	}
	var parts []string
	var args []any
	if len(s.Townships) > 0 {
		q, a, err := sqlx.In("v.township_id IN (SELECT id FROM townships WHERE name IN (?))", s.Townships)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, q)
		args = append(args, a...)
	}
	if len(s.Villages) > 0 {
		q, a, err := sqlx.In("v.code IN (?)", s.Villages)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, q)
		args = append(args, a...)
	}
	return "(" + strings.Join(parts, " OR ") + ")", args, nil
}
