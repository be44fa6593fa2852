package workflow

import (
	"context"
	"sync"

	"ducha/notify"
)

// renderer renders the messages of transitions in a goroutine of its own, in
// the order they were added, while its caller goes on: a round renders its
// orders' messages while the store writes the findings.
type renderer struct {
	in    chan *Transition
	done  chan struct{}
	close sync.Once
	msgs  []notify.Message
	err   error
}

// startRenderer starts rendering through n and dir (which must be safe for
// use from another goroutine); n transitions at most are added without
// waiting, and room is made for a message each.
func startRenderer(ctx context.Context, nt Notifier, dir notify.Directory, n int) *renderer {
	r := &renderer{in: make(chan *Transition, n), done: make(chan struct{}), msgs: make([]notify.Message, 0, n)}
	go func() {
		defer close(r.done)
		one := make([]*Transition, 1)
		for t := range r.in {
			if r.err != nil {
				continue
			}
			one[0] = t
			msgs, err := nt.Messages(ctx, dir, one)
			if err != nil {
				r.err = err
				continue
			}
			r.msgs = append(r.msgs, msgs...)
		}
	}()
	return r
}

// add queues t's messages. The renderer keeps a copy of t and of its
// finding, which the caller may go on changing. No-op on a nil renderer.
func (r *renderer) add(t *Transition) {
	if r == nil {
		return
	}
	c, f := *t, *t.Finding
	c.Finding = &f
	r.in <- &c
}

// wait returns the messages of every transition added, in order.
func (r *renderer) wait() ([]notify.Message, error) {
	r.stop()
	return r.msgs, r.err
}

// stop ends the rendering and waits for it. No-op on a nil renderer.
func (r *renderer) stop() {
	if r == nil {
		return
	}
	r.close.Do(func() { close(r.in) })
	<-r.done
}
