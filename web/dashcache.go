package web

import (
	"context"
	"sync"
	"time"
)

// dashCache shares each scope's dashboard between requests, so that 50
// clients asking at once cost one set of aggregate queries, not 50.
//
// Staleness bound. Figures are served stale-while-revalidate: an entry
// older than ttl, or read before a change made through this server, is
// still served while one background rebuild runs (never more than one per
// scope), so no request queues behind the aggregate queries. Hence:
//
//   - a change made through another process (the engine, the command
//     line, another `ducha serve`) shows within ttl plus one build;
//   - a change made through this server shows to everyone within one
//     build (the change starts it);
//   - a user who made a change sees it at once: that user's next dashboard
//     waits, if it must, for a build that started after the change
//     (changed records the generation per user).
//
// Every page says when its figures were computed (Dashboard.ComputedAt).
// The cache's clock (now) measures the entries' age only; it is
// time.Now outside tests.
type dashCache struct {
	ttl     time.Duration
	now     func() time.Time
	timeout time.Duration // of one build

	mu      sync.Mutex
	gen     uint64            // bumped by changed
	seen    map[string]uint64 // per user: the generation of their last change
	entries map[dashKey]*dashEntry
}

// dashKey is a scope ("" for the whole county) on a civil date: colours
// depend on the date, so a new day starts a new entry.
type dashKey struct {
	township string
	day      string
}

type dashEntry struct {
	d        *Dashboard // the figures served; nil until a build succeeds
	gen      uint64     // the generation d was read at (its build's start)
	at       time.Time  // when d's build started
	retry    time.Time  // after a failed refresh: no new one before this
	building *dashBuild // the build in flight, if any
}

type dashBuild struct {
	gen  uint64
	at   time.Time
	done chan struct{} // closed when d, err are set
	d    *Dashboard
	err  error
}

// maxDashEntries bounds the scopes kept (a supervisor may ask for any
// township name).
const maxDashEntries = 256

func newDashCache(ttl time.Duration) *dashCache {
	return &dashCache{ttl: ttl, now: time.Now, timeout: 30 * time.Second,
		seen: map[string]uint64{}, entries: map[dashKey]*dashEntry{}}
}

type buildFunc func(context.Context) (*Dashboard, error)

// get returns the dashboard of key for user (the login the freshness
// guarantee is kept for), building it with build when needed.
func (c *dashCache) get(ctx context.Context, key dashKey, user string, build buildFunc) (*Dashboard, error) {
	if c.ttl < 0 {
		return build(ctx)
	}
	c.mu.Lock()
	now := c.now()
	need := c.seen[user]
	e := c.entries[key]
	if e == nil {
		c.prune(key)
		e = &dashEntry{}
		c.entries[key] = e
	}
	if e.d != nil && e.gen >= need {
		due := e.gen < c.gen || now.Sub(e.at) >= c.ttl
		if due && e.building == nil && !now.Before(e.retry) {
			c.start(key, e, build, now)
		}
		d := e.d
		c.mu.Unlock()
		return d, nil
	}
	// Nothing servable: wait for a build that read the database after
	// user's last change (joining the one in flight when it did).
	b := e.building
	if b == nil || b.gen < need {
		b = c.start(key, e, build, now)
	}
	c.mu.Unlock()
	select {
	case <-b.done:
		return b.d, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start runs a build of key in the background; c.mu is held.
func (c *dashCache) start(key dashKey, e *dashEntry, build buildFunc, now time.Time) *dashBuild {
	b := &dashBuild{gen: c.gen, at: now, done: make(chan struct{})}
	e.building = b
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		b.d, b.err = build(ctx)
		c.mu.Lock()
		if e.building == b {
			e.building = nil
		}
		if b.err != nil {
			e.retry = c.now().Add(c.ttl)
		} else if e.d == nil || b.gen >= e.gen {
			e.d, e.gen, e.at, e.retry = b.d, b.gen, b.at, time.Time{}
		}
		c.mu.Unlock()
		close(b.done)
	}()
	return b
}

// prune drops the entries of other days and, past maxDashEntries, idle
// ones; c.mu is held.
func (c *dashCache) prune(key dashKey) {
	for k, e := range c.entries {
		if k.day != key.day && e.building == nil {
			delete(c.entries, k)
		}
	}
	for k, e := range c.entries {
		if len(c.entries) < maxDashEntries {
			break
		}
		if e.building == nil {
			delete(c.entries, k)
		}
	}
}

// changed records that findings (or rounds) changed through this server,
// by user ("" for nobody in particular): every entry is rebuilt, and
// user's next dashboard shows the change.
func (c *dashCache) changed(user string) {
	c.mu.Lock()
	c.gen++
	if user != "" {
		c.seen[user] = c.gen
	}
	c.mu.Unlock()
}
