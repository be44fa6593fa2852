package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"ducha/notify"
)

// outboxChannel is the LISTEN/NOTIFY channel that wakes dispatchers.
const outboxChannel = "ducha_outbox"

// EnqueueTx writes msgs into the outbox inside tx, the transaction of the
// transition, round or bulletin that causes them, with one set-based INSERT
// per chunk (on PostgreSQL many messages with one COPY, see enqueueCopy). A message whose (cause, recipient, channel) is already queued
// is skipped: enqueueing twice is a no-op. Every message needs CreatedAt
// (the transaction's timestamp); NextAttemptAt defaults to it.
func EnqueueTx(ctx context.Context, tx *Tx, msgs []notify.Message) error {
	if tx.Dialect == Postgres && len(msgs) >= enqueueCopyMin {
		if done, err := enqueueCopy(ctx, tx, msgs); done || err != nil {
			return err
		}
	}
	if tx.Dialect == Postgres && len(msgs) > 1 {
		return enqueueArrays(ctx, tx, msgs)
	}
	const cols = 12
	chunk := 1000 // PostgreSQL allows 65535 parameters, SQLite 32766
	for start := 0; start < len(msgs); start += chunk {
		part := msgs[start:min(start+chunk, len(msgs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO outbox (kind, cause, recipient, address, channel, subject, body,
			state, attempts, next_attempt_at, created_at, queued_at) VALUES `)
		args := make([]any, 0, len(part)*cols)
		for i, m := range part {
			row, err := outboxValues(m)
			if err != nil {
				return err
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)")
			args = append(args, row...)
		}
		q.WriteString(" ON CONFLICT (cause, recipient, channel) DO NOTHING")
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("enqueue notifications: %w", err)
		}
	}
	return nil
}

// enqueueCopyMin is the number of messages from which PostgreSQL is first
// asked to COPY them (a round's orders): the INSERT … ON CONFLICT of
// enqueueArrays checks and confirms each row's insertion on its own, and
// its array parameters must be parsed, which cost a large batch more than
// copying it.
const enqueueCopyMin = 256

// enqueueCopy writes msgs with COPY when none of them is queued already:
// under a savepoint, so that a message already queued (a unique violation)
// undoes the COPY and leaves them to enqueueArrays, whose ON CONFLICT skips
// those. Done is false then, or when msgs repeat a key themselves.
func enqueueCopy(ctx context.Context, tx *Tx, msgs []notify.Message) (done bool, err error) {
	type key struct{ cause, recipient, channel string }
	seen := make(map[key]bool, len(msgs))
	rows := make([][]any, len(msgs))
	for i, m := range msgs {
		k := key{m.Cause, m.Recipient, m.Channel}
		if seen[k] {
			return false, nil
		}
		seen[k] = true
		row, err := outboxValues(m)
		if err != nil {
			return false, err
		}
		rows[i] = row
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT enqueue_copy`); err != nil {
		return false, fmt.Errorf("enqueue notifications: %w", err)
	}
	err = copyRows(ctx, tx, `COPY outbox (kind, cause, recipient, address, channel, subject, body,
		next_attempt_at, created_at, queued_at) FROM STDIN`, rows)
	if IsUniqueViolation(err) {
		_, err = tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT enqueue_copy`)
		if err == nil {
			_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT enqueue_copy`)
		}
		if err != nil {
			return false, fmt.Errorf("enqueue notifications: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue notifications: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT enqueue_copy`); err != nil {
		return false, fmt.Errorf("enqueue notifications: %w", err)
	}
	return true, nil
}

// enqueueArrays writes many messages with one statement on PostgreSQL: a
// column per array parameter, unnested (a VALUES list of thousands of rows
// costs more to plan than to write).
func enqueueArrays(ctx context.Context, tx *Tx, msgs []notify.Message) error {
	var cols [10]textArray
	for i := range cols {
		cols[i] = make(textArray, len(msgs))
	}
	// Messages of one transaction mostly share their times: format each
	// distinct one once.
	var lastT time.Time
	var lastS string
	instant := func(i Instant) string {
		if t := i.T(); !t.Equal(lastT) || lastS == "" {
			lastT, lastS = t, t.UTC().Format(InstantLayout)
		}
		return lastS
	}
	for i, m := range msgs {
		if err := checkMessage(m); err != nil {
			return err
		}
		next, created, queued := messageTimes(m)
		cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i] = string(m.Kind), m.Cause, m.Recipient, m.Address, m.Channel
		cols[5][i], cols[6][i] = m.Subject, m.Body
		cols[7][i], cols[8][i], cols[9][i] = instant(next), instant(created), instant(queued)
	}
	args := make([]any, len(cols))
	for i, c := range cols {
		args[i] = c
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, cause, recipient, address, channel, subject, body,
			state, attempts, next_attempt_at, created_at, queued_at)
		SELECT kind, cause, recipient, address, channel, subject, body, 'pending', 0, next, created, queued
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
			AS m (kind, cause, recipient, address, channel, subject, body, next, created, queued)
		ON CONFLICT (cause, recipient, channel) DO NOTHING`, args...)
	if err != nil {
		return fmt.Errorf("enqueue notifications: %w", err)
	}
	return nil
}

// outboxValues is a message's values for the outbox's kind, cause, recipient,
// address, channel, subject, body, next_attempt_at, created_at and
// queued_at; a message without its cause, recipient, channel or time is refused.
func outboxValues(m notify.Message) ([]any, error) {
	if err := checkMessage(m); err != nil {
		return nil, err
	}
	next, created, queued := messageTimes(m)
	return []any{string(m.Kind), m.Cause, m.Recipient, m.Address, m.Channel, m.Subject, m.Body,
		next, created, queued}, nil
}

// checkMessage refuses a message without its cause, recipient, channel or time.
func checkMessage(m notify.Message) error {
	if m.CreatedAt.IsZero() || m.Cause == "" || m.Recipient == "" || m.Channel == "" {
		return fmt.Errorf("enqueue %s message %q to %q over %q: cause, recipient, channel and created_at are required",
			m.Kind, m.Cause, m.Recipient, m.Channel)
	}
	return nil
}

// Enqueue writes msgs into the outbox in a transaction of its own.
func (db *DB) Enqueue(ctx context.Context, msgs []notify.Message) error {
	return db.InTx(ctx, func(tx *Tx) error { return EnqueueTx(ctx, tx, msgs) })
}

// Outbox is the stored outbox; it implements notify.Outbox.
type Outbox struct{ db *DB }

// Outbox returns the database's outbox.
func (db *DB) Outbox() *Outbox { return &Outbox{db} }

var _ notify.Outbox = (*Outbox)(nil)

const outboxCols = `id, kind, cause, recipient, address, channel, subject, body, state, attempts,
	next_attempt_at, last_error, created_at, queued_at, delivered_at`

type outboxRow struct {
	ID            int64   `db:"id"`
	Kind          string  `db:"kind"`
	Cause         string  `db:"cause"`
	Recipient     string  `db:"recipient"`
	Address       string  `db:"address"`
	Channel       string  `db:"channel"`
	Subject       string  `db:"subject"`
	Body          string  `db:"body"`
	State         string  `db:"state"`
	Attempts      int     `db:"attempts"`
	NextAttemptAt Instant `db:"next_attempt_at"`
	LastError     string  `db:"last_error"`
	CreatedAt     Instant `db:"created_at"`
	QueuedAt      Instant `db:"queued_at"`
	DeliveredAt   Instant `db:"delivered_at"`
}

func (r outboxRow) message() notify.Message {
	m := notify.Message{ID: r.ID, Kind: notify.Kind(r.Kind), Cause: r.Cause, Recipient: r.Recipient,
		Address: r.Address, Channel: r.Channel, Subject: r.Subject, Body: r.Body, State: notify.State(r.State),
		Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.T().UTC(), LastError: r.LastError,
		CreatedAt: r.CreatedAt.T().UTC(), QueuedAt: r.QueuedAt.T().UTC()}
	if t := r.DeliveredAt.T(); !t.IsZero() {
		t = t.UTC()
		m.DeliveredAt = &t
	}
	return m
}

func messages(rows []outboxRow) []notify.Message {
	out := make([]notify.Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out
}

// Claim leases up to limit due messages until now+lease. A message is due
// when pending with next_attempt_at <= now, or sending with its lease
// (kept in next_attempt_at as well as claimed_until) ended. PostgreSQL
// locks the chosen rows with FOR UPDATE SKIP LOCKED, so concurrent
// dispatchers claim disjoint sets; SQLite has one writer at a time.
func (o *Outbox) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]notify.Message, error) {
	until := Instant(now.Add(lease))
	var q string
	if o.db.Dialect == Postgres {
		q = `WITH due AS (
				SELECT id FROM outbox
				WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
				ORDER BY next_attempt_at LIMIT $3
				FOR UPDATE SKIP LOCKED)
			UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1,
				claimed_until = $2, next_attempt_at = $2
			FROM due WHERE o.id = due.id
			RETURNING o.id, o.kind, o.cause, o.recipient, o.address, o.channel, o.subject, o.body, o.state,
				o.attempts, o.next_attempt_at, o.last_error, o.created_at, o.queued_at, o.delivered_at`
	} else {
		q = `UPDATE outbox SET state = 'sending', attempts = attempts + 1,
				claimed_until = $2, next_attempt_at = $2
			WHERE id IN (
				SELECT id FROM outbox
				WHERE state IN ('pending', 'sending') AND next_attempt_at <= $1
				ORDER BY next_attempt_at LIMIT $3)
			RETURNING ` + outboxCols
	}
	var rows []outboxRow
	if err := o.db.X.SelectContext(ctx, &rows, q, Instant(now), until, limit); err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return messages(rows), nil
}

func outcomeName(s notify.State) string {
	switch s {
	case notify.Delivered:
		return "delivered"
	case notify.Dead:
		return "dead"
	}
	return "retry"
}

// Record stores attempt outcomes in one transaction: each message's new
// state (only if it is still under the same claim: state sending with the
// same attempt count) and one outbox_attempts row per attempt.
func (o *Outbox) Record(ctx context.Context, outcomes []notify.Outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	return o.db.InTx(ctx, func(tx *Tx) error {
		if tx.Dialect == Postgres {
			return recordPostgres(ctx, tx, outcomes)
		}
		return recordSQLite(ctx, tx, outcomes)
	})
}

func recordPostgres(ctx context.Context, tx *Tx, outcomes []notify.Outcome) error {
	n := len(outcomes)
	ids, attempts := make([]int64, n), make([]int64, n)
	states, outs, errs := make([]string, n), make([]string, n), make([]string, n)
	starts, nexts := make([]string, n), make([]string, n)
	durs := make([]float64, n)
	for i, oc := range outcomes {
		ids[i], attempts[i] = oc.ID, int64(oc.Attempt)
		states[i], outs[i], errs[i] = string(oc.State), outcomeName(oc.State), oc.Error
		starts[i] = oc.Started.UTC().Format(InstantLayout)
		next := oc.NextAttemptAt
		if next.IsZero() {
			next = oc.Started
		}
		nexts[i] = next.UTC().Format(InstantLayout)
		durs[i] = float64(oc.Duration) / float64(time.Millisecond)
	}
	_, err := tx.ExecContext(ctx, `
		WITH r AS (
			SELECT * FROM unnest(CAST($1 AS bigint[]), CAST($2 AS int[]), CAST($3 AS text[]),
				CAST($4 AS timestamptz[]), CAST($5 AS timestamptz[]), CAST($6 AS text[]))
				AS r(id, attempt, state, started, next_at, err))
		UPDATE outbox m SET state = r.state, next_attempt_at = r.next_at, claimed_until = NULL,
			last_error = r.err,
			delivered_at = CASE WHEN r.state = 'delivered' THEN r.started ELSE m.delivered_at END
		FROM r WHERE m.id = r.id AND m.attempts = r.attempt AND m.state = 'sending'`,
		pq.Array(ids), pq.Array(attempts), pq.Array(states), pq.Array(starts), pq.Array(nexts), pq.Array(errs))
	if err != nil {
		return fmt.Errorf("record deliveries: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO outbox_attempts (message_id, attempt, started_at, duration_ms, outcome, error)
		SELECT * FROM unnest(CAST($1 AS bigint[]), CAST($2 AS int[]), CAST($3 AS timestamptz[]),
			CAST($4 AS float8[]), CAST($5 AS text[]), CAST($6 AS text[]))`,
		pq.Array(ids), pq.Array(attempts), pq.Array(starts), pq.Array(durs), pq.Array(outs), pq.Array(errs))
	if err != nil {
		return fmt.Errorf("log deliveries: %w", err)
	}
	return nil
}

func recordSQLite(ctx context.Context, tx *Tx, outcomes []notify.Outcome) error {
	upd, err := tx.PrepareContext(ctx, `UPDATE outbox SET state = ?, next_attempt_at = ?, claimed_until = NULL,
			last_error = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
		WHERE id = ? AND attempts = ? AND state = 'sending'`)
	if err != nil {
		return err
	}
	defer upd.Close()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO outbox_attempts
		(message_id, attempt, started_at, duration_ms, outcome, error) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, oc := range outcomes {
		next := oc.NextAttemptAt
		if next.IsZero() {
			next = oc.Started
		}
		if _, err := upd.ExecContext(ctx, string(oc.State), Instant(next), oc.Error, string(oc.State),
			Instant(oc.Started), oc.ID, oc.Attempt); err != nil {
			return fmt.Errorf("record delivery of %d: %w", oc.ID, err)
		}
		if _, err := ins.ExecContext(ctx, oc.ID, oc.Attempt, Instant(oc.Started),
			float64(oc.Duration)/float64(time.Millisecond), outcomeName(oc.State), oc.Error); err != nil {
			return fmt.Errorf("log delivery of %d: %w", oc.ID, err)
		}
	}
	return nil
}

// OutboxFilter selects messages to list.
type OutboxFilter struct {
	ID    int64        // 0: all
	State notify.State // empty: all
	Limit int          // 0: all
}

// List returns messages, oldest first.
func (o *Outbox) List(ctx context.Context, f OutboxFilter) ([]notify.Message, error) {
	q := `SELECT ` + outboxCols + ` FROM outbox`
	q += ` WHERE 1 = 1`
	var args []any
	if f.ID != 0 {
		q += ` AND id = ?`
		args = append(args, f.ID)
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	var rows []outboxRow
	if err := o.db.X.SelectContext(ctx, &rows, o.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return messages(rows), nil
}

// Attempt is one row of the delivery log.
type Attempt struct {
	MessageID int64     `json:"message_id"`
	Attempt   int       `json:"attempt"`
	StartedAt time.Time `json:"started_at"`
	Duration  float64   `json:"duration_ms"`
	Outcome   string    `json:"outcome"` // delivered, retry, dead, resend
	Error     string    `json:"error,omitempty"`
}

// Attempts returns the delivery log of a message, oldest first.
func (o *Outbox) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	var rows []struct {
		MessageID int64   `db:"message_id"`
		Attempt   int     `db:"attempt"`
		StartedAt Instant `db:"started_at"`
		Duration  float64 `db:"duration_ms"`
		Outcome   string  `db:"outcome"`
		Error     string  `db:"error"`
	}
	err := o.db.X.SelectContext(ctx, &rows, o.db.Rebind(`SELECT message_id, attempt, started_at, duration_ms, outcome, error
		FROM outbox_attempts WHERE message_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, fmt.Errorf("delivery log of %d: %w", id, err)
	}
	out := make([]Attempt, len(rows))
	for i, r := range rows {
		out[i] = Attempt{r.MessageID, r.Attempt, r.StartedAt.T().UTC(), r.Duration, r.Outcome, r.Error}
	}
	return out, nil
}

// ResendError refuses a resend: no such message, or one still queued.
type ResendError struct{ Msg string }

func (e *ResendError) Error() string  { return e.Msg }
func (e *ResendError) BadInput() bool { return true }

// Resend puts a delivered or dead message back to pending, due now, with
// its age reset, and logs who did it in the delivery log.
func (o *Outbox) Resend(ctx context.Context, id int64, now time.Time, by string) (notify.Message, error) {
	var m notify.Message
	err := o.db.InTx(ctx, func(tx *Tx) error {
		var row outboxRow
		q := `SELECT ` + outboxCols + ` FROM outbox WHERE id = ?`
		if tx.Dialect == Postgres {
			q += ` FOR UPDATE`
		}
		if err := tx.GetContext(ctx, &row, tx.Rebind(q), id); errors.Is(err, sql.ErrNoRows) {
			return &ResendError{fmt.Sprintf("通知 %d 不存在", id)}
		} else if err != nil {
			return err
		}
		if s := notify.State(row.State); s != notify.Delivered && s != notify.Dead {
			return &ResendError{fmt.Sprintf("通知 %d 的状态为 %s (%s), 只能重发已送达或发送失败的通知", id, s, s.Label())}
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE outbox SET state = 'pending', next_attempt_at = ?,
				queued_at = ?, claimed_until = NULL WHERE id = ?`), Instant(now), Instant(now), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO outbox_attempts
				(message_id, attempt, started_at, duration_ms, outcome, error) VALUES (?, ?, ?, 0, 'resend', ?)`),
			id, row.Attempts, Instant(now), "resent by "+by+" (was "+row.State+")"); err != nil {
			return err
		}
		if tx.Dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, outboxChannel); err != nil {
				return err
			}
		}
		row.State, row.NextAttemptAt, row.QueuedAt = string(notify.Pending), Instant(now), Instant(now)
		m = row.message()
		return nil
	})
	return m, err
}

// ListenOutbox returns a channel that receives a value when messages are
// committed (PostgreSQL LISTEN/NOTIFY) and after the listener reconnects
// (it may have missed notifications: the receiver should re-scan). Values
// coalesce. On SQLite it returns nil, a channel that never fires: the
// dispatcher's periodic re-scan is all there is. The listener ends with ctx.
func (db *DB) ListenOutbox(ctx context.Context) (<-chan struct{}, error) {
	if db.Dialect != Postgres {
		return nil, nil
	}
	l := pq.NewListener(db.url, 100*time.Millisecond, 10*time.Second, nil)
	if err := l.Listen(outboxChannel); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen for notifications: %w", err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer l.Close()
		ping := time.NewTicker(90 * time.Second)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-l.Notify: // nil after a reconnect: wake up and re-scan all the same
				select {
				case ch <- struct{}{}:
				default:
				}
			case <-ping.C:
				go l.Ping()
			}
		}
	}()
	return ch, nil
}

// Directory returns the recipients directory read through the database.
func (db *DB) Directory() notify.Directory { return directory{db.X} }

// Directory returns the recipients directory read inside tx, so the
// messages a transaction enqueues see its own writes.
func (tx *Tx) Directory() notify.Directory { return directory{tx.Tx} }

type directory struct {
	q interface {
		sqlx.QueryerContext
		Rebind(string) string
	}
}

func (d directory) Adviser(ctx context.Context, code string) (notify.Person, error) {
	var r struct {
		Name      string         `db:"name"`
		CardEmail string         `db:"email"`
		Login     sql.NullString `db:"login"`
		UserEmail sql.NullString `db:"user_email"`
	}
	err := sqlx.GetContext(ctx, d.q, &r, d.q.Rebind(`SELECT a.name, a.email, u.login, u.email AS user_email
		FROM advisers a LEFT JOIN users u ON u.adviser_id = a.id AND u.role = 'adviser'
		WHERE a.code = ? ORDER BY u.id LIMIT 1`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return notify.Person{}, noAdviser(code)
	}
	if err != nil {
		return notify.Person{}, err
	}
	return adviserPerson(code, r.Name, r.CardEmail, r.Login, r.UserEmail), nil
}

func noAdviser(code string) error { return fmt.Errorf("法律顾问 %s 不存在", code) }

// adviserPerson is an adviser as a recipient: its user's login when it has
// one, its service card's e-mail, else its user's.
func adviserPerson(code, name, cardEmail string, login, userEmail sql.NullString) notify.Person {
	p := notify.Person{Login: "adviser:" + code, Name: name, Email: cardEmail}
	if login.Valid {
		p.Login = login.String
	}
	if p.Email == "" {
		p.Email = userEmail.String
	}
	return p
}

// officersSelect reads township officers; followed by a condition and the
// order (by login within a township).
const officersSelect = `SELECT t.name AS township, u.login, u.name, u.email FROM users u
	JOIN townships t ON t.id = u.township_id WHERE u.role = 'officer'`

func (d directory) Officers(ctx context.Context, township string) ([]notify.Person, error) {
	ps, _, err := d.people(ctx, officersSelect+` AND t.name = ? ORDER BY u.login`, township)
	return ps, err
}

func (d directory) Supervisors(ctx context.Context) ([]notify.Person, error) {
	ps, _, err := d.people(ctx, `SELECT login, name, email FROM users WHERE role = 'supervisor' ORDER BY login`)
	return ps, err
}

// people reads users as recipients, with their townships when q selects them.
func (d directory) people(ctx context.Context, q string, args ...any) ([]notify.Person, []string, error) {
	var rows []struct {
		Township string `db:"township"`
		Login    string `db:"login"`
		Name     string `db:"name"`
		Email    string `db:"email"`
	}
	if err := sqlx.SelectContext(ctx, d.q, &rows, d.q.Rebind(q), args...); err != nil {
		return nil, nil, err
	}
	out := make([]notify.Person, len(rows))
	townships := make([]string, len(rows))
	for i, r := range rows {
		out[i] = notify.Person{Login: r.Login, Name: r.Name, Email: r.Email}
		townships[i] = r.Township
	}
	return out, townships, nil
}
