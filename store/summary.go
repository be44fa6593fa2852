package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"ducha/bulletin"
	"ducha/rules"
	"ducha/workflow"
)

// Summary computes the work summary's statistics (工作总结) for the civil
// days from..to (inclusive), for one township or, when township is empty,
// the whole county. Every figure comes from a handful of set-based aggregate
// queries over activities, villages, assignments and advisers; the ranking
// uses bulletin.DefaultFormula. The rounds and findings sections are left
// nil: SummaryInspections fills them.
func (db *DB) Summary(ctx context.Context, from, to time.Time, township string) (*bulletin.Summary, error) {
	if err := db.checkTownship(ctx, township); err != nil {
		return nil, err
	}
	s := &bulletin.Summary{Bureau: bulletin.DefaultBureau, From: from, To: to, Township: township,
		Formula: bulletin.DefaultFormula}
	f := ActivityFilter{From: from, To: to, Township: township}
	where, args := f.where()

	// Villages and the advisers assigned to them during the period, per township.
	towns := map[string]*bulletin.Row{}
	var order []string
	town := func(name string) *bulletin.Row {
		r := towns[name]
		if r == nil {
			r = &bulletin.Row{Name: name}
			towns[name] = r
			order = append(order, name)
		}
		return r
	}
	tf, targs := "", []any(nil)
	if township != "" {
		tf, targs = " WHERE t.name = ?", []any{township}
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(`SELECT t.name, count(*) FROM villages v
		JOIN townships t ON t.id = v.township_id`+tf+` GROUP BY t.name`), targs...)
	if err != nil {
		return nil, fmt.Errorf("summary villages: %w", err)
	}
	err = scanAll(rows, func() error {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return err
		}
		town(name).Villages = n
		s.Villages += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = db.X.QueryContext(ctx, db.Rebind(`SELECT t.name, s.adviser_id FROM assignments s
		JOIN villages v ON v.id = s.village_id JOIN townships t ON t.id = v.township_id
		WHERE s.from_date <= ? AND (s.to_date IS NULL OR s.to_date >= ?)`+andTownship(township)+`
		GROUP BY t.name, s.adviser_id`), append([]any{DayOf(to), DayOf(from)}, targs...)...)
	if err != nil {
		return nil, fmt.Errorf("summary advisers: %w", err)
	}
	advisers := map[int64]bool{}
	err = scanAll(rows, func() error {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return err
		}
		town(name).Advisers++
		advisers[id] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Advisers = len(advisers)

	// Totals per township, month and kind in one scan.
	months := map[string]*bulletin.Row{}
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(to); m = m.AddDate(0, 1, 0) {
		k := m.Format("2006-01")
		months[k] = &bulletin.Row{Name: k}
		s.Months = append(s.Months, bulletin.Row{})
	}
	rows, err = db.X.QueryContext(ctx, db.Rebind(`SELECT t.name, `+db.monthOf("x.day")+`, x.kind, count(*),
		COALESCE(sum(x.count), 0), COALESCE(sum(x.amount_fen), 0)`+activityFrom+where+`
		GROUP BY t.name, `+db.monthOf("x.day")+`, x.kind`), args...)
	if err != nil {
		return nil, fmt.Errorf("summary totals: %w", err)
	}
	err = scanAll(rows, func() error {
		var name, month string
		var kind rules.Kind
		var recs, count, fen int64
		if err := rows.Scan(&name, &month, &kind, &recs, &count, &fen); err != nil {
			return err
		}
		s.Records += recs
		s.Totals.Add(kind, count, fen)
		t := town(name)
		t.Records += recs
		t.Totals.Add(kind, count, fen)
		if m := months[month]; m != nil {
			m.Records += recs
			m.Totals.Add(kind, count, fen)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(order)
	for _, name := range order {
		s.Townships = append(s.Townships, *towns[name])
	}
	i := 0
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(to); m = m.AddDate(0, 1, 0) {
		s.Months[i] = *months[m.Format("2006-01")]
		i++
	}

	// Per adviser and kind, for the ranking.
	rows, err = db.X.QueryContext(ctx, db.Rebind(`SELECT a.code, a.name, a.firm, x.kind,
		COALESCE(sum(x.count), 0), COALESCE(sum(x.amount_fen), 0)`+activityFrom+where+`
		GROUP BY a.code, a.name, a.firm, x.kind`), args...)
	if err != nil {
		return nil, fmt.Errorf("summary ranking: %w", err)
	}
	scores := map[string]*bulletin.Score{}
	err = scanAll(rows, func() error {
		var code, name, firm string
		var kind rules.Kind
		var count, fen int64
		if err := rows.Scan(&code, &name, &firm, &kind, &count, &fen); err != nil {
			return err
		}
		sc := scores[code]
		if sc == nil {
			sc = &bulletin.Score{Code: code, Name: name, Firm: firm}
			scores[code] = sc
		}
		sc.Totals.Add(kind, count, fen)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = db.X.QueryContext(ctx, db.Rebind(`SELECT a.code, count(DISTINCT x.village_id)`+activityFrom+where+`
		GROUP BY a.code`), args...)
	if err != nil {
		return nil, fmt.Errorf("summary ranking: %w", err)
	}
	err = scanAll(rows, func() error {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return err
		}
		if sc := scores[code]; sc != nil {
			sc.Villages = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := make([]bulletin.Score, 0, len(scores))
	for _, sc := range scores {
		all = append(all, *sc)
	}
	s.Ranking = bulletin.Rank(all, s.Formula, bulletin.RankingTop)
	return s, nil
}

// SummaryInspections fills the summary's rounds and findings sections: the
// rounds opened during its period (county-wide) and the findings of those
// rounds in its scope, by state.
func (db *DB) SummaryInspections(ctx context.Context, s *bulletin.Summary) error {
	lo := time.Date(s.From.Year(), s.From.Month(), s.From.Day(), 0, 0, 0, 0, workflow.Shanghai)
	hi := time.Date(s.To.Year(), s.To.Month(), s.To.Day(), 0, 0, 0, 0, workflow.Shanghai).AddDate(0, 0, 1)
	period := []any{Instant(lo), Instant(hi)}
	rs := &bulletin.RoundStats{}
	rows, err := db.X.QueryContext(ctx, db.Rebind(`SELECT kind, count(*), COALESCE(sum(villages), 0)
		FROM rounds WHERE opened_at >= ? AND opened_at < ? GROUP BY kind`), period...)
	if err != nil {
		return fmt.Errorf("summary rounds: %w", err)
	}
	err = scanAll(rows, func() error {
		var kind string
		var n, villages int
		if err := rows.Scan(&kind, &n, &villages); err != nil {
			return err
		}
		rs.Total += n
		rs.Villages += villages
		switch kind {
		case "periodic":
			rs.Periodic += n
		case "random":
			rs.Random += n
		case "manual":
			rs.Manual += n
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Rounds = rs

	q := `JOIN rounds r ON r.id = f.round_id WHERE r.opened_at >= ? AND r.opened_at < ?`
	states, err := db.findingStates(ctx, q, s.Township, period...)
	if err != nil {
		return err
	}
	s.Findings = &bulletin.FindingStats{States: states}
	return nil
}

// FindingStates counts every finding (of township, all when empty) by
// state, in lifecycle order: the bulletin's "findings by state" chart.
func (db *DB) FindingStates(ctx context.Context, township string) ([]bulletin.StateCount, error) {
	if err := db.checkTownship(ctx, township); err != nil {
		return nil, err
	}
	return db.findingStates(ctx, "WHERE 1 = 1", township)
}

// findingStates counts findings by state; cond joins and filters f (findings).
func (db *DB) findingStates(ctx context.Context, cond, township string, args ...any) ([]bulletin.StateCount, error) {
	q := `SELECT f.state, count(*) FROM findings f JOIN townships t ON t.id = f.township_id ` + cond
	if township != "" {
		q += ` AND t.name = ?`
		args = append(args, township)
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(q+` GROUP BY f.state`), args...)
	if err != nil {
		return nil, fmt.Errorf("findings by state: %w", err)
	}
	var states []bulletin.StateCount
	err = scanAll(rows, func() error {
		var sc bulletin.StateCount
		if err := rows.Scan(&sc.State, &sc.N); err != nil {
			return err
		}
		sc.Label = bulletin.StateLabel(sc.State)
		states = append(states, sc)
		return nil
	})
	sort.Slice(states, func(i, j int) bool { return stateOrder(states[i].State) < stateOrder(states[j].State) })
	return states, err
}

var lifecycleOrder = []string{"discovered", "ordered", "responded", "verified", "signed_off",
	"overdue", "appealed", "interview", "accountability", "dismissed"}

func stateOrder(s string) int {
	for i, x := range lifecycleOrder {
		if x == s {
			return i
		}
	}
	return len(lifecycleOrder)
}

// Drill lists the activity records behind one summary figure: item is a
// kind code (any name rules.ParseKind accepts) or bulletin.RecoveredYuan for
// the records that recovered money. Records are ordered by day, village, id.
func (db *DB) Drill(ctx context.Context, from, to time.Time, township, item string) ([]bulletin.Record, error) {
	if err := db.checkTownship(ctx, township); err != nil {
		return nil, err
	}
	f := ActivityFilter{From: from, To: to, Township: township}
	extra := ""
	if item == bulletin.RecoveredYuan || item == "挽回经济损失" {
		extra = "x.amount_fen > 0"
	} else {
		k, err := rules.ParseKind(item)
		if err != nil {
			return nil, &DrillError{Item: item, Msg: err.Error()}
		}
		f.Kind = k
	}
	where, args := f.where()
	if extra != "" {
		where += " AND " + extra
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(`SELECT x.id, x.day, t.name, v.name, a.code, a.name, x.kind,
		x.count, x.amount_fen, x.note`+activityFrom+where+` ORDER BY x.day, v.code, x.id`), args...)
	if err != nil {
		return nil, fmt.Errorf("drill %s: %w", item, err)
	}
	var out []bulletin.Record
	err = scanAll(rows, func() error {
		var r bulletin.Record
		var day Day
		if err := rows.Scan(&r.ID, &day, &r.Township, &r.Village, &r.AdviserCode, &r.Adviser, &r.Kind,
			&r.Count, &r.AmountFen, &r.Note); err != nil {
			return err
		}
		r.Date = day.Time
		out = append(out, r)
		return nil
	})
	return out, err
}

// DrillError is an unknown figure to drill into: bad input.
type DrillError struct{ Item, Msg string }

func (e *DrillError) Error() string {
	return fmt.Sprintf("无法展开 %q: %s, 或 %s/挽回经济损失", e.Item, e.Msg, bulletin.RecoveredYuan)
}
func (e *DrillError) BadInput() bool { return true }

func (db *DB) checkTownship(ctx context.Context, township string) error {
	if township == "" {
		return nil
	}
	var n int
	if err := db.X.GetContext(ctx, &n, db.Rebind(`SELECT count(*) FROM townships WHERE name = ?`), township); err != nil {
		return fmt.Errorf("look up township: %w", err)
	}
	if n == 0 {
		return &UnknownTownshipError{Names: []string{township}}
	}
	return nil
}

func andTownship(township string) string {
	if township == "" {
		return ""
	}
	return " AND t.name = ?"
}

// monthOf is the dialect's expression for the 'YYYY-MM' of a date column.
func (db *DB) monthOf(col string) string {
	if db.Dialect == Postgres {
		return "to_char(" + col + ", 'YYYY-MM')"
	}
	return "substr(" + col + ", 1, 7)"
}

// scanAll calls scan for each row, then closes rows and reports any error.
func scanAll(rows interface {
	Next() bool
	Err() error
	Close() error
}, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}
