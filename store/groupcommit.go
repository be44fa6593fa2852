package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/lib/pq"

	"ducha/notify"
	"ducha/workflow"
)

// Group commit of transitions on PostgreSQL.
//
// A transition is one statement: the guarded UPDATE of its finding, its
// history row and its messages; on its own it is also one transaction, one
// round trip and one WAL flush that the caller waits for. When several
// transitions of different findings are written at the same time (concurrent
// web requests, the bench's workers), they are written by one statement
// (see group), hence in one transaction with one commit. Each transition
// keeps its own guard: the UPDATE matches a finding only at the version it
// was read at, its history row and messages are inserted only with it, and
// a transition whose version is stale gets ErrConflict while the others of
// its statement are written.
//
// A grouped statement never waits for a row lock: it locks the findings it
// writes with SKIP LOCKED, so that a finding held by another transaction
// (say a round being opened, which records repeats on open findings until
// it commits) cannot hold up the transitions of the other findings. A
// transition whose finding was locked, or whose grouped statement failed, is
// then written by its own caller with a statement of its own, which waits
// for the lock as before and reports its own error.
type transitionGroup struct {
	group[*workflow.Transition]

	once    sync.Once
	prepErr error
	alone   *sql.Stmt // a transition without messages, by its caller (waits for locks)
	one     *sql.Stmt // a transition without messages, grouped alone (SKIP LOCKED)
	many    *sql.Stmt // several transitions, or any with messages (SKIP LOCKED)
	manyMsg *sql.Stmt
}

const (
	// writeLeaders is how many grouped statements of transitions may be in
	// flight at once. One keeps the batches largest and the CPU per
	// transition lowest; PostgreSQL's WAL flush is shared by concurrent
	// commits anyway, so a second statement in flight mostly halves the
	// batches (measured: the same throughput at 1.3–1.6× the CPU).
	writeLeaders = 1
	// readLeaders is how many grouped reads of findings may be in flight at once.
	readLeaders = 1
	// groupMax bounds the transitions (or reads) of one statement.
	groupMax = 64
	// groupMaxMessages bounds the messages of one statement; a transition
	// with more is written alone.
	groupMaxMessages = 500
)

func newTransitionGroup() *transitionGroup {
	return &transitionGroup{group: group[*workflow.Transition]{maxLeaders: writeLeaders}}
}

func (g *transitionGroup) prepare(ctx context.Context, db *DB) error {
	g.once.Do(func() {
		for _, p := range []struct {
			stmt **sql.Stmt
			q    string
		}{
			{&g.alone, pgTransition},
			{&g.one, pgTransitionSkipLocked},
			{&g.many, pgTransitionMany + "\n" + pgTransitionManyResult},
			{&g.manyMsg, pgTransitionMany + ",\n" + pgTransitionManyMessages + "\n" + pgTransitionManyResult},
		} {
			if *p.stmt, g.prepErr = db.X.PrepareContext(ctx, p.q); g.prepErr != nil {
				return
			}
		}
	})
	return g.prepErr
}

// write writes t, grouped with the transitions written at the same time.
func (g *transitionGroup) write(ctx context.Context, db *DB, t *workflow.Transition) error {
	if err := g.prepare(ctx, db); err != nil {
		return err
	}
	err := g.do(ctx, t, takeTransitions, g.flush)
	if errors.Is(err, errAlone) {
		return g.writeAlone(ctx, db, t)
	}
	return err
}

// takeTransitions takes, oldest first, up to groupMax transitions of
// distinct findings (a second transition of a finding waits for the next
// statement, where its version is checked against the first's result) and
// at most groupMaxMessages messages.
func takeTransitions(queue []*groupCall[*workflow.Transition]) (batch, rest []*groupCall[*workflow.Transition]) {
	seen := map[int64]bool{}
	msgs := 0
	rest = queue[:0]
	for _, q := range queue {
		id := q.arg.Finding.ID
		if len(batch) < groupMax && !seen[id] && (len(batch) == 0 || msgs+len(q.arg.Messages) <= groupMaxMessages) {
			seen[id] = true
			msgs += len(q.arg.Messages)
			batch = append(batch, q)
			continue
		}
		rest = append(rest, q)
	}
	return batch, rest
}

// flush writes batch and delivers each transition's outcome: nil, or
// ErrConflict, or errAlone when its finding was locked by another
// transaction or the statement failed.
func (g *transitionGroup) flush(ctx context.Context, batch []*groupCall[*workflow.Transition]) {
	var locked, written map[int64]bool
	var err error
	if len(batch) == 1 && len(batch[0].arg.Messages) == 0 {
		locked, written, err = g.writeOne(ctx, batch[0].arg)
	} else {
		locked, written, err = g.writeMany(ctx, batch)
	}
	for _, q := range batch {
		id := q.arg.Finding.ID
		switch {
		case err != nil || !locked[id]:
			q.done <- errAlone
		case written[id]:
			q.done <- nil
		default:
			q.done <- workflow.ErrConflict
		}
	}
}

// writeAlone writes one transition with a statement of its own, waiting for
// its finding's row lock if another transaction holds it. A conflict is no
// conflict when the history entry written is the transition's own: its
// grouped statement failed after it had committed (a timeout, a lost
// connection).
func (g *transitionGroup) writeAlone(ctx context.Context, db *DB, t *workflow.Transition) error {
	err := g.writeAloneOnce(ctx, db, t)
	if errors.Is(err, workflow.ErrConflict) {
		var n int
		if db.X.GetContext(ctx, &n, `SELECT count(*) FROM finding_history WHERE finding_id = $1 AND seq = $2 AND hash = $3`,
			t.Entry.FindingID, t.Entry.Seq, t.Entry.Hash) == nil && n == 1 {
			return nil
		}
	}
	return err
}

func (g *transitionGroup) writeAloneOnce(ctx context.Context, db *DB, t *workflow.Transition) error {
	if len(t.Messages) == 0 {
		res, err := g.alone.ExecContext(ctx, transitionArgs(t)...)
		return transitionResult(t, res, err)
	}
	q, args, err := pgTransitionWithMessages(t)
	if err != nil {
		return err
	}
	var n int
	if err := db.X.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		if IsUniqueViolation(err) {
			return workflow.ErrConflict
		}
		return fmt.Errorf("finding %d %s: %w", t.Finding.ID, t.Entry.Event, err)
	}
	if n != 1 {
		return workflow.ErrConflict
	}
	return nil
}

// writeOne writes one transition without messages, grouped alone: it
// returns whether its finding was locked (not held by another transaction)
// and written.
func (g *transitionGroup) writeOne(ctx context.Context, t *workflow.Transition) (locked, written map[int64]bool, err error) {
	var l, w bool
	if err := g.one.QueryRowContext(ctx, transitionArgs(t)...).Scan(&l, &w); err != nil {
		return nil, nil, fmt.Errorf("finding %d %s: %w", t.Finding.ID, t.Entry.Event, err)
	}
	id := t.Finding.ID
	return map[int64]bool{id: l}, map[int64]bool{id: w}, nil
}

// writeMany writes transitions of distinct findings with one statement and
// returns the findings it locked and those it wrote.
func (g *transitionGroup) writeMany(ctx context.Context, batch []*groupCall[*workflow.Transition]) (locked, written map[int64]bool, err error) {
	n := len(batch)
	var (
		ids, seqs                           = make([]int64, n), make([]int64, n)
		versions, rejections, summons       = make([]int64, n), make([]int64, n), make([]int64, n)
		escalations, repeats                = make([]int64, n), make([]int64, n)
		states, verifiedBy, hashes, actors  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		roles, events, froms, comments      = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		payloads, prevHashes                = make([]string, n), make([]string, n)
		deadlines, interviewOn, remindedFor = make([]Day, n), make([]Day, n), make([]Day, n)
		ats                                 = make([]Instant, n)
		msgFinding                          []int64
		msgKind, msgCause, msgRecipient     []string
		msgAddress, msgChannel, msgSubject  []string
		msgBody                             []string
		msgNext, msgCreated, msgQueued      []Instant
	)
	for i, q := range batch {
		f, e := q.arg.Finding, &q.arg.Entry
		ids[i], versions[i], states[i] = f.ID, int64(f.Version), string(f.State)
		deadlines[i], interviewOn[i], remindedFor[i] = DayPtr(f.Deadline), DayPtr(f.InterviewOn), DayPtr(f.RemindedFor)
		rejections[i], summons[i], escalations[i] = int64(f.Rejections), int64(f.Summons), int64(f.Escalations)
		verifiedBy[i], repeats[i] = f.VerifiedBy, int64(f.RepeatCount)
		ats[i], seqs[i], hashes[i] = Instant(e.At), int64(e.Seq), e.Hash
		actors[i], roles[i], events[i], froms[i] = e.Actor, string(e.Role), string(e.Event), string(e.From)
		comments[i], payloads[i], prevHashes[i] = e.Comment, e.PayloadJSON(), e.PrevHash
		for _, m := range q.arg.Messages {
			next, created, queued := messageTimes(m)
			msgFinding = append(msgFinding, f.ID)
			msgKind, msgCause = append(msgKind, string(m.Kind)), append(msgCause, m.Cause)
			msgRecipient, msgAddress = append(msgRecipient, m.Recipient), append(msgAddress, m.Address)
			msgChannel, msgSubject, msgBody = append(msgChannel, m.Channel), append(msgSubject, m.Subject), append(msgBody, m.Body)
			msgNext, msgCreated, msgQueued = append(msgNext, next), append(msgCreated, created), append(msgQueued, queued)
		}
	}
	args := []any{pq.Array(ids), pq.Array(versions), pq.Array(states), dayArray(deadlines),
		pq.Array(rejections), pq.Array(summons), pq.Array(escalations), pq.Array(verifiedBy),
		dayArray(interviewOn), dayArray(remindedFor), instantArray(ats),
		pq.Array(seqs), pq.Array(hashes), pq.Array(repeats), pq.Array(actors), pq.Array(roles),
		pq.Array(events), pq.Array(froms), pq.Array(comments), pq.Array(payloads), pq.Array(prevHashes)}
	stmt := g.many
	if len(msgFinding) > 0 {
		stmt = g.manyMsg
		args = append(args, pq.Array(msgFinding), pq.Array(msgKind), pq.Array(msgCause), pq.Array(msgRecipient),
			pq.Array(msgAddress), pq.Array(msgChannel), pq.Array(msgSubject), pq.Array(msgBody),
			instantArray(msgNext), instantArray(msgCreated), instantArray(msgQueued))
	}
	var l, w pq.Int64Array
	if err := stmt.QueryRowContext(ctx, args...).Scan(&l, &w); err != nil {
		return nil, nil, fmt.Errorf("write %d transitions: %w", n, err)
	}
	locked, written = make(map[int64]bool, n), make(map[int64]bool, n)
	for _, id := range l {
		locked[id] = true
	}
	for _, id := range w {
		written[id] = true
	}
	return locked, written, nil
}

// messageTimes are a message's next attempt, creation and queueing times as
// the outbox stores them (outboxValues checked the message).
func messageTimes(m notify.Message) (next, created, queued Instant) {
	n, q := m.NextAttemptAt, m.QueuedAt
	if n.IsZero() {
		n = m.CreatedAt
	}
	if q.IsZero() {
		q = m.CreatedAt
	}
	return Instant(n), Instant(m.CreatedAt), Instant(q)
}

// pgTransitionMany is the grouped transitions' statement up to its last
// common table expression: v holds one row per transition (arrays $1–$21,
// in transitionArgs' order of meaning), l the findings it could lock (SKIP
// LOCKED: those another transaction holds are left to their callers), u
// those whose guarded UPDATE matched, h their history rows. Followed by
// pgTransitionManyResult, or by the messages' expressions and then it.
//
// The arrays are unnested from a subquery that OFFSET 0 keeps: unnest($1)
// lets the planner size each execution's arrays, so that every execution
// was planned again (a custom plan, ~10% of the server's CPU in the bench);
// through the subquery the row estimate is the same for every execution and
// PostgreSQL keeps the generic plan.
const pgTransitionMany = `WITH v AS (
	SELECT x.* FROM (SELECT $1::bigint[] AS a1, $2::integer[] AS a2, $3::text[] AS a3, $4::date[] AS a4,
		$5::integer[] AS a5, $6::integer[] AS a6, $7::integer[] AS a7, $8::text[] AS a8, $9::date[] AS a9,
		$10::date[] AS a10, $11::timestamptz[] AS a11, $12::integer[] AS a12, $13::text[] AS a13,
		$14::integer[] AS a14, $15::text[] AS a15, $16::text[] AS a16, $17::text[] AS a17, $18::text[] AS a18,
		$19::text[] AS a19, $20::text[] AS a20, $21::text[] AS a21 OFFSET 0) a,
	unnest(a.a1, a.a2, a.a3, a.a4, a.a5, a.a6, a.a7, a.a8, a.a9, a.a10, a.a11, a.a12, a.a13, a.a14, a.a15, a.a16,
		a.a17, a.a18, a.a19, a.a20, a.a21)
	AS x (id, version, state, deadline, rejections, summons, escalations, verified_by, interview_on, reminded_for,
		at, seq, hash, repeat_count, actor, actor_role, event, from_state, comment, payload, prev_hash)
), l AS (
	SELECT f.id FROM findings f JOIN v ON v.id = f.id FOR NO KEY UPDATE OF f SKIP LOCKED
), u AS (
	UPDATE findings f SET state = v.state, version = f.version + 1, deadline = v.deadline, rejections = v.rejections,
		summons = v.summons, escalations = v.escalations, verified_by = v.verified_by, interview_on = v.interview_on,
		reminded_for = v.reminded_for, updated_at = v.at, last_seq = v.seq, last_hash = v.hash, repeat_count = v.repeat_count
	FROM v JOIN l ON l.id = v.id WHERE f.id = v.id AND f.version = v.version
	RETURNING v.*
), h AS (
	INSERT INTO finding_history (finding_id, seq, at, actor, actor_role, event, from_state, to_state, comment, payload, prev_hash, hash)
	SELECT id, seq, at, actor, actor_role, event, from_state, state, comment, payload, prev_hash, hash FROM u
)`

// pgTransitionManyResult is the ids of the findings locked and of those
// written.
const pgTransitionManyResult = `SELECT ARRAY(SELECT id FROM l), ARRAY(SELECT id FROM u)`

// pgTransitionSkipLocked is pgTransition for a transition grouped alone: it
// does not wait for its finding's row lock, and returns whether it locked
// the finding and whether it wrote it.
const pgTransitionSkipLocked = `WITH l AS (SELECT id FROM findings WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED),
u AS (
	UPDATE findings SET state = $3, version = version + 1, deadline = $4, rejections = $5, summons = $6,
		escalations = $7, verified_by = $8, interview_on = $9, reminded_for = $10, updated_at = $11,
		last_seq = $12, last_hash = $13, repeat_count = $21
	WHERE id = (SELECT id FROM l) AND version = $2 RETURNING id
), h AS (` + pgTransitionHistory + `)
SELECT EXISTS (SELECT 1 FROM l), EXISTS (SELECT 1 FROM u)`

// pgTransitionManyMessages inserts the messages ($22–$32, one row per
// message with its finding) of the transitions that were written, in the
// order given.
const pgTransitionManyMessages = `m AS (
	SELECT x.* FROM (SELECT $22::bigint[] AS b1, $23::text[] AS b2, $24::text[] AS b3, $25::text[] AS b4,
		$26::text[] AS b5, $27::text[] AS b6, $28::text[] AS b7, $29::text[] AS b8, $30::timestamptz[] AS b9,
		$31::timestamptz[] AS b10, $32::timestamptz[] AS b11 OFFSET 0) b,
	unnest(b.b1, b.b2, b.b3, b.b4, b.b5, b.b6, b.b7, b.b8, b.b9, b.b10, b.b11) WITH ORDINALITY
	AS x (finding_id, kind, cause, recipient, address, channel, subject, body, next_at, created_at, queued_at, ord)
), o AS (
	INSERT INTO outbox (kind, cause, recipient, address, channel, subject, body,
		state, attempts, next_attempt_at, created_at, queued_at)
	SELECT m.kind, m.cause, m.recipient, m.address, m.channel, m.subject, m.body, 'pending', 0, m.next_at, m.created_at, m.queued_at
	FROM m JOIN u ON u.id = m.finding_id
	ORDER BY m.ord
	ON CONFLICT (cause, recipient, channel) DO NOTHING
)`
