package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Channel delivers a message. Send returns nil when the peer accepted it,
// or an error that says (through Retryable) whether trying again may help.
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// Outbox is the dispatcher's view of stored messages. The store implements
// it on both backends.
type Outbox interface {
	// Claim leases up to limit due messages (pending with next_attempt_at <=
	// now, or sending whose lease ended) until now+lease, incrementing their
	// attempt count. Concurrent claimers never receive the same message.
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Message, error)
	// Record stores the outcomes of attempts: each message's new state and
	// one delivery-log row per attempt. An outcome for a claim that has been
	// superseded (its lease ended and another dispatcher reclaimed the
	// message) changes no message, but its attempt is still logged.
	Record(ctx context.Context, outcomes []Outcome) error
}

// Outcome is the result of one delivery attempt.
type Outcome struct {
	ID            int64
	Attempt       int // the message's attempt count of the claim
	Started       time.Time
	Duration      time.Duration
	State         State     // Delivered, Pending (retry at NextAttemptAt) or Dead
	NextAttemptAt time.Time // for Pending
	Error         string    // empty when delivered
}

// Dispatcher delivers due messages from an Outbox. RunOnce handles one
// batch at an instant given by the caller (tests drive it step by step);
// Start runs it as a service.
type Dispatcher struct {
	Outbox   Outbox
	Channels map[string]Channel
	Config   DispatchConfig
	Now      func() time.Time // default time.Now
	Log      *slog.Logger     // default slog.Default()
	// Wakeups, when set, wakes the service loop early (PostgreSQL
	// LISTEN/NOTIFY); the loop also re-scans every Config.Poll.
	Wakeups <-chan struct{}

	randMu sync.Mutex
	rand   *rand.Rand

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// NewDispatcher returns a dispatcher with defaults filled in; rnd is the
// jitter source (seed it in tests).
func NewDispatcher(ob Outbox, channels []Channel, cfg DispatchConfig, rnd *rand.Rand) *Dispatcher {
	def := DefaultConfig().Dispatch
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	for _, p := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&cfg.Lease, def.Lease}, {&cfg.Poll, def.Poll}, {&cfg.SendTimeout, def.SendTimeout},
		{&cfg.BaseBackoff, def.BaseBackoff}, {&cfg.MaxBackoff, def.MaxBackoff}, {&cfg.MaxAge, def.MaxAge},
	} {
		if *p.dst <= 0 {
			*p.dst = p.v
		}
	}
	if cfg.Lease < 2*cfg.SendTimeout {
		cfg.Lease = 2 * cfg.SendTimeout
	}
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	m := make(map[string]Channel, len(channels))
	for _, c := range channels {
		m[c.Name()] = c
	}
	return &Dispatcher{Outbox: ob, Channels: m, Config: cfg, Now: time.Now, Log: slog.Default(), rand: rnd}
}

// RunOnce claims one batch of messages due at now, delivers them with at
// most Config.Workers at a time, records every attempt and returns how many
// messages it handled.
func (d *Dispatcher) RunOnce(ctx context.Context, now time.Time) (int, error) {
	msgs, err := d.Outbox.Claim(ctx, now, d.Config.Batch, d.Config.Lease)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	// Outcomes are recorded as deliveries finish, a group at a time (group
	// commit): a crash re-sends at most the messages in flight and the group
	// being written, not the whole batch.
	done := make(chan Outcome, len(msgs))
	recorded := make(chan error, 1)
	go func() {
		var firstErr error
		for o := range done {
			group := []Outcome{o}
		drain:
			for {
				select {
				case o, ok := <-done:
					if !ok {
						break drain
					}
					group = append(group, o)
				default:
					break drain
				}
			}
			if err := d.Outbox.Record(context.WithoutCancel(ctx), group); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		recorded <- firstErr
	}()
	// A send must finish while the claim holds, or another dispatcher may
	// deliver the message again: none starts later than a send timeout
	// before the lease ends. Measured in real elapsed time, like the send
	// timeout (the injected clock may be simulated and run fast).
	started := time.Now()
	budget := d.Config.Lease - d.Config.SendTimeout
	sem := make(chan struct{}, d.Config.Workers)
	var wg sync.WaitGroup
	for _, m := range msgs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if time.Since(started) > budget {
				done <- Outcome{ID: m.ID, Attempt: m.Attempts, Started: now, State: Pending,
					NextAttemptAt: now, Error: "not attempted: the claim's lease ran short"}
				return
			}
			done <- d.deliver(ctx, m, now)
		}()
	}
	wg.Wait()
	close(done)
	if err := <-recorded; err != nil {
		return 0, fmt.Errorf("record deliveries: %w", err)
	}
	return len(msgs), nil
}

func (d *Dispatcher) deliver(ctx context.Context, m Message, now time.Time) Outcome {
	o := Outcome{ID: m.ID, Attempt: m.Attempts, Started: now}
	ch, ok := d.Channels[m.Channel]
	var err error
	if !ok {
		err = Transient(fmt.Errorf("channel %q is not configured", m.Channel))
	} else {
		sctx, cancel := context.WithTimeout(ctx, d.Config.SendTimeout)
		t0 := d.Now()
		err = ch.Send(sctx, m)
		o.Duration = d.Now().Sub(t0)
		cancel()
	}
	if err == nil {
		o.State = Delivered
		return o
	}
	o.Error = err.Error()
	if !Retryable(err) {
		o.State = Dead
		return o
	}
	delay := retryAfter(err)
	if delay <= 0 {
		delay = d.backoff(m.Attempts)
	}
	next := now.Add(delay)
	queued := m.QueuedAt
	if queued.IsZero() {
		queued = m.CreatedAt
	}
	if next.Sub(queued) > d.Config.MaxAge {
		o.State = Dead
		o.Error += fmt.Sprintf(" (gave up after %d attempts: older than %s)", m.Attempts, d.Config.MaxAge)
		return o
	}
	o.State, o.NextAttemptAt = Pending, next
	return o
}

// backoff is BaseBackoff doubled per earlier attempt, capped at MaxBackoff,
// with "equal jitter": half fixed, half uniformly random.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.Config.BaseBackoff
	for i := 1; i < attempt && b < d.Config.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.Config.MaxBackoff)
	d.randMu.Lock()
	j := time.Duration(d.rand.Int64N(int64(b)/2 + 1))
	d.randMu.Unlock()
	return b/2 + j
}

// Start runs the dispatcher until ctx ends or Stop is called; it returns at
// once. The loop drains due messages batch by batch, then waits for a
// wake-up or the poll interval.
func (d *Dispatcher) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done != nil {
		return
	}
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go d.loop(ctx)
}

// Stop ends the loop and waits for the batch in flight; safe to call twice
// or without Start.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.done)
	t := time.NewTicker(d.Config.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx, d.Now())
			if err != nil {
				if ctx.Err() == nil {
					d.Log.Error("notify: dispatch", "err", err)
				}
				break
			}
			if n < d.Config.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.Wakeups:
		}
	}
}
