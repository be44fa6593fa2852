package store

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// group runs concurrent calls of one kind together: each call queues, and a
// caller that finds fewer than maxLeaders calls leading becomes a leader
// itself. A leader takes the queued calls (as many as take accepts) and
// runs them with one statement, while calls arriving meanwhile queue for the
// next one; it leads until its own call has been taken (by itself or another
// leader), then passes the lead to the oldest waiting call, so that no
// caller works for others indefinitely. A call alone is run at once by its
// own caller: grouping costs nothing without concurrency.
//
// It is what lets concurrent transitions share a round trip and a commit
// (transitionGroup) and concurrent reads of findings a round trip.
type group[T any] struct {
	mu         sync.Mutex
	queue      []*groupCall[T]
	leaders    int
	maxLeaders int
	lastBatch  atomic.Int32 // calls in the latest batch
}

// groupCall is one queued call: its argument, and its outcome once run.
type groupCall[T any] struct {
	arg      T
	done     chan error    // the outcome, sent once the call's statement has run
	lead     chan struct{} // this caller is to lead
	taken    bool          // in a statement (under the group's lock)
	promoted bool          // the lead was passed to this caller (under the group's lock)
}

// errAlone is the outcome of a call its batch could not serve (its
// statement failed, or a transition's finding was locked by another
// transaction): the caller is to run it with a statement of its own, with
// its own context, so that any error is its own.
var errAlone = errors.New("run alone")

// groupTimeout bounds a batch's statement, which runs with a context of its
// own (not the leader's, whose end must not fail the others).
const groupTimeout = 30 * time.Second

// do queues arg and returns its outcome. take splits the queue (oldest
// first) into the calls of one statement and the rest; run runs a batch and
// sends each call's outcome on its done channel. Should ctx end while the
// call still waits in the queue, it is dropped unrun and do returns ctx's
// error; once taken, it runs for the others' sake, and do returns ctx's
// error without waiting (the statement may still commit, as a statement
// whose context ends during its commit may).
func (g *group[T]) do(ctx context.Context, arg T, take func([]*groupCall[T]) (batch, rest []*groupCall[T]),
	run func(context.Context, []*groupCall[T])) error {
	c := &groupCall[T]{arg: arg, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.leaders < g.maxLeaders {
		g.promoteLocked(c)
	}
	g.mu.Unlock()
	select {
	case err := <-c.done:
		return err
	case <-c.lead:
		g.lead(ctx, c, take, run)
		return <-c.done
	case <-ctx.Done():
		select {
		case err := <-c.done:
			return err
		default:
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if !c.taken {
			g.queue = removeCall(g.queue, c)
		}
		if c.promoted {
			g.resignLocked()
		}
		return ctx.Err()
	}
}

// leadContext is the context of a leader's statements, which run for every
// call in them: one caller's end must not cancel the others', but a stuck
// statement must not hold them forever. A context that cannot end is kept
// as it is: a context that can end costs lib/pq and database/sql a
// goroutine per statement to watch it.
func leadContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Done() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), groupTimeout)
}

func (g *group[T]) promoteLocked(c *groupCall[T]) {
	g.leaders++
	c.promoted = true
	c.lead <- struct{}{}
}

// resignLocked gives up a lead, passing it to the oldest waiting call.
func (g *group[T]) resignLocked() {
	g.leaders--
	for _, q := range g.queue {
		if !q.promoted {
			g.promoteLocked(q)
			return
		}
	}
}

// lead runs batches of queued calls until c has been taken, then resigns.
// ctx is c's caller's.
func (g *group[T]) lead(ctx context.Context, c *groupCall[T], take func([]*groupCall[T]) (batch, rest []*groupCall[T]),
	run func(context.Context, []*groupCall[T])) {
	for {
		// When calls have been coming together, let callers that are
		// runnable already (woken by the statement that just ran: their
		// next call follows at once) join the batch. Not otherwise: a yield
		// wakes another thread of the runtime, which costs a lone caller
		// two context switches for nothing.
		if g.lastBatch.Load() > 1 {
			runtime.Gosched()
		}
		g.mu.Lock()
		if c.taken {
			g.resignLocked()
			g.mu.Unlock()
			return
		}
		batch, rest := take(g.queue)
		g.lastBatch.Store(int32(len(batch)))
		for _, b := range batch {
			b.taken = true
		}
		clear(g.queue[len(rest):])
		g.queue = rest
		g.mu.Unlock()
		if len(batch) == 1 && batch[0] == c {
			run(ctx, batch) // its own call alone: as its caller asks
			continue
		}
		lctx, cancel := leadContext(ctx)
		run(lctx, batch)
		cancel()
	}
}

func removeCall[T any](qs []*groupCall[T], c *groupCall[T]) []*groupCall[T] {
	for i, q := range qs {
		if q == c {
			return append(qs[:i], qs[i+1:]...)
		}
	}
	return qs
}
