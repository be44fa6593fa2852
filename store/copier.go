package store

import (
	"context"
	"database/sql"
	"sync/atomic"
)

// copier feeds rows to a PostgreSQL COPY … FROM STDIN statement from a
// goroutine of its own: the caller makes the rows (reads and parses a file,
// hashes and transitions findings) on one core while they are converted and
// sent (database/sql and lib/pq: a third of an import's CPU) on another, and
// the server stores them. The transaction must not be used otherwise until
// close has returned.
type copier struct {
	ctx     context.Context
	stmt    *sql.Stmt
	width   int        // values a row
	cur     []any      // rows being gathered, width values each
	batches chan []any // to the goroutine
	free    chan []any // back, for reuse
	done    chan struct{}
	failed  atomic.Bool // err is set
	err     error       // the first error; read after failed or done
}

// copyBatch is how many rows go to the goroutine at a time.
const copyBatch = 512

// startCopy prepares copyStmt in tx and starts sending it rows of width
// values.
func startCopy(ctx context.Context, tx *Tx, copyStmt string, width int) (*copier, error) {
	stmt, err := tx.PrepareContext(ctx, copyStmt)
	if err != nil {
		return nil, err
	}
	c := &copier{ctx: ctx, stmt: stmt, width: width, batches: make(chan []any, 4), free: make(chan []any, 4),
		done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *copier) run() {
	defer close(c.done)
	for b := range c.batches {
		for i := 0; i < len(b) && c.err == nil; i += c.width {
			if _, err := c.stmt.ExecContext(c.ctx, b[i:i+c.width]...); err != nil {
				c.err = err
				c.failed.Store(true)
			}
		}
		select {
		case c.free <- b[:0]:
		default:
		}
	}
}

// add queues one row (its values, in the statement's column order, copied);
// an error is the COPY's, from an earlier row.
func (c *copier) add(vals ...any) error {
	if c.failed.Load() {
		return c.err
	}
	if c.cur == nil {
		select {
		case c.cur = <-c.free:
		default:
			c.cur = make([]any, 0, copyBatch*c.width)
		}
	}
	c.cur = append(c.cur, vals...)
	if len(c.cur) == copyBatch*c.width {
		c.batches <- c.cur
		c.cur = nil
	}
	return nil
}

// close sends the last rows, waits for the goroutine, ends the COPY and
// closes the statement, and returns the first error.
func (c *copier) close() error {
	if len(c.cur) > 0 && !c.failed.Load() {
		c.batches <- c.cur
	}
	c.cur = nil
	close(c.batches)
	<-c.done
	err := c.err
	if err == nil {
		_, err = c.stmt.ExecContext(c.ctx)
	}
	if cerr := c.stmt.Close(); err == nil {
		err = cerr
	}
	return err
}
