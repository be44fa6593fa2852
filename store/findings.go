package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"ducha/workflow"
)

// Findings persists findings and their hash-chained history. It implements
// workflow.FindingStore, workflow.SweepStore and workflow.AuditSource.
type Findings struct {
	db *DB

	once     sync.Once
	prepErr  error
	load     *sql.Stmt // one finding by id
	loadMany *sql.Stmt // PostgreSQL: findings by an array of ids
}

// NewFindings returns the findings store of db.
func NewFindings(db *DB) *Findings { return &Findings{db: db} }

var (
	_ workflow.FindingStore = (*Findings)(nil)
	_ workflow.SweepStore   = (*Findings)(nil)
	_ workflow.AuditSource  = (*Findings)(nil)
)

const findingCols = `f.id, f.round_id, f.rule_id, f.rule_title, f.severity, f.rectify_n, f.rectify_workdays,
	v.code AS village, v.name AS village_name, t.name AS township,
	COALESCE(a.code, '') AS adviser, COALESCE(a.name, '') AS adviser_name,
	f.evidence, f.message, f.repeat_count, f.created_at, f.state, f.version, f.deadline,
	f.rejections, f.summons, f.escalations, f.verified_by, f.interview_on, f.reminded_for,
	f.updated_at, f.last_seq, f.last_hash`

const findingFrom = ` FROM findings f
	JOIN villages v ON v.id = f.village_id
	JOIN townships t ON t.id = f.township_id
	LEFT JOIN advisers a ON a.id = f.adviser_id`

type findingRow struct {
	ID              int64         `db:"id"`
	RoundID         sql.NullInt64 `db:"round_id"`
	RuleID          string        `db:"rule_id"`
	RuleTitle       string        `db:"rule_title"`
	Severity        string        `db:"severity"`
	RectifyN        int           `db:"rectify_n"`
	RectifyWorkdays bool          `db:"rectify_workdays"`
	Village         string        `db:"village"`
	VillageName     string        `db:"village_name"`
	Township        string        `db:"township"`
	Adviser         string        `db:"adviser"`
	AdviserName     string        `db:"adviser_name"`
	Evidence        []byte        `db:"evidence"`
	Message         string        `db:"message"`
	RepeatCount     int           `db:"repeat_count"`
	CreatedAt       Instant       `db:"created_at"`
	State           string        `db:"state"`
	Version         int           `db:"version"`
	Deadline        Day           `db:"deadline"`
	Rejections      int           `db:"rejections"`
	Summons         int           `db:"summons"`
	Escalations     int           `db:"escalations"`
	VerifiedBy      string        `db:"verified_by"`
	InterviewOn     Day           `db:"interview_on"`
	RemindedFor     Day           `db:"reminded_for"`
	UpdatedAt       Instant       `db:"updated_at"`
	LastSeq         int           `db:"last_seq"`
	LastHash        string        `db:"last_hash"`
	AdviserRecent   int           `db:"adviser_recent"`
}

// dest is where Scan puts the columns of findingCols, in their order (no
// adviser_recent): the one-finding read scans without sqlx's reflection.
func (r *findingRow) dest() []any {
	return []any{&r.ID, &r.RoundID, &r.RuleID, &r.RuleTitle, &r.Severity, &r.RectifyN, &r.RectifyWorkdays,
		&r.Village, &r.VillageName, &r.Township, &r.Adviser, &r.AdviserName,
		&r.Evidence, &r.Message, &r.RepeatCount, &r.CreatedAt, &r.State, &r.Version, &r.Deadline,
		&r.Rejections, &r.Summons, &r.Escalations, &r.VerifiedBy, &r.InterviewOn, &r.RemindedFor,
		&r.UpdatedAt, &r.LastSeq, &r.LastHash}
}

func (r *findingRow) finding() *workflow.Finding {
	return &workflow.Finding{
		ID: r.ID, RoundID: r.RoundID.Int64, RuleID: r.RuleID, RuleTitle: r.RuleTitle,
		Severity: workflow.Severity(r.Severity), Rectify: workflow.Within{N: r.RectifyN, Workdays: r.RectifyWorkdays},
		Village: r.Village, VillageName: r.VillageName, Township: r.Township,
		Adviser: r.Adviser, AdviserName: r.AdviserName, Evidence: json.RawMessage(r.Evidence),
		Message: r.Message, RepeatCount: r.RepeatCount, CreatedAt: r.CreatedAt.T().UTC(),
		State: workflow.State(r.State), Version: r.Version, Deadline: r.Deadline.Ptr(),
		Rejections: r.Rejections, Summons: r.Summons, Escalations: r.Escalations, VerifiedBy: r.VerifiedBy,
		InterviewOn: r.InterviewOn.Ptr(), RemindedFor: r.RemindedFor.Ptr(), UpdatedAt: r.UpdatedAt.T().UTC(),
		LastSeq: r.LastSeq, LastHash: r.LastHash,
	}
}

// The PostgreSQL transition: the guarded UPDATE as a CTE, then the history
// row inserted from it, so that a stale version writes nothing.
const (
	pgTransitionUpdate = `WITH u AS (
	UPDATE findings SET state = $3, version = version + 1, deadline = $4, rejections = $5, summons = $6,
		escalations = $7, verified_by = $8, interview_on = $9, reminded_for = $10, updated_at = $11,
		last_seq = $12, last_hash = $13, repeat_count = $21
	WHERE id = $1 AND version = $2 RETURNING id)`
	pgTransitionHistory = `INSERT INTO finding_history (finding_id, seq, at, actor, actor_role, event, from_state, to_state, comment, payload, prev_hash, hash)
SELECT id, $12, $11, $14, $15, $16, $17, $3, $18, $19, $20, $13 FROM u`
	pgTransition = pgTransitionUpdate + "\n" + pgTransitionHistory
)

// pgTransitionWithMessages is the transition and its outbox messages in
// one statement (one round trip): the history and the messages are inserted
// only when the guarded UPDATE matched; it returns how many findings it
// updated (0 on a stale version).
func pgTransitionWithMessages(t *workflow.Transition) (string, []any, error) {
	args := transitionArgs(t)
	var q strings.Builder
	q.WriteString(pgTransitionUpdate + ",\nh AS (" + pgTransitionHistory + " RETURNING finding_id),\n")
	q.WriteString(`o AS (INSERT INTO outbox (kind, cause, recipient, address, channel, subject, body,
		state, attempts, next_attempt_at, created_at, queued_at)
	SELECT kind, cause, recipient, address, channel, subject, body, 'pending', 0, next_at, created_at, queued_at
	FROM (VALUES `)
	for i, m := range t.Messages {
		row, err := outboxValues(m)
		if err != nil {
			return "", nil, err
		}
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, CAST($%d AS timestamptz), CAST($%d AS timestamptz), CAST($%d AS timestamptz))",
			n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10)
		args = append(args, row...)
	}
	q.WriteString(`) AS v (kind, cause, recipient, address, channel, subject, body, next_at, created_at, queued_at)
	WHERE EXISTS (SELECT 1 FROM u)
	ON CONFLICT (cause, recipient, channel) DO NOTHING RETURNING 1)
SELECT count(*) FROM u`)
	return q.String(), args, nil
}

// pgFindingByID reads one finding. Its names are looked up through LATERAL
// subqueries that OFFSET 0 keeps from being flattened into joins, so the
// plan is four primary-key probes whatever the tables' sizes: as joins, the
// planner picked a hash join over a sequential scan of townships (50 rows)
// or a merge join walking townships_pkey (500 rows), for one finding.
const pgFindingByID = "SELECT " + findingCols + " FROM findings f" + pgFindingNames + `
	WHERE f.id = $1`

const pgFindingNames = `
	CROSS JOIN LATERAL (SELECT code, name FROM villages WHERE id = f.village_id OFFSET 0) v
	CROSS JOIN LATERAL (SELECT name FROM townships WHERE id = f.township_id OFFSET 0) t
	LEFT JOIN LATERAL (SELECT code, name FROM advisers WHERE id = f.adviser_id OFFSET 0) a ON true`

// pgFindingsByID reads several findings by the array of their ids, each by
// the probes of pgFindingByID (the array unnested from a subquery that
// OFFSET 0 keeps, so that the row estimate, and with it the generic plan,
// does not depend on the array's length).
const pgFindingsByID = "SELECT " + findingCols + ` FROM
	(SELECT unnest(r.ids) AS id FROM (SELECT $1::bigint[] AS ids OFFSET 0) r) r
	JOIN findings f ON f.id = r.id` + pgFindingNames

func (s *Findings) prepare(ctx context.Context) error {
	s.once.Do(func() {
		q := "SELECT " + findingCols + findingFrom + " WHERE f.id = ?"
		if s.db.Dialect == Postgres {
			q = pgFindingByID
			if s.loadMany, s.prepErr = s.db.X.PrepareContext(ctx, pgFindingsByID); s.prepErr != nil {
				return
			}
		}
		s.load, s.prepErr = s.db.X.PrepareContext(ctx, s.db.Rebind(q))
	})
	return s.prepErr
}

// Finding reads one finding. On PostgreSQL, reads of findings made at the
// same time share a statement (see group).
func (s *Findings) Finding(ctx context.Context, id int64) (*workflow.Finding, error) {
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	if s.db.Dialect != Postgres {
		return s.readOne(ctx, id)
	}
	r := &findingRead{id: id}
	err := s.db.reads.do(ctx, r, takeReads, s.readMany)
	if errors.Is(err, errAlone) {
		return s.readOne(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	return r.f, nil
}

// findingRead is a read of a finding, grouped with others.
type findingRead struct {
	id int64
	f  *workflow.Finding
}

func takeReads(queue []*groupCall[*findingRead]) (batch, rest []*groupCall[*findingRead]) {
	n := min(len(queue), groupMax)
	return slices.Clone(queue[:n]), queue[n:]
}

func (s *Findings) readOne(ctx context.Context, id int64) (*workflow.Finding, error) {
	var r findingRow
	if err := s.load.QueryRowContext(ctx, id).Scan(r.dest()...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &workflow.NotFoundError{What: fmt.Sprintf("编号为 %d 的问题", id)}
		}
		return nil, fmt.Errorf("read finding %d: %w", id, err)
	}
	return r.finding(), nil
}

// readMany reads a batch of findings with one statement and delivers each;
// should the statement fail, each is read again by its caller (errAlone).
func (s *Findings) readMany(ctx context.Context, batch []*groupCall[*findingRead]) {
	if len(batch) == 1 {
		c := batch[0]
		var err error
		if c.arg.f, err = s.readOne(ctx, c.arg.id); err != nil && !errors.Is(err, workflow.ErrNotFound) {
			err = errAlone
		}
		c.done <- err
		return
	}
	ids := make([]int64, len(batch))
	for i, c := range batch {
		ids[i] = c.arg.id
	}
	found, err := s.scanMany(ctx, ids)
	if err != nil {
		for _, c := range batch {
			c.done <- errAlone
		}
		return
	}
	given := map[int64]bool{}
	for _, c := range batch {
		r := found[c.arg.id]
		if r == nil {
			c.done <- &workflow.NotFoundError{What: fmt.Sprintf("编号为 %d 的问题", c.arg.id)}
			continue
		}
		c.arg.f = r.finding()
		if given[c.arg.id] { // the same finding read twice: each reader its own evidence bytes
			c.arg.f.Evidence = slices.Clone(c.arg.f.Evidence)
		}
		given[c.arg.id] = true
		c.done <- nil
	}
}

func (s *Findings) scanMany(ctx context.Context, ids []int64) (map[int64]*findingRow, error) {
	rows, err := s.loadMany.QueryContext(ctx, pq.Array(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[int64]*findingRow, len(ids))
	for rows.Next() {
		r := &findingRow{}
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		found[r.ID] = r
	}
	return found, rows.Err()
}

func transitionArgs(t *workflow.Transition) []any {
	f, e := t.Finding, &t.Entry
	return []any{f.ID, f.Version, string(f.State), DayPtr(f.Deadline), f.Rejections, f.Summons,
		f.Escalations, f.VerifiedBy, DayPtr(f.InterviewOn), DayPtr(f.RemindedFor), Instant(e.At),
		e.Seq, e.Hash, e.Actor, string(e.Role), string(e.Event), string(e.From), e.Comment, e.PayloadJSON(), e.PrevHash,
		f.RepeatCount}
}

// Transition writes a transition and its messages atomically, guarded by
// the finding's version. On PostgreSQL it is one statement (one round trip),
// shared with the transitions of other findings written at the same time
// (group commit, see transitionGroup); on SQLite, or with more than
// groupMaxMessages messages, statements in one transaction.
func (s *Findings) Transition(ctx context.Context, t *workflow.Transition) error {
	if s.db.Dialect == Postgres && len(t.Messages) <= groupMaxMessages {
		for _, m := range t.Messages {
			if _, err := outboxValues(m); err != nil {
				return err
			}
		}
		return s.db.group.write(ctx, s.db, t)
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if err := TransitionTx(ctx, tx, t); err != nil {
			return err
		}
		return EnqueueTx(ctx, tx, t.Messages)
	})
}

// TransitionTx writes a transition inside the caller's transaction (e.g.
// opening a round, which orders its findings in the same transaction).
func TransitionTx(ctx context.Context, tx *Tx, t *workflow.Transition) error {
	a := transitionArgs(t)
	if tx.Dialect == Postgres {
		res, err := tx.ExecContext(ctx, pgTransition, a...)
		return transitionResult(t, res, err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE findings SET state = ?, version = version + 1, deadline = ?,
		rejections = ?, summons = ?, escalations = ?, verified_by = ?, interview_on = ?, reminded_for = ?,
		updated_at = ?, last_seq = ?, last_hash = ?, repeat_count = ? WHERE id = ? AND version = ?`,
		a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[20], a[0], a[1])
	if err := transitionResult(t, res, err); err != nil {
		return err
	}
	e := &t.Entry
	_, err = tx.ExecContext(ctx, `INSERT INTO finding_history (finding_id, seq, at, actor, actor_role, event,
		from_state, to_state, comment, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.FindingID, e.Seq, Instant(e.At), e.Actor, string(e.Role), string(e.Event), string(e.From),
		string(e.To), e.Comment, e.PayloadJSON(), e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("finding %d: write history: %w", e.FindingID, err)
	}
	return nil
}

func transitionResult(t *workflow.Transition, res sql.Result, err error) error {
	if err != nil {
		if IsUniqueViolation(err) {
			return workflow.ErrConflict
		}
		return fmt.Errorf("finding %d %s: %w", t.Finding.ID, t.Entry.Event, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return workflow.ErrConflict
	}
	return nil
}

// InsertFindings writes newly discovered findings and the first, sealed
// history entry of each inside the caller's transaction, set-based: one
// lookup of the villages and advisers, ids reserved at once, multi-row
// inserts. Each finding names its village (and adviser) by code; InsertFindings
// fills in ID, township, names and the lifecycle fields.
func InsertFindings(ctx context.Context, tx *Tx, fs []*workflow.Finding, at time.Time) error {
	return InsertFindingsThen(ctx, tx, fs, at, nil)
}

// InsertFindingsThen is InsertFindings with a first transition decided
// before anything is written: then (when not nil) is applied to each
// discovered finding, and the finding is stored as it leaves that
// transition, with both history entries — one write per row instead of an
// insert and an update. then sees each transition as it is made (a round
// renders its message meanwhile).
func InsertFindingsThen(ctx context.Context, tx *Tx, fs []*workflow.Finding, at time.Time,
	then func(*workflow.Finding) (*workflow.Transition, error)) error {
	if len(fs) == 0 {
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	type village struct {
		ID, TownshipID int64
		Name, Township string
	}
	type adviser struct {
		ID   int64
		Name string
	}
	// Scanned by hand: every village, which sqlx's reflection scanned at
	// several times the cost.
	vByCode := map[string]*village{}
	if err := scanRows(ctx, tx, `SELECT v.code, v.id, v.name, v.township_id, t.name
		FROM villages v JOIN townships t ON t.id = v.township_id`, func(rows *sql.Rows) error {
		var code string
		v := &village{}
		if err := rows.Scan(&code, &v.ID, &v.Name, &v.TownshipID, &v.Township); err != nil {
			return err
		}
		vByCode[code] = v
		return nil
	}); err != nil {
		return fmt.Errorf("insert findings: read villages: %w", err)
	}
	aByCode := map[string]*adviser{}
	if err := scanRows(ctx, tx, `SELECT code, id, name FROM advisers`, func(rows *sql.Rows) error {
		var code string
		a := &adviser{}
		if err := rows.Scan(&code, &a.ID, &a.Name); err != nil {
			return err
		}
		aByCode[code] = a
		return nil
	}); err != nil {
		return fmt.Errorf("insert findings: read advisers: %w", err)
	}
	ids, err := reserveFindingIDs(ctx, tx, len(fs))
	if err != nil {
		return err
	}
	// On PostgreSQL the findings are copied as they are made, while the
	// next ones are made (hashed, transitioned).
	const cols = 25
	var frows [][]any
	var stream *copier
	if tx.Dialect == Postgres {
		if stream, err = startCopy(ctx, tx, "COPY "+findingsInto+" FROM STDIN", cols); err != nil {
			return fmt.Errorf("insert findings: %w", err)
		}
	} else {
		frows = make([][]any, 0, len(fs))
	}
	hrows := make([][]any, 0, len(fs))
	err = func() error {
		for i, f := range fs {
			v := vByCode[f.Village]
			if v == nil {
				return fmt.Errorf("insert findings: 未知的村编号 %q", f.Village)
			}
			var adviserID sql.NullInt64
			if f.Adviser != "" {
				a := aByCode[f.Adviser]
				if a == nil {
					return fmt.Errorf("insert findings: 未知的顾问编号 %q", f.Adviser)
				}
				adviserID = sql.NullInt64{Int64: a.ID, Valid: true}
				f.AdviserName = a.Name
			}
			f.ID, f.VillageName, f.Township = ids[i], v.Name, v.Township
			f.State, f.Version, f.CreatedAt, f.UpdatedAt = workflow.Discovered, 1, at, at
			if f.Severity == "" {
				f.Severity = workflow.General
			}
			e := workflow.Discovery(f, at)
			f.LastSeq, f.LastHash = e.Seq, e.Hash
			hrows = append(hrows, historyRow(&e))
			row := f // what is stored
			if then != nil {
				t, err := then(f)
				if err != nil {
					return err
				}
				t.Finding.Version = f.Version + 1 // as the guarded update would leave it
				row = t.Finding
				hrows = append(hrows, historyRow(&t.Entry))
			}
			evidence := string(row.Evidence)
			if evidence == "" {
				evidence = "{}"
			}
			var round sql.NullInt64
			if f.RoundID != 0 {
				round = sql.NullInt64{Int64: f.RoundID, Valid: true}
			}
			frow := []any{row.ID, round, row.RuleID, row.RuleTitle, string(row.Severity), row.Rectify.N,
				row.Rectify.Workdays, v.ID, v.TownshipID, adviserID, evidence, row.Message, row.RepeatCount,
				string(row.State), row.Version, DayPtr(row.Deadline), row.Rejections, row.Summons, row.Escalations,
				row.VerifiedBy, Instant(row.CreatedAt), Instant(row.UpdatedAt), row.LastSeq, row.LastHash, DayPtr(row.InterviewOn)}
			if stream != nil {
				if err := stream.add(frow...); err != nil {
					return err
				}
			} else {
				frows = append(frows, frow)
			}
		}
		return nil
	}()
	if stream != nil {
		if cerr := stream.close(); err == nil {
			err = cerr
		}
	} else if err == nil {
		fph := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		err = insertRows(ctx, tx, "INSERT INTO "+findingsInto+" VALUES ", fph, cols, frows)
	}
	if IsUniqueViolation(err) {
		// findings_one_open: another transaction inserted an open finding
		// for the same village and rule since this one read them.
		return fmt.Errorf("insert findings: %w", workflow.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert findings: %w", err)
	}
	if err := insertRows(ctx, tx, `INSERT INTO finding_history (finding_id, seq, at, actor, actor_role, event,
		from_state, to_state, comment, payload, prev_hash, hash) VALUES `, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 12, hrows); err != nil {
		return fmt.Errorf("insert finding history: %w", err)
	}
	return nil
}

// findingsInto is the findings table with the columns InsertFindingsThen writes.
const findingsInto = `findings (id, round_id, rule_id, rule_title, severity, rectify_n,
	rectify_workdays, village_id, township_id, adviser_id, evidence, message, repeat_count, state, version,
	deadline, rejections, summons, escalations, verified_by, created_at, updated_at, last_seq, last_hash,
	interview_on)`

// scanRows runs q and calls scan for each row.
func scanRows(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, scan func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// historyRow is an entry as finding_history's columns.
func historyRow(e *workflow.Entry) []any {
	return []any{e.FindingID, e.Seq, Instant(e.At), e.Actor, string(e.Role), string(e.Event),
		string(e.From), string(e.To), e.Comment, e.PayloadJSON(), e.PrevHash, e.Hash}
}

func reserveFindingIDs(ctx context.Context, tx *Tx, n int) ([]int64, error) {
	if tx.Dialect == Postgres {
		// One row holding them all: a row per id cost more to send and scan
		// than drawing them. Ascending, in the order they were drawn.
		var ids pq.Int64Array
		if err := tx.GetContext(ctx, &ids, `SELECT array_agg(nextval(pg_get_serial_sequence('findings', 'id')))
			FROM generate_series(1, $1)`, n); err != nil {
			return nil, fmt.Errorf("reserve finding ids: %w", err)
		}
		if len(ids) != n {
			return nil, fmt.Errorf("reserve finding ids: %d of %d", len(ids), n)
		}
		slices.Sort(ids)
		return ids, nil
	}
	ids := make([]int64, 0, n)
	// SQLite: the transaction holds the write lock (_txlock=immediate).
	var top int64
	if err := tx.GetContext(ctx, &top, `SELECT COALESCE(max(id), 0) FROM findings`); err != nil {
		return nil, fmt.Errorf("reserve finding ids: %w", err)
	}
	for i := range n {
		ids = append(ids, top+1+int64(i))
	}
	return ids, nil
}

// insertRows writes rows with multi-row INSERTs of at most ~30,000
// parameters each; on PostgreSQL with one COPY, since planning a statement
// of thousands of VALUES rows cost more than writing them. head is
// "INSERT INTO table (columns) VALUES ".
func insertRows(ctx context.Context, tx *Tx, head, tuple string, cols int, rows [][]any) error {
	if target, ok := strings.CutPrefix(strings.TrimSpace(head), "INSERT INTO "); ok && tx.Dialect == Postgres && len(rows) > 0 {
		if target, ok = strings.CutSuffix(target, " VALUES"); ok {
			return copyRows(ctx, tx, "COPY "+target+" FROM STDIN", rows)
		}
	}
	per := 30000 / cols
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, len(chunk)*cols)
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return err
		}
	}
	return nil
}

// copyRows streams rows through a PostgreSQL COPY statement.
func copyRows(ctx context.Context, tx *Tx, copyStmt string, rows [][]any) error {
	stmt, err := tx.PrepareContext(ctx, copyStmt)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	_, err = stmt.ExecContext(ctx)
	return err
}

// FindingFilter selects findings to list; empty fields select all.
type FindingFilter struct {
	State    workflow.State
	Township string // township name
	Adviser  string // adviser code
	Round    int64
}

// List returns the findings matching the filter, newest first.
func (s *Findings) List(ctx context.Context, flt FindingFilter) ([]*workflow.Finding, error) {
	q := "SELECT " + findingCols + ", 0 AS adviser_recent" + findingFrom + " WHERE 1 = 1"
	var args []any
	if flt.State != "" {
		q += " AND f.state = ?"
		args = append(args, string(flt.State))
	}
	if flt.Township != "" {
		q += " AND t.name = ?"
		args = append(args, flt.Township)
	}
	if flt.Adviser != "" {
		q += " AND a.code = ?"
		args = append(args, flt.Adviser)
	}
	if flt.Round != 0 {
		q += " AND f.round_id = ?"
		args = append(args, flt.Round)
	}
	q += " ORDER BY f.id DESC"
	return s.selectFindings(ctx, q, args...)
}

func (s *Findings) selectFindings(ctx context.Context, q string, args ...any) ([]*workflow.Finding, error) {
	rows, err := s.db.X.QueryxContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	var out []*workflow.Finding
	for rows.Next() {
		var r findingRow
		if err := rows.StructScan(&r); err != nil {
			return nil, fmt.Errorf("list findings: %w", err)
		}
		out = append(out, r.finding())
	}
	return out, rows.Err()
}

// OpenFindings returns every open finding with the number of findings of
// its adviser discovered since repeatSince (dismissed ones do not count), in
// one query.
func (s *Findings) OpenFindings(ctx context.Context, repeatSince time.Time) ([]workflow.Candidate, error) {
	q := "SELECT " + findingCols + `,
		(SELECT count(*) FROM findings g WHERE g.adviser_id = f.adviser_id AND g.created_at >= ?
			AND g.state <> 'dismissed') AS adviser_recent` +
		findingFrom + " WHERE f.state NOT IN ('signed_off', 'dismissed') ORDER BY f.id"
	rows, err := s.db.X.QueryxContext(ctx, s.db.Rebind(q), Instant(repeatSince))
	if err != nil {
		return nil, fmt.Errorf("open findings: %w", err)
	}
	defer rows.Close()
	var out []workflow.Candidate
	for rows.Next() {
		var r findingRow
		if err := rows.StructScan(&r); err != nil {
			return nil, fmt.Errorf("open findings: %w", err)
		}
		out = append(out, workflow.Candidate{Finding: r.finding(), AdviserRecent: r.AdviserRecent})
	}
	return out, rows.Err()
}

type entryRow struct {
	FindingID int64   `db:"finding_id"`
	Seq       int     `db:"seq"`
	At        Instant `db:"at"`
	Actor     string  `db:"actor"`
	Role      string  `db:"actor_role"`
	Event     string  `db:"event"`
	From      string  `db:"from_state"`
	To        string  `db:"to_state"`
	Comment   string  `db:"comment"`
	Payload   string  `db:"payload"`
	PrevHash  string  `db:"prev_hash"`
	Hash      string  `db:"hash"`
}

func (r *entryRow) entry() (workflow.Entry, error) {
	e := workflow.Entry{FindingID: r.FindingID, Seq: r.Seq, At: r.At.T().UTC(), Actor: r.Actor,
		Role: workflow.Role(r.Role), Event: workflow.Event(r.Event), From: workflow.State(r.From),
		To: workflow.State(r.To), Comment: r.Comment, PrevHash: r.PrevHash, Hash: r.Hash}
	if r.Payload != "" && r.Payload != "{}" {
		if err := json.Unmarshal([]byte(r.Payload), &e.Payload); err != nil {
			// A payload that is not a JSON object was tampered with: keep
			// the raw text so the hash check fails on it.
			e.Payload = map[string]string{"": r.Payload}
		}
	}
	return e, nil
}

const historyCols = `finding_id, seq, at, actor, actor_role, event, from_state, to_state, comment, payload, prev_hash, hash`

// History returns a finding's history, oldest first.
func (s *Findings) History(ctx context.Context, id int64) ([]workflow.Entry, error) {
	var out []workflow.Entry
	err := s.EachEntry(ctx, id, func(e workflow.Entry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// EachEntry calls fn with every history entry, ordered by finding and seq;
// of one finding when id is not 0.
func (s *Findings) EachEntry(ctx context.Context, id int64, fn func(workflow.Entry) error) error {
	q := "SELECT " + historyCols + " FROM finding_history"
	var args []any
	if id != 0 {
		q += " WHERE finding_id = ?"
		args = append(args, id)
	}
	rows, err := s.db.X.QueryxContext(ctx, s.db.Rebind(q+" ORDER BY finding_id, seq"), args...)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r entryRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("read history: %w", err)
		}
		e, err := r.entry()
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ChainHeads returns every finding's last_seq and last_hash.
func (s *Findings) ChainHeads(ctx context.Context) (map[int64]workflow.ChainHead, error) {
	rows, err := s.db.X.QueryContext(ctx, "SELECT id, last_seq, last_hash FROM findings")
	if err != nil {
		return nil, fmt.Errorf("read chain heads: %w", err)
	}
	defer rows.Close()
	out := map[int64]workflow.ChainHead{}
	for rows.Next() {
		var id int64
		var h workflow.ChainHead
		if err := rows.Scan(&id, &h.Seq, &h.Hash); err != nil {
			return nil, err
		}
		out[id] = h
	}
	return out, rows.Err()
}

// TransitionsTx writes many transitions inside the caller's transaction,
// set-based on PostgreSQL (one guarded UPDATE … FROM (VALUES …) and one
// multi-row history INSERT per chunk): if any finding's version is stale it
// returns ErrConflict and the caller must roll back. Opening a round orders
// all its findings this way.
func TransitionsTx(ctx context.Context, tx *Tx, ts []*workflow.Transition) error {
	if tx.Dialect != Postgres {
		for _, t := range ts {
			if err := TransitionTx(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	}
	const cols = 14
	const tuple = `(CAST(? AS bigint), CAST(? AS integer), ?, CAST(? AS date), CAST(? AS integer), CAST(? AS integer),
		CAST(? AS integer), ?, CAST(? AS date), CAST(? AS date), CAST(? AS timestamptz), CAST(? AS integer), ?,
		CAST(? AS integer))`
	per := 30000 / cols
	hrows := make([][]any, 0, len(ts))
	for start := 0; start < len(ts); start += per {
		chunk := ts[start:min(start+per, len(ts))]
		var b strings.Builder
		b.WriteString(`UPDATE findings AS f SET state = v.state, version = f.version + 1, deadline = v.deadline,
			rejections = v.rejections, summons = v.summons, escalations = v.escalations, verified_by = v.verified_by,
			interview_on = v.interview_on, reminded_for = v.reminded_for, updated_at = v.updated_at,
			last_seq = v.last_seq, last_hash = v.last_hash, repeat_count = v.repeat_count FROM (VALUES `)
		args := make([]any, 0, len(chunk)*cols)
		for i, t := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			a := transitionArgs(t)
			args = append(args, a[:13]...)
			args = append(args, a[20])
			hrows = append(hrows, historyRow(&t.Entry))
		}
		b.WriteString(`) AS v (id, version, state, deadline, rejections, summons, escalations, verified_by,
			interview_on, reminded_for, updated_at, last_seq, last_hash, repeat_count) WHERE f.id = v.id AND f.version = v.version`)
		res, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...)
		if err != nil {
			return fmt.Errorf("write transitions: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return workflow.ErrConflict
		}
	}
	if err := insertRows(ctx, tx, `INSERT INTO finding_history (finding_id, seq, at, actor, actor_role, event,
		from_state, to_state, comment, payload, prev_hash, hash) VALUES `, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 12, hrows); err != nil {
		if IsUniqueViolation(err) {
			return workflow.ErrConflict
		}
		return fmt.Errorf("write transition history: %w", err)
	}
	return nil
}
