package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"ducha/notify"
	"ducha/rules"
	"ducha/workflow"
)

// Rounds implements workflow.RoundStore.
type Rounds struct{ db *DB }

// Rounds returns the rounds' storage.
func (db *DB) Rounds() *Rounds { return &Rounds{db} }

var _ workflow.RoundStore = (*Rounds)(nil)

// UnknownTownshipError names townships that do not exist.
type UnknownTownshipError struct{ Names []string }

func (e *UnknownTownshipError) Error() string {
	return fmt.Sprintf("未知的乡镇: %s", strings.Join(e.Names, "、"))
}
func (e *UnknownTownshipError) BadInput() bool { return true }

// Roster is the villages of the townships (all when none), sorted by code.
func (s *Rounds) Roster(ctx context.Context, townships []string) ([]workflow.RosterEntry, error) {
	want := map[string]bool{}
	for _, t := range townships {
		want[t] = true
	}
	// Scanned by hand: tens of thousands of rows, which sqlx's reflection
	// scanned at several times the cost.
	seen := map[string]bool{}
	var out []workflow.RosterEntry
	if err := scanRows(ctx, s.db.X, `SELECT v.code, t.name
		FROM villages v JOIN townships t ON t.id = v.township_id ORDER BY v.code`, func(rows *sql.Rows) error {
		var e workflow.RosterEntry
		if err := rows.Scan(&e.Village, &e.Township); err != nil {
			return err
		}
		seen[e.Township] = true
		if len(want) == 0 || want[e.Township] {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	var unknown []string
	for _, t := range townships {
		if !seen[t] {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownTownshipError{unknown}
	}
	return out, nil
}

// SampledSince is the set of villages drawn by random rounds opened at or after since.
func (s *Rounds) SampledSince(ctx context.Context, since time.Time) (map[string]bool, error) {
	var codes []string
	err := s.db.X.SelectContext(ctx, &codes, s.db.Rebind(`SELECT DISTINCT v.code FROM round_villages rv
		JOIN rounds r ON r.id = rv.round_id JOIN villages v ON v.id = rv.village_id
		WHERE r.kind = 'random' AND r.opened_at >= ?`), Instant(since))
	if err != nil {
		return nil, fmt.Errorf("recently inspected villages: %w", err)
	}
	out := make(map[string]bool, len(codes))
	for _, c := range codes {
		out[c] = true
	}
	return out, nil
}

// Facts computes the checklist's facts (see DB.Facts).
func (s *Rounds) Facts(ctx context.Context, req rules.FactsRequest) ([]rules.Facts, error) {
	return s.db.Facts(ctx, req)
}

// InRoundTx runs fn in one transaction.
func (s *Rounds) InRoundTx(ctx context.Context, fn func(workflow.RoundTx) error) error {
	return s.db.InTx(ctx, func(tx *Tx) error { return fn(roundTx{tx}) })
}

type roundTx struct{ tx *Tx }

func (r roundTx) InsertRound(ctx context.Context, rd *workflow.Round, villages []string) error {
	tx := r.tx
	var draw, rulesJSON []byte
	var err error
	if rd.Draw != nil {
		if draw, err = json.Marshal(rd.Draw); err != nil {
			return err
		}
	}
	if rulesJSON, err = json.Marshal(rd.Rules); err != nil {
		return err
	}
	var fireAt any
	if rd.FireAt != nil {
		fireAt = Instant(*rd.FireAt)
	}
	err = tx.GetContext(ctx, &rd.ID, tx.Rebind(`INSERT INTO rounds (kind, period_from, period_to, opened_at, opened_by,
		rules_name, rules_checksum, scope, schedule, fire_at, draw, rules_json, villages, new_findings, repeat_findings)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		rd.Kind, DayOf(rd.From), DayOf(rd.To), Instant(rd.OpenedAt), rd.OpenedBy, rd.RulesName, rd.RulesChecksum,
		rd.Scope, rd.Schedule, fireAt, string(draw), string(rulesJSON), rd.Villages, rd.NewFindings, rd.RepeatFindings)
	if err != nil {
		return fmt.Errorf("insert round: %w", err)
	}
	if tx.Dialect == Postgres {
		return insertRoundVillages(ctx, tx, rd.ID, villages)
	}
	var ids []struct {
		ID   int64  `db:"id"`
		Code string `db:"code"`
	}
	if err := tx.SelectContext(ctx, &ids, `SELECT id, code FROM villages`); err != nil {
		return err
	}
	idOf := make(map[string]int64, len(ids))
	for _, v := range ids {
		idOf[v.Code] = v.ID
	}
	rows := make([][]any, 0, len(villages))
	for _, code := range villages {
		id, ok := idOf[code]
		if !ok {
			return fmt.Errorf("insert round: 未知的村编号 %q", code)
		}
		rows = append(rows, []any{rd.ID, id})
	}
	return insertRows(ctx, tx, `INSERT INTO round_villages (round_id, village_id) VALUES `, "(?, ?)", 2, rows)
}

// insertRoundVillages records the villages a round inspected on PostgreSQL
// with one statement that looks their ids up itself: reading every
// village's id and copying tens of thousands of rows back cost more.
func insertRoundVillages(ctx context.Context, tx *Tx, roundID int64, villages []string) error {
	if len(villages) == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO round_villages (round_id, village_id)
		SELECT $1, v.id FROM unnest($2::text[]) AS c (code) JOIN villages v ON v.code = c.code`, roundID, textArray(villages))
	if err != nil {
		return fmt.Errorf("insert round villages: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == int64(len(villages)) {
		return err
	}
	var known []string
	if err := tx.SelectContext(ctx, &known, `SELECT code FROM villages WHERE code = ANY($1::text[])`, textArray(villages)); err != nil {
		return err
	}
	in := make(map[string]bool, len(known))
	for _, c := range known {
		in[c] = true
	}
	for _, code := range villages {
		if !in[code] {
			return fmt.Errorf("insert round: 未知的村编号 %q", code)
		}
	}
	return fmt.Errorf("insert round: %d villages, %d recorded", len(villages), len(known))
}

func (r roundTx) ClaimFire(ctx context.Context, schedule string, at time.Time, roundID int64, now time.Time) error {
	return ClaimFire(ctx, r.tx, schedule, at, roundID, now)
}

func (r roundTx) OpenFindings(ctx context.Context, villages []string) ([]*workflow.Finding, error) {
	in := make(map[string]bool, len(villages))
	for _, v := range villages {
		in[v] = true
	}
	rows, err := r.tx.QueryxContext(ctx, "SELECT "+findingCols+", 0 AS adviser_recent"+findingFrom+
		" WHERE f.state NOT IN ('signed_off', 'dismissed') ORDER BY f.id")
	if err != nil {
		return nil, fmt.Errorf("open findings: %w", err)
	}
	defer rows.Close()
	var out []*workflow.Finding
	for rows.Next() {
		var fr findingRow
		if err := rows.StructScan(&fr); err != nil {
			return nil, fmt.Errorf("open findings: %w", err)
		}
		if in[fr.Village] {
			out = append(out, fr.finding())
		}
	}
	return out, rows.Err()
}

func (r roundTx) InsertFindings(ctx context.Context, fs []*workflow.Finding, at time.Time,
	then func(*workflow.Finding) (*workflow.Transition, error)) error {
	return InsertFindingsThen(ctx, r.tx, fs, at, then)
}

func (r roundTx) LinkFindings(ctx context.Context, roundID int64, fresh, repeats []int64) error {
	rows := make([][]any, 0, len(fresh)+len(repeats))
	for _, id := range fresh {
		rows = append(rows, []any{roundID, id, false})
	}
	for _, id := range repeats {
		rows = append(rows, []any{roundID, id, true})
	}
	return insertRows(ctx, r.tx, `INSERT INTO round_findings (round_id, finding_id, repeat) VALUES `, "(?, ?, ?)", 3, rows)
}

// RoundProblems are the findings a round found, new and repeated, by id.
func (s *Rounds) RoundProblems(ctx context.Context, id int64) ([]*workflow.Finding, error) {
	return NewFindings(s.db).selectFindings(ctx, "SELECT "+findingCols+", 0 AS adviser_recent"+findingFrom+
		" JOIN round_findings rf ON rf.finding_id = f.id WHERE rf.round_id = ? ORDER BY t.name, v.code, f.rule_id", id)
}

// EarlierFindings are the findings first found by rounds before id.
func (s *Rounds) EarlierFindings(ctx context.Context, id int64) ([]*workflow.Finding, error) {
	return NewFindings(s.db).selectFindings(ctx, "SELECT "+findingCols+", 0 AS adviser_recent"+findingFrom+
		" WHERE f.round_id < ? ORDER BY f.id", id)
}

func (r roundTx) Transitions(ctx context.Context, ts []*workflow.Transition) error {
	return TransitionsTx(ctx, r.tx, ts)
}

func (r roundTx) Enqueue(ctx context.Context, msgs []notify.Message) error {
	return EnqueueTx(ctx, r.tx, msgs)
}

func (r roundTx) Directory(ctx context.Context) (notify.Directory, error) {
	return readRoundDirectory(ctx, directory{r.tx.Tx})
}

// roundDirectory is the directory of a round's transaction, read whole in
// three queries when the round asks for it: a round notifies thousands of
// advisers (a query each cost most of opening a large round), and it renders
// their messages while the transaction writes its findings, so the
// directory must not use the transaction afterwards. Read-only, so safe for
// concurrent use.
type roundDirectory struct {
	advisers    map[string]notify.Person
	officers    map[string][]notify.Person // by township
	supervisors []notify.Person
}

func readRoundDirectory(ctx context.Context, d directory) (*roundDirectory, error) {
	rd := &roundDirectory{advisers: map[string]notify.Person{}, officers: map[string][]notify.Person{}}
	rows, err := d.q.QueryxContext(ctx, `SELECT a.code, a.name, a.email, u.login, u.email
		FROM advisers a LEFT JOIN users u ON u.adviser_id = a.id AND u.role = 'adviser'
		ORDER BY a.code, u.id`)
	if err != nil {
		return nil, fmt.Errorf("read advisers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, name, email string
		var login, userEmail sql.NullString
		if err := rows.Scan(&code, &name, &email, &login, &userEmail); err != nil {
			return nil, fmt.Errorf("read advisers: %w", err)
		}
		if _, seen := rd.advisers[code]; !seen { // the adviser's first user, as directory.Adviser
			rd.advisers[code] = adviserPerson(code, name, email, login, userEmail)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read advisers: %w", err)
	}
	officers, townships, err := d.people(ctx, officersSelect+` ORDER BY t.name, u.login`)
	if err != nil {
		return nil, fmt.Errorf("read officers: %w", err)
	}
	for i, p := range officers {
		rd.officers[townships[i]] = append(rd.officers[townships[i]], p)
	}
	if rd.supervisors, err = d.Supervisors(ctx); err != nil {
		return nil, fmt.Errorf("read supervisors: %w", err)
	}
	return rd, nil
}

func (d *roundDirectory) Adviser(_ context.Context, code string) (notify.Person, error) {
	if p, ok := d.advisers[code]; ok {
		return p, nil
	}
	return notify.Person{}, noAdviser(code)
}

func (d *roundDirectory) Officers(_ context.Context, township string) ([]notify.Person, error) {
	return d.officers[township], nil
}

func (d *roundDirectory) Supervisors(context.Context) ([]notify.Person, error) {
	return d.supervisors, nil
}

type roundRow struct {
	ID             int64   `db:"id"`
	Kind           string  `db:"kind"`
	From           Day     `db:"period_from"`
	To             Day     `db:"period_to"`
	Scope          string  `db:"scope"`
	Schedule       string  `db:"schedule"`
	FireAt         Instant `db:"fire_at"`
	OpenedAt       Instant `db:"opened_at"`
	OpenedBy       string  `db:"opened_by"`
	ClosedAt       Instant `db:"closed_at"`
	RulesName      string  `db:"rules_name"`
	RulesChecksum  string  `db:"rules_checksum"`
	RulesJSON      string  `db:"rules_json"`
	Draw           string  `db:"draw"`
	Villages       int     `db:"villages"`
	NewFindings    int     `db:"new_findings"`
	RepeatFindings int     `db:"repeat_findings"`
}

const roundCols = `id, kind, period_from, period_to, scope, schedule, fire_at, opened_at, opened_by, closed_at,
	rules_name, rules_checksum, rules_json, draw, villages, new_findings, repeat_findings`

func (r roundRow) round() (*workflow.Round, error) {
	rd := &workflow.Round{
		ID: r.ID, Kind: r.Kind, From: r.From.Time, To: r.To.Time, Scope: r.Scope, Schedule: r.Schedule,
		OpenedAt: r.OpenedAt.T().UTC(), OpenedBy: r.OpenedBy, RulesName: r.RulesName, RulesChecksum: r.RulesChecksum,
		Villages: r.Villages, NewFindings: r.NewFindings, RepeatFindings: r.RepeatFindings,
	}
	if t := r.FireAt.T(); !t.IsZero() {
		t = t.UTC()
		rd.FireAt = &t
	}
	if t := r.ClosedAt.T(); !t.IsZero() {
		t = t.UTC()
		rd.ClosedAt = &t
	}
	if r.RulesJSON != "" {
		if err := json.Unmarshal([]byte(r.RulesJSON), &rd.Rules); err != nil {
			return nil, fmt.Errorf("round %d rules: %w", r.ID, err)
		}
	}
	if r.Draw != "" {
		rd.Draw = &workflow.DrawRecord{}
		if err := json.Unmarshal([]byte(r.Draw), rd.Draw); err != nil {
			return nil, fmt.Errorf("round %d draw: %w", r.ID, err)
		}
	}
	return rd, nil
}

// Round reads one round.
func (s *Rounds) Round(ctx context.Context, id int64) (*workflow.Round, error) {
	var r roundRow
	err := s.db.X.GetContext(ctx, &r, s.db.Rebind(`SELECT `+roundCols+` FROM rounds WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &workflow.NotFoundError{What: fmt.Sprintf("第 %d 轮督查", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read round %d: %w", id, err)
	}
	return r.round()
}

// Rounds lists every round, newest first.
func (s *Rounds) Rounds(ctx context.Context) ([]*workflow.Round, error) {
	var rows []roundRow
	if err := s.db.X.SelectContext(ctx, &rows, `SELECT `+roundCols+` FROM rounds ORDER BY id DESC`); err != nil {
		return nil, fmt.Errorf("list rounds: %w", err)
	}
	out := make([]*workflow.Round, 0, len(rows))
	for _, r := range rows {
		rd, err := r.round()
		if err != nil {
			return nil, err
		}
		out = append(out, rd)
	}
	return out, nil
}

// CloseRound marks a round closed.
func (s *Rounds) CloseRound(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.X.ExecContext(ctx, s.db.Rebind(`UPDATE rounds SET closed_at = ? WHERE id = ? AND closed_at IS NULL`), Instant(at), id)
	if err != nil {
		return fmt.Errorf("close round %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Round(ctx, id); err != nil {
		return err
	}
	return workflow.ErrRoundClosed
}

// RoundVillages lists the codes of the villages a round inspected, sorted.
func (s *Rounds) RoundVillages(ctx context.Context, id int64) ([]string, error) {
	var codes []string
	err := s.db.X.SelectContext(ctx, &codes, s.db.Rebind(`SELECT v.code FROM round_villages rv
		JOIN villages v ON v.id = rv.village_id WHERE rv.round_id = ?`), id)
	sort.Strings(codes)
	return codes, err
}
