package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ducha/bulletin"
	"ducha/workflow"
)

// Published is a bulletin as stored: its number, what it reports on, and
// the frozen content it is rendered from.
type Published struct {
	ID          int64
	Number      bulletin.Number
	RoundID     int64 // 0: none
	CorrectsID  int64 // 0: not a correction
	Reason      string
	Title       string
	PublishedAt time.Time
	PublishedBy string
	Bulletin    *bulletin.Bulletin // nil in listings
}

// BulletinNotFoundError names a bulletin number that was never published.
type BulletinNotFoundError struct{ Number bulletin.Number }

func (e *BulletinNotFoundError) Error() string {
	return fmt.Sprintf("没有%s督查通报", e.Number)
}
func (e *BulletinNotFoundError) BadInput() bool { return true }

// PublishBulletin numbers b and stores it, inside tx: the number is the
// next of the year of b.Date (per year, gap-free: a rollback returns it),
// written into b.Number before b is frozen as JSON. A correction (b.Corrects
// set) must name a published bulletin. roundID 0 means none.
func PublishBulletin(ctx context.Context, tx *Tx, b *bulletin.Bulletin, roundID int64, by string, at time.Time) (*Published, error) {
	if b.Date.IsZero() {
		return nil, errors.New("publish bulletin: no date")
	}
	p := &Published{RoundID: roundID, PublishedAt: at, PublishedBy: by}
	if c := b.Corrects; c != nil {
		if c.Reason == "" {
			return nil, &usageErr{"更正通报必须说明更正原因"}
		}
		err := tx.GetContext(ctx, &p.CorrectsID, tx.Rebind(`SELECT id FROM bulletins WHERE year = ? AND seq = ?`),
			c.Number.Year, c.Number.Seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &BulletinNotFoundError{c.Number}
		}
		if err != nil {
			return nil, fmt.Errorf("publish bulletin: %w", err)
		}
		p.Reason = c.Reason
	}
	year := b.Date.Year()
	var seq int
	// The counter row is locked until this transaction ends (PostgreSQL row
	// lock; SQLite's immediate transactions write one at a time).
	err := tx.GetContext(ctx, &seq, tx.Rebind(`INSERT INTO bulletin_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = bulletin_counters.last + 1 RETURNING last`), year)
	if err != nil {
		return nil, fmt.Errorf("publish bulletin: take number: %w", err)
	}
	b.Number = bulletin.Number{Year: year, Seq: seq}
	p.Number, p.Title, p.Bulletin = b.Number, b.Headline(), b
	content, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	err = tx.GetContext(ctx, &p.ID, tx.Rebind(`INSERT INTO bulletins (year, seq, round_id, corrects_id, reason, title,
		published_at, published_by, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		year, seq, nullID(roundID), nullID(p.CorrectsID), p.Reason, p.Title, Instant(at), by, string(content))
	if err != nil {
		return nil, fmt.Errorf("publish bulletin: %w", err)
	}
	return p, nil
}

// PublishBulletin publishes b in a transaction of its own.
func (db *DB) PublishBulletin(ctx context.Context, b *bulletin.Bulletin, roundID int64, by string, at time.Time) (*Published, error) {
	var p *Published
	err := db.InTx(ctx, func(tx *Tx) error {
		var err error
		p, err = PublishBulletin(ctx, tx, b, roundID, by, at)
		return err
	})
	return p, err
}

const bulletinCols = `id, year, seq, COALESCE(round_id, 0), COALESCE(corrects_id, 0), reason, title, published_at, published_by`

func scanPublished(row interface{ Scan(...any) error }, extra ...any) (*Published, error) {
	p := &Published{}
	var at Instant
	dest := append([]any{&p.ID, &p.Number.Year, &p.Number.Seq, &p.RoundID, &p.CorrectsID, &p.Reason, &p.Title,
		&at, &p.PublishedBy}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	p.PublishedAt = at.T().In(workflow.Shanghai)
	return p, nil
}

// Bulletins lists the published bulletins of a year (all years when 0), by number.
func (db *DB) Bulletins(ctx context.Context, year int) ([]*Published, error) {
	q, args := `SELECT `+bulletinCols+` FROM bulletins`, []any(nil)
	if year != 0 {
		q, args = q+` WHERE year = ?`, []any{year}
	}
	rows, err := db.X.QueryContext(ctx, db.Rebind(q+` ORDER BY year, seq`), args...)
	if err != nil {
		return nil, fmt.Errorf("list bulletins: %w", err)
	}
	var out []*Published
	err = scanAll(rows, func() error {
		p, err := scanPublished(rows)
		if err == nil {
			out = append(out, p)
		}
		return err
	})
	return out, err
}

// Bulletin reads one published bulletin with its frozen content.
func (db *DB) Bulletin(ctx context.Context, n bulletin.Number) (*Published, error) {
	var content string
	p, err := scanPublished(db.X.QueryRowContext(ctx, db.Rebind(`SELECT `+bulletinCols+`, content FROM bulletins
		WHERE year = ? AND seq = ?`), n.Year, n.Seq), &content)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &BulletinNotFoundError{n}
	}
	if err != nil {
		return nil, fmt.Errorf("read bulletin %s: %w", n, err)
	}
	p.Bulletin = &bulletin.Bulletin{}
	if err := json.Unmarshal([]byte(content), p.Bulletin); err != nil {
		return nil, fmt.Errorf("read bulletin %s: %w", n, err)
	}
	return p, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// usageErr is a bad request to the store: exit code 2.
type usageErr struct{ msg string }

func (e *usageErr) Error() string  { return e.msg }
func (e *usageErr) BadInput() bool { return true }
