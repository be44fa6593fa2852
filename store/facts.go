package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"ducha/rules"
)

// Facts computes, set-based, what the checklist needs of every village in
// req.Scope: two queries whatever the number of villages, rules and windows.
//
//  1. villages in scope with the adviser whose assignment covers req.End;
//  2. ONE scan of activities in req.ScanFrom()..req.End grouped by village,
//     adviser and kind, with one count/sum(count)/sum(amount_fen) per window
//     through FILTER (WHERE day >= window start) (every window ends on
//     req.End) and max(day) since req.LookbackFrom for days_since/last (the
//     sums only when the checklist reads total() or recovered()). Go
//     folds the rows into per-village tallies and, for adviser_events, into
//     tallies of each serving adviser's records in any village (so a scoped
//     scan also reads the rows of the scope's advisers outside the scope).
//
// The same SQL runs on PostgreSQL and SQLite (FILTER needs SQLite ≥ 3.30).
// Results are ordered by village code.
func (db *DB) Facts(ctx context.Context, req rules.FactsRequest) ([]rules.Facts, error) {
	end := DayOf(req.End)
	scope, scopeArgs, err := scopeClause(req.Scope)
	if err != nil {
		return nil, err
	}

	q := `SELECT v.id, a.id AS aid, v.code, v.name, t.name AS township, v.poverty,
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
	var out []rules.Facts
	byID := map[int64]int{}
	served := map[int64][]int{} // adviser id -> indexes of the villages it serves
	for rows.Next() {
		var (
			id                                         int64
			aid                                        sql.NullInt64
			f                                          rules.Facts
			code, name, kind, firm, phone, qq, wx, eml sql.NullString
		)
		if err := rows.Scan(&id, &aid, &f.Village.Code, &f.Village.Name, &f.Village.Township, &f.Village.Poverty,
			&code, &name, &kind, &firm, &phone, &qq, &wx, &eml); err != nil {
			rows.Close()
			return nil, fmt.Errorf("facts: villages: %w", err)
		}
		if code.Valid {
			f.Adviser = &rules.Adviser{Code: code.String, Name: name.String, Kind: kind.String, Firm: firm.String,
				Phone: phone.String, QQ: qq.String, WeChat: wx.String, Email: eml.String}
		}
		f.Windows = make([]rules.WindowFacts, len(req.Windows))
		for i := range f.Windows {
			// Sized for every kind: growing thousands of maps past their
			// first group cost more than the aggregate's rows.
			f.Windows[i].Kinds = make(map[rules.Kind]rules.Tally, nKinds)
			if f.Adviser != nil {
				f.Windows[i].Adviser = make(map[rules.Kind]rules.Tally, nKinds)
			}
		}
		if aid.Valid {
			served[aid.Int64] = append(served[aid.Int64], len(out))
		}
		if !req.LookbackFrom.IsZero() {
			f.Last = map[rules.Kind]time.Time{}
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

	// One aggregate scan for every window at once; windows starting on the
	// same day (every window ends on req.End) share their columns.
	var cols []string
	var colArgs []any
	col := make([]int, len(req.Windows)) // window -> its column triple
	starts := map[string]int{}
	for i, w := range req.Windows {
		day := w.From.Format(DateLayout)
		if c, ok := starts[day]; ok {
			col[i] = c
			continue
		}
		col[i] = len(starts)
		starts[day] = col[i]
		from := DayOf(w.From)
		cols = append(cols, "count(*) FILTER (WHERE day >= ?)")
		colArgs = append(colArgs, from)
		if req.Totals {
			cols = append(cols, "COALESCE(sum(count) FILTER (WHERE day >= ?), 0)")
			colArgs = append(colArgs, from)
		} else {
			cols = append(cols, "0")
		}
		if req.Recovered {
			cols = append(cols, "COALESCE(sum(amount_fen) FILTER (WHERE day >= ?), 0)")
			colArgs = append(colArgs, from)
		} else {
			cols = append(cols, "0")
		}
	}
	if req.LookbackFrom.IsZero() {
		cols = append(cols, "NULL")
	} else if !req.LookbackFrom.After(req.ScanFrom()) {
		cols = append(cols, "max(day)") // every scanned row is inside the lookback
	} else {
		cols = append(cols, "max(day) FILTER (WHERE day >= ?)")
		colArgs = append(colArgs, DayOf(req.LookbackFrom))
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
	q = `SELECT village_id, adviser_id, kind, ` + strings.Join(cols, ", ") + `
	FROM activities
	WHERE day >= ? AND day <= ?` + actScope + `
	GROUP BY village_id, adviser_id, kind`
	args = append(colArgs, DayOf(req.ScanFrom()), end)
	args = append(args, actArgs...)
	rows, err = db.X.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("facts: activities: %w", err)
	}
	defer rows.Close()
	n := len(req.Windows)
	counts := make([]int64, 3*len(starts))
	dest := make([]any, 0, 3*n+3)
	var vid, aid int64
	var kind string
	var last Day
	dest = append(dest, &vid, &aid, &kind)
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	dest = append(dest, &last)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("facts: activities: %w", err)
		}
		k := rules.Kind(kind)
		for _, i := range served[aid] {
			for w := 0; w < n; w++ {
				if c := 3 * col[w]; counts[c] > 0 {
					t := out[i].Windows[w].Adviser[k]
					t.Events += int(counts[c])
					t.Total += int(counts[c+1])
					out[i].Windows[w].Adviser[k] = t
				}
			}
		}
		i, ok := byID[vid]
		if !ok {
			last = Day{}
			continue // a row of a serving adviser in a village outside the scope
		}
		f := &out[i]
		for w := 0; w < n; w++ {
			if c := 3 * col[w]; counts[c] > 0 {
				t := f.Windows[w].Kinds[k]
				t.Events += int(counts[c])
				t.Total += int(counts[c+1])
				f.Windows[w].Kinds[k] = t
				f.Windows[w].RecoveredFen += counts[c+2]
			}
		}
		if f.Last != nil && !last.IsZero() && last.After(f.Last[k]) {
			f.Last[k] = last.Time
		}
		last = Day{}
	}
	return out, rows.Err()
}

// nKinds is how many activity kinds there are.
var nKinds = len(rules.Kinds())

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
