package store

import (
	"bytes"
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"ducha/workflow"
)

// WriteGrouped writes ts as one group, as the leader of concurrent writers
// would, and returns each transition's outcome (PostgreSQL only).
func WriteGrouped(ctx context.Context, db *DB, ts []*workflow.Transition) []error {
	g := db.group
	errs := make([]error, len(ts))
	if err := g.prepare(ctx, db); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	batch := make([]*groupCall[*workflow.Transition], len(ts))
	for i, t := range ts {
		batch[i] = &groupCall[*workflow.Transition]{arg: t, done: make(chan error, 1)}
	}
	g.flush(ctx, batch)
	for i, p := range batch {
		if errs[i] = <-p.done; errors.Is(errs[i], errAlone) {
			errs[i] = g.writeAlone(ctx, db, p.arg)
		}
	}
	return errs
}

// HoldGroupLeaders marks every lead of db's transition group as taken (as
// when that many grouped statements are in flight) until release is called;
// writers meanwhile queue.
func HoldGroupLeaders(db *DB) (release func()) {
	g := db.group
	g.mu.Lock()
	g.leaders += writeLeaders
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for range writeLeaders {
			g.resignLocked()
		}
	}
}

// GroupQueued is how many transitions wait in db's group.
func GroupQueued(db *DB) int {
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return len(db.group.queue)
}

// ReadGrouped reads ids as one group, as the leader of concurrent readers
// would, and returns each read's finding and error (PostgreSQL only).
func ReadGrouped(ctx context.Context, s *Findings, ids []int64) ([]*workflow.Finding, []error) {
	if err := s.prepare(ctx); err != nil {
		panic(err)
	}
	batch := make([]*groupCall[*findingRead], len(ids))
	for i, id := range ids {
		batch[i] = &groupCall[*findingRead]{arg: &findingRead{id: id}, done: make(chan error, 1)}
	}
	s.readMany(ctx, batch)
	fs, errs := make([]*workflow.Finding, len(ids)), make([]error, len(ids))
	for i, c := range batch {
		if errs[i] = <-c.done; errors.Is(errs[i], errAlone) {
			c.arg.f, errs[i] = s.readOne(ctx, c.arg.id)
		}
		fs[i] = c.arg.f
	}
	return fs, errs
}

// WriteAlone writes t with a statement of its own, as a caller does when its
// group could not serve it.
func WriteAlone(ctx context.Context, db *DB, t *workflow.Transition) error {
	if err := db.group.prepare(ctx, db); err != nil {
		return err
	}
	return db.group.writeAlone(ctx, db, t)
}

// CopyRows streams query's rows from PostgreSQL in binary COPY format and
// returns them as parsed by the facts stream's parser, the stream fed to it
// in pieces of chunk bytes, together with the raw stream.
func CopyRows(ctx context.Context, db *DB, query string, chunk int) (rows [][][]byte, raw []byte, err error) {
	conn, err := pgconn.Connect(ctx, db.url)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(ctx)
	var buf bytes.Buffer
	if _, err := conn.CopyTo(ctx, &buf, "COPY ("+query+") TO STDOUT (FORMAT binary)"); err != nil {
		return nil, nil, err
	}
	raw = buf.Bytes()
	c := &binaryCopy{row: func(fields [][]byte) error {
		row := make([][]byte, len(fields))
		for i, f := range fields {
			if f != nil {
				row[i] = append([]byte{}, f...)
			}
		}
		rows = append(rows, row)
		return nil
	}}
	for p := raw; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := c.Write(p[:n]); err != nil {
			return nil, raw, err
		}
		p = p[n:]
	}
	return rows, raw, c.finish()
}

// ParseBinaryCopy parses a whole binary COPY stream.
func ParseBinaryCopy(stream []byte) error {
	c := &binaryCopy{row: func([][]byte) error { return nil }}
	if _, err := c.Write(stream); err != nil {
		return err
	}
	return c.finish()
}
