package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"ducha/rules"
	"ducha/workflow"
)

// Plain reads of the domain: townships, villages, advisers, assignments and
// activities, returned as workflow types. Writes of whole files go through
// Import (import.go), which validates set-based and reports file rows.

// Counts is how many rows each domain table holds.
type Counts struct {
	Townships, Villages, Advisers, Assignments, Activities int
}

// Counts counts the rows of every domain table in one query.
func (db *DB) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := db.X.QueryRowxContext(ctx, `SELECT
		(SELECT count(*) FROM townships),
		(SELECT count(*) FROM villages),
		(SELECT count(*) FROM advisers),
		(SELECT count(*) FROM assignments),
		(SELECT count(*) FROM activities)`).
		Scan(&c.Townships, &c.Villages, &c.Advisers, &c.Assignments, &c.Activities)
	if err != nil {
		return c, fmt.Errorf("count domain rows: %w", err)
	}
	return c, nil
}

// Townships lists the townships by name.
func (db *DB) Townships(ctx context.Context) ([]workflow.Township, error) {
	var out []workflow.Township
	rows, err := db.X.QueryContext(ctx, `SELECT id, name FROM townships ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list townships: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t workflow.Township
		if err := rows.Scan(&t.ID, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Villages lists the villages by code, with their township's name.
func (db *DB) Villages(ctx context.Context) ([]workflow.Village, error) {
	var out []workflow.Village
	rows, err := db.X.QueryContext(ctx, `SELECT v.id, v.code, v.name, t.name, v.poverty
		FROM villages v JOIN townships t ON t.id = v.township_id ORDER BY v.code`)
	if err != nil {
		return nil, fmt.Errorf("list villages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v workflow.Village
		if err := rows.Scan(&v.ID, &v.Code, &v.Name, &v.Township, &v.Poverty); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Advisers lists the advisers by code, with their service cards.
func (db *DB) Advisers(ctx context.Context) ([]workflow.Adviser, error) {
	var out []workflow.Adviser
	rows, err := db.X.QueryContext(ctx, `SELECT id, code, name, kind, firm, phone, qq, wechat, email
		FROM advisers ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list advisers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a workflow.Adviser
		if err := rows.Scan(&a.ID, &a.Code, &a.Name, &a.Kind, &a.Firm,
			&a.Card.Phone, &a.Card.QQ, &a.Card.WeChat, &a.Card.Email); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const assignmentSelect = `SELECT s.id, a.code, v.code, s.from_date, s.to_date
	FROM assignments s
	JOIN advisers a ON a.id = s.adviser_id
	JOIN villages v ON v.id = s.village_id`

// Assignments lists every assignment, by village code and start date.
func (db *DB) Assignments(ctx context.Context) ([]workflow.Assignment, error) {
	return db.assignments(ctx, assignmentSelect+` ORDER BY v.code, s.from_date`)
}

// ActiveAssignments lists the assignments covering the civil day, by
// village code: at most one per village.
func (db *DB) ActiveAssignments(ctx context.Context, day time.Time) ([]workflow.Assignment, error) {
	return db.assignments(ctx, db.Rebind(assignmentSelect+`
		WHERE s.from_date <= ? AND (s.to_date IS NULL OR s.to_date >= ?)
		ORDER BY v.code`), DayOf(day), DayOf(day))
}

func (db *DB) assignments(ctx context.Context, q string, args ...any) ([]workflow.Assignment, error) {
	rows, err := db.X.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list assignments: %w", err)
	}
	defer rows.Close()
	var out []workflow.Assignment
	for rows.Next() {
		var a workflow.Assignment
		var from, to Day
		if err := rows.Scan(&a.ID, &a.Adviser, &a.Village, &from, &to); err != nil {
			return nil, err
		}
		a.From, a.To = from.Time, to.Ptr()
		out = append(out, a)
	}
	return out, rows.Err()
}

// ActivityFilter selects activities. Zero fields select everything.
type ActivityFilter struct {
	From, To time.Time  // civil dates, inclusive
	Adviser  string     // adviser code
	Village  string     // village code
	Township string     // township name
	Kind     rules.Kind // activity kind
	Limit    int        // at most this many rows (Activities only); 0: all
}

func (f ActivityFilter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if !f.From.IsZero() {
		add("x.day >= ?", DayOf(f.From))
	}
	if !f.To.IsZero() {
		add("x.day <= ?", DayOf(f.To))
	}
	if f.Adviser != "" {
		add("a.code = ?", f.Adviser)
	}
	if f.Village != "" {
		add("v.code = ?", f.Village)
	}
	if f.Township != "" {
		add("t.name = ?", f.Township)
	}
	if f.Kind != "" {
		add("x.kind = ?", string(f.Kind))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const activityFrom = ` FROM activities x
	JOIN advisers a ON a.id = x.adviser_id
	JOIN villages v ON v.id = x.village_id
	JOIN townships t ON t.id = v.township_id`

// Activities lists the activities the filter selects, by day, village and id.
func (db *DB) Activities(ctx context.Context, f ActivityFilter) ([]workflow.Activity, error) {
	where, args := f.where()
	q := `SELECT x.id, a.code, v.code, x.kind, x.day, x.count, x.amount_fen, x.note, x.source` +
		activityFrom + where + ` ORDER BY x.day, v.code, x.id`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list activities: %w", err)
	}
	defer rows.Close()
	var out []workflow.Activity
	for rows.Next() {
		var x workflow.Activity
		var day Day
		if err := rows.Scan(&x.ID, &x.Adviser, &x.Village, &x.Kind, &day, &x.Count,
			&x.AmountFen, &x.Note, &x.Source); err != nil {
			return nil, err
		}
		x.Date = day.Time
		out = append(out, x)
	}
	return out, rows.Err()
}

// CountActivities counts the activity records the filter selects.
func (db *DB) CountActivities(ctx context.Context, f ActivityFilter) (int, error) {
	where, args := f.where()
	var n int
	err := db.X.GetContext(ctx, &n, db.Rebind(`SELECT count(*)`+activityFrom+where), args...)
	if err != nil {
		return 0, fmt.Errorf("count activities: %w", err)
	}
	return n, nil
}

// KindTotal sums the activities of one kind.
type KindTotal struct {
	Kind      rules.Kind
	Records   int   // activity rows
	Count     int   // sum of their counts (people for consultations)
	AmountFen int64 // sum of money recovered, in fen
}

// ActivityTotals sums the selected activities per kind, in display order.
func (db *DB) ActivityTotals(ctx context.Context, f ActivityFilter) ([]KindTotal, error) {
	where, args := f.where()
	rows, err := db.X.QueryContext(ctx, db.Rebind(`SELECT x.kind, count(*), COALESCE(sum(x.count), 0),
		COALESCE(sum(x.amount_fen), 0)`+activityFrom+where+` GROUP BY x.kind`), args...)
	if err != nil {
		return nil, fmt.Errorf("sum activities: %w", err)
	}
	defer rows.Close()
	var out []KindTotal
	for rows.Next() {
		var k KindTotal
		if err := rows.Scan(&k.Kind, &k.Records, &k.Count, &k.AmountFen); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	pos := make(map[rules.Kind]int)
	for i, k := range rules.Kinds() {
		pos[k] = i + 1
	}
	rank := func(k rules.Kind) int {
		if p, ok := pos[k]; ok {
			return p
		}
		return len(pos) + 1 // unknown kinds last, by code
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := rank(out[i].Kind), rank(out[j].Kind)
		return ri < rj || ri == rj && out[i].Kind < out[j].Kind
	})
	return out, nil
}

// ActivityPeriod is the first and last day of the selected activities;
// both zero when there are none.
func (db *DB) ActivityPeriod(ctx context.Context, f ActivityFilter) (first, last time.Time, err error) {
	where, args := f.where()
	var lo, hi Day
	err = db.X.QueryRowxContext(ctx, db.Rebind(`SELECT min(x.day), max(x.day)`+activityFrom+where), args...).Scan(&lo, &hi)
	if err != nil {
		return first, last, fmt.Errorf("activity period: %w", err)
	}
	return lo.Time, hi.Time, nil
}
