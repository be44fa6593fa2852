package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"ducha/notify"
	"ducha/workflow"
)

// Storage for the web application (migration 00006): sessions, API tokens,
// login throttling, evidence files, and the set-based reads of the dashboard
// and the metrics. Session ids and tokens arrive here already hashed.

// CreateSession stores a session of user userID under the hash of its id.
func (db *DB) CreateSession(ctx context.Context, idHash string, userID int64, csrf string, now, expires time.Time) error {
	_, err := db.X.ExecContext(ctx, db.Rebind(`INSERT INTO web_sessions (id_hash, user_id, csrf, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`), idHash, userID, csrf, Instant(now), Instant(expires))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Sessions reads sessions with a statement prepared once: every page
// request looks its session up, so it is one round trip.
type Sessions struct {
	db      *DB
	once    sync.Once
	stmt    *sqlx.Stmt
	prepErr error
}

// Sessions returns the session reader of db.
func (db *DB) Sessions() *Sessions { return &Sessions{db: db} }

// Session returns the user and CSRF token of an unexpired session, or an
// error matching workflow.ErrNotFound.
func (s *Sessions) Session(ctx context.Context, idHash string, now time.Time) (*workflow.User, string, error) {
	si, err := s.Lookup(ctx, idHash, now)
	if err != nil {
		return nil, "", err
	}
	return &si.User, si.CSRF, nil
}

// SessionInfo is an unexpired session as stored.
type SessionInfo struct {
	User    workflow.User
	CSRF    string
	Expires time.Time
}

// Lookup returns an unexpired session, or an error matching
// workflow.ErrNotFound.
func (s *Sessions) Lookup(ctx context.Context, idHash string, now time.Time) (*SessionInfo, error) {
	s.once.Do(func() {
		s.stmt, s.prepErr = s.db.X.PreparexContext(ctx, s.db.Rebind(`SELECT u.id, u.login, u.name, u.role,
			COALESCE(t.name, '') AS township, COALESCE(a.code, '') AS adviser, u.password_hash, s.csrf, s.expires_at
			FROM web_sessions s JOIN users u ON u.id = s.user_id
			LEFT JOIN townships t ON t.id = u.township_id LEFT JOIN advisers a ON a.id = u.adviser_id
			WHERE s.id_hash = ? AND s.expires_at > ?`))
	})
	if s.prepErr != nil {
		return nil, fmt.Errorf("prepare session lookup: %w", s.prepErr)
	}
	var r struct {
		userRow
		CSRF    string  `db:"csrf"`
		Expires Instant `db:"expires_at"`
	}
	err := s.stmt.GetContext(ctx, &r, idHash, Instant(now))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &workflow.NotFoundError{What: "会话"}
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return &SessionInfo{User: r.user(), CSRF: r.CSRF, Expires: r.Expires.T()}, nil
}

// DeleteSession ends a session, and every expired one.
func (db *DB) DeleteSession(ctx context.Context, idHash string, now time.Time) error {
	_, err := db.X.ExecContext(ctx, db.Rebind(`DELETE FROM web_sessions WHERE id_hash = ? OR expires_at <= ?`), idHash, Instant(now))
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// AddAPIToken stores the hash of a new API token of login.
func (db *DB) AddAPIToken(ctx context.Context, login, name, tokenHash string, now time.Time) error {
	u, err := db.UserByLogin(ctx, login)
	if err != nil {
		return err
	}
	if u.ID == 0 {
		return &badUser{fmt.Errorf("用户 %q 不能持有令牌", login)}
	}
	_, err = db.X.ExecContext(ctx, db.Rebind(`INSERT INTO api_tokens (token_hash, user_id, name, created_at)
		VALUES (?, ?, ?, ?)`), tokenHash, u.ID, name, Instant(now))
	if err != nil {
		return fmt.Errorf("add API token: %w", err)
	}
	return nil
}

// UserByToken returns the user of an unrevoked API token, or an error
// matching workflow.ErrNotFound.
func (db *DB) UserByToken(ctx context.Context, tokenHash string) (*workflow.User, error) {
	var r userRow
	err := db.X.GetContext(ctx, &r, db.Rebind(userSelect+` JOIN api_tokens k ON k.user_id = u.id
		WHERE k.token_hash = ? AND k.revoked_at IS NULL`), tokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &workflow.NotFoundError{What: "令牌"}
	}
	if err != nil {
		return nil, fmt.Errorf("read API token: %w", err)
	}
	u := r.user()
	return &u, nil
}

// LoginFailures counts the failed logins of each key since a moment.
func (db *DB) LoginFailures(ctx context.Context, keys []string, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	if len(keys) == 0 {
		return out, nil
	}
	q := `SELECT key, count(*) FROM login_failures WHERE at > ? AND key IN (?` + strings.Repeat(", ?", len(keys)-1) + `) GROUP BY key`
	args := []any{Instant(since)}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("count login failures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// RecordLoginFailure notes a failed login under each key and forgets
// failures older than forgetBefore.
func (db *DB) RecordLoginFailure(ctx context.Context, keys []string, at, forgetBefore time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM login_failures WHERE at <= ?`), Instant(forgetBefore)); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO login_failures (key, at) VALUES (?, ?)`), k, Instant(at)); err != nil {
				return fmt.Errorf("record login failure: %w", err)
			}
		}
		return nil
	})
}

// ClearLoginFailures forgets the failures of a key (after a good login).
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := db.X.ExecContext(ctx, db.Rebind(`DELETE FROM login_failures WHERE key = ?`), key)
	return err
}

// EvidenceFile is one uploaded file attached to a finding.
type EvidenceFile struct {
	ID          int64     `db:"id" json:"id"`
	FindingID   int64     `db:"finding_id" json:"finding_id"`
	SHA256      string    `db:"sha256" json:"sha256"`
	Name        string    `db:"name" json:"name"`
	ContentType string    `db:"content_type" json:"content_type"`
	Size        int64     `db:"size" json:"size"`
	UploadedBy  string    `db:"uploaded_by" json:"uploaded_by"`
	UploadedAt  time.Time `db:"-" json:"uploaded_at"`
}

type evidenceRow struct {
	EvidenceFile
	At Instant `db:"uploaded_at"`
}

// AddEvidence records uploaded files; it sets their ids.
func (db *DB) AddEvidence(ctx context.Context, files []*EvidenceFile) error {
	return db.InTx(ctx, func(tx *Tx) error {
		for _, f := range files {
			err := tx.GetContext(ctx, &f.ID, tx.Rebind(`INSERT INTO evidence_files
				(finding_id, sha256, name, content_type, size, uploaded_by, uploaded_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				f.FindingID, f.SHA256, f.Name, f.ContentType, f.Size, f.UploadedBy, Instant(f.UploadedAt))
			if err != nil {
				return fmt.Errorf("record evidence of finding %d: %w", f.FindingID, err)
			}
		}
		return nil
	})
}

const evidenceCols = `id, finding_id, sha256, name, content_type, size, uploaded_by, uploaded_at`

// EvidenceFiles lists a finding's files, oldest first.
func (db *DB) EvidenceFiles(ctx context.Context, findingID int64) ([]EvidenceFile, error) {
	var rows []evidenceRow
	if err := db.X.SelectContext(ctx, &rows, db.Rebind(`SELECT `+evidenceCols+` FROM evidence_files
		WHERE finding_id = ? ORDER BY id`), findingID); err != nil {
		return nil, fmt.Errorf("list evidence of finding %d: %w", findingID, err)
	}
	out := make([]EvidenceFile, len(rows))
	for i, r := range rows {
		out[i] = r.EvidenceFile
		out[i].UploadedAt = r.At.T().UTC()
	}
	return out, nil
}

// Evidence reads one evidence file's record.
func (db *DB) Evidence(ctx context.Context, id int64) (*EvidenceFile, error) {
	var r evidenceRow
	err := db.X.GetContext(ctx, &r, db.Rebind(`SELECT `+evidenceCols+` FROM evidence_files WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &workflow.NotFoundError{What: fmt.Sprintf("编号为 %d 的证明材料", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read evidence %d: %w", id, err)
	}
	f := r.EvidenceFile
	f.UploadedAt = r.At.T().UTC()
	return &f, nil
}

// DashboardCell is how many open findings of one township are in one state
// with one deadline.
type DashboardCell struct {
	Township string     `db:"township"`
	State    string     `db:"state"`
	Deadline *time.Time `db:"-"`
	N        int        `db:"n"`
}

// DashboardCells counts the open findings by township, state and deadline
// in one GROUP BY (of one township when township is not ""). Deadlines are
// few distinct dates, so the cells are few; the caller colours them.
func (db *DB) DashboardCells(ctx context.Context, township string) ([]DashboardCell, error) {
	q := `SELECT f.township_id, f.state, f.deadline, count(*) AS n FROM findings f
		WHERE f.state NOT IN ('signed_off', 'dismissed')`
	var args []any
	if township != "" {
		q += ` AND f.township_id = (SELECT id FROM townships WHERE name = ?)`
		args = append(args, township)
	}
	q += ` GROUP BY f.township_id, f.state, f.deadline`
	names := map[int64]string{}
	ts, err := db.Townships(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		names[t.ID] = t.Name
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("dashboard counts: %w", err)
	}
	defer rows.Close()
	var out []DashboardCell
	for rows.Next() {
		var (
			c   DashboardCell
			tid int64
			d   Day
		)
		if err := rows.Scan(&tid, &c.State, &d, &c.N); err != nil {
			return nil, fmt.Errorf("dashboard counts: %w", err)
		}
		c.Township, c.Deadline = names[tid], d.Ptr()
		out = append(out, c)
	}
	return out, rows.Err()
}

// WebFindingFilter selects a page of findings for the web. Colour is the
// dashboard light as workflow.Lifecycle.Colour gives it on civil date Today:
// red is overdue, interview, accountability or ordered past the deadline;
// yellow is ordered and due before YellowCut (the first day whose working
// days from Today exceed the policy's yellow window); blue is every other
// open finding.
type WebFindingFilter struct {
	FindingFilter
	Colour    workflow.Colour
	Today     time.Time
	YellowCut time.Time
	Open      bool // only open findings
	Limit     int  // 0: all
	Offset    int
}

// FindingsPage returns the findings matching the filter, newest first, and
// how many match in all.
func (s *Findings) FindingsPage(ctx context.Context, flt WebFindingFilter) ([]*workflow.Finding, int, error) {
	where := " WHERE 1 = 1"
	var args []any
	add := func(cond string, a ...any) {
		where += " AND " + cond
		args = append(args, a...)
	}
	if flt.State != "" {
		add("f.state = ?", string(flt.State))
	}
	if flt.Township != "" {
		add("t.name = ?", flt.Township)
	}
	if flt.Adviser != "" {
		add("a.code = ?", flt.Adviser)
	}
	if flt.Round != 0 {
		add("f.round_id = ?", flt.Round)
	}
	if flt.Open || flt.Colour != "" {
		add("f.state NOT IN ('signed_off', 'dismissed')")
	}
	today, cut := DayOf(flt.Today), DayOf(flt.YellowCut)
	const red = "(f.state IN ('overdue', 'interview', 'accountability') OR (f.state = 'ordered' AND f.deadline < ?))"
	const yellow = "(f.state = 'ordered' AND f.deadline >= ? AND f.deadline < ?)"
	switch flt.Colour {
	case workflow.Red:
		add(red, today)
	case workflow.Yellow:
		add(yellow, today, cut)
	case workflow.Blue:
		add("NOT "+red+" AND NOT "+yellow, today, today, cut)
	}
	var total int
	if err := s.db.X.GetContext(ctx, &total, s.db.Rebind("SELECT count(*)"+findingFrom+where), args...); err != nil {
		return nil, 0, fmt.Errorf("count findings: %w", err)
	}
	q := "SELECT " + findingCols + ", 0 AS adviser_recent" + findingFrom + where + " ORDER BY f.id DESC"
	if flt.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", flt.Limit, max(flt.Offset, 0))
	}
	fs, err := s.selectFindings(ctx, q, args...)
	return fs, total, err
}

// OverdueFindings lists up to limit red findings (overdue, interviewed, held
// accountable, or ordered past the deadline on civil date today), earliest
// deadline first; of one township when township is not "". The condition
// matches the partial index findings_red, which PostgreSQL walks in
// deadline order, stopping at the limit.
func (s *Findings) OverdueFindings(ctx context.Context, township string, today time.Time, limit int) ([]*workflow.Finding, error) {
	q := "SELECT " + findingCols + ", 0 AS adviser_recent" + findingFrom +
		` WHERE f.state IN ('ordered', 'overdue', 'interview', 'accountability') AND (f.state <> 'ordered' OR f.deadline < ?)`
	args := []any{DayOf(today)}
	if township != "" {
		q += " AND t.name = ?"
		args = append(args, township)
	}
	q += fmt.Sprintf(" ORDER BY f.deadline, f.id LIMIT %d", limit)
	return s.selectFindings(ctx, q, args...)
}

// RoundBrief is a line of the latest rounds.
type RoundBrief struct {
	ID          int64     `db:"id" json:"id"`
	Kind        string    `db:"kind" json:"kind"`
	From        time.Time `db:"-" json:"from"`
	To          time.Time `db:"-" json:"to"`
	Scope       string    `db:"scope" json:"scope"`
	OpenedAt    time.Time `db:"-" json:"opened_at"`
	Closed      bool      `db:"-" json:"closed"`
	Villages    int       `db:"villages" json:"villages"`
	NewFindings int       `db:"new_findings" json:"new_findings"`
}

// LatestRounds lists the newest rounds, newest first.
func (db *DB) LatestRounds(ctx context.Context, limit int) ([]RoundBrief, error) {
	var rows []struct {
		RoundBrief
		PFrom    Day     `db:"period_from"`
		PTo      Day     `db:"period_to"`
		OpenedAt Instant `db:"opened_at"`
		ClosedAt Instant `db:"closed_at"`
	}
	if err := db.X.SelectContext(ctx, &rows, fmt.Sprintf(`SELECT id, kind, period_from, period_to, scope, opened_at,
		closed_at, villages, new_findings FROM rounds ORDER BY id DESC LIMIT %d`, limit)); err != nil {
		return nil, fmt.Errorf("latest rounds: %w", err)
	}
	out := make([]RoundBrief, len(rows))
	for i, r := range rows {
		out[i] = r.RoundBrief
		out[i].From, out[i].To = r.PFrom.Time, r.PTo.Time
		out[i].OpenedAt = r.OpenedAt.T().UTC()
		out[i].Closed = !r.ClosedAt.T().IsZero()
	}
	return out, nil
}

// AdviserVillages lists the villages an adviser serves on civil date day.
func (db *DB) AdviserVillages(ctx context.Context, adviser string, day time.Time) ([]workflow.Village, error) {
	var rows []struct {
		ID       int64  `db:"id"`
		Code     string `db:"code"`
		Name     string `db:"name"`
		Township string `db:"township"`
		Poverty  bool   `db:"poverty"`
	}
	err := db.X.SelectContext(ctx, &rows, db.Rebind(`SELECT v.id, v.code, v.name, t.name AS township, v.poverty
		FROM assignments s JOIN advisers a ON a.id = s.adviser_id JOIN villages v ON v.id = s.village_id
		JOIN townships t ON t.id = v.township_id
		WHERE a.code = ? AND s.from_date <= ? AND (s.to_date IS NULL OR s.to_date >= ?) ORDER BY v.code`),
		adviser, DayOf(day), DayOf(day))
	if err != nil {
		return nil, fmt.Errorf("villages of adviser %s: %w", adviser, err)
	}
	out := make([]workflow.Village, len(rows))
	for i, r := range rows {
		out[i] = workflow.Village{ID: r.ID, Code: r.Code, Name: r.Name, Township: r.Township, Poverty: r.Poverty}
	}
	return out, nil
}

// DuplicateActivityError is an activity logged twice (same adviser,
// village, kind, day and note).
type DuplicateActivityError struct{}

func (DuplicateActivityError) Error() string {
	return "该工作记录已登记过 (同一顾问、村、类别、日期和说明)"
}
func (DuplicateActivityError) BadInput() bool { return true }

// AddActivity logs one activity; it sets a.ID.
func (db *DB) AddActivity(ctx context.Context, a *workflow.Activity) error {
	err := db.X.GetContext(ctx, &a.ID, db.Rebind(`INSERT INTO activities (adviser_id, village_id, kind, day, count, amount_fen, note, source)
		SELECT a.id, v.id, ?, ?, ?, ?, ?, ? FROM advisers a, villages v WHERE a.code = ? AND v.code = ? RETURNING id`),
		string(a.Kind), DayOf(a.Date), a.Count, a.AmountFen, a.Note, a.Source, a.Adviser, a.Village)
	switch {
	case IsUniqueViolation(err):
		return DuplicateActivityError{}
	case errors.Is(err, sql.ErrNoRows):
		return &workflow.NotFoundError{What: fmt.Sprintf("顾问 %s 或村 %s", a.Adviser, a.Village)}
	case err != nil:
		return fmt.Errorf("add activity: %w", err)
	}
	return nil
}

// WebMetrics is what /metrics reads from the database at a scrape.
type WebMetrics struct {
	Rounds           int
	FindingsByState  map[string]int
	Transitions      map[string]int // history entries by event
	OutboxByState    map[string]int
	DeliveryFailures map[string]int // delivery attempts by failed outcome (retry, dead)
}

// Metrics reads the figures of /metrics, one grouped query per table.
func (db *DB) Metrics(ctx context.Context) (*WebMetrics, error) {
	m := &WebMetrics{FindingsByState: map[string]int{}, Transitions: map[string]int{},
		OutboxByState: map[string]int{}, DeliveryFailures: map[string]int{}}
	if err := db.X.GetContext(ctx, &m.Rounds, `SELECT count(*) FROM rounds`); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	grouped := []struct {
		q   string
		out map[string]int
	}{
		{`SELECT state, count(*) FROM findings GROUP BY state`, m.FindingsByState},
		{`SELECT event, count(*) FROM finding_history GROUP BY event`, m.Transitions},
		{`SELECT state, count(*) FROM outbox GROUP BY state`, m.OutboxByState},
		{`SELECT outcome, count(*) FROM outbox_attempts WHERE outcome IN ('retry', 'dead') GROUP BY outcome`, m.DeliveryFailures},
	}
	for _, g := range grouped {
		rows, err := db.X.QueryContext(ctx, g.q)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, err
			}
			g.out[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// OutboxLatest lists the newest messages (of one state when state is not
// ""), newest first: the web's delivery log.
func (db *DB) OutboxLatest(ctx context.Context, state notify.State, limit int) ([]notify.Message, error) {
	q := `SELECT ` + outboxCols + ` FROM outbox`
	var args []any
	if state != "" {
		q += ` WHERE state = ?`
		args = append(args, string(state))
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)
	var rows []outboxRow
	if err := db.X.SelectContext(ctx, &rows, db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return messages(rows), nil
}

// OutboxMessage reads one message, or an error matching workflow.ErrNotFound.
func (db *DB) OutboxMessage(ctx context.Context, id int64) (*notify.Message, error) {
	var r outboxRow
	err := db.X.GetContext(ctx, &r, db.Rebind(`SELECT `+outboxCols+` FROM outbox WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &workflow.NotFoundError{What: fmt.Sprintf("编号为 %d 的通知", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read notification %d: %w", id, err)
	}
	m := r.message()
	return &m, nil
}
