package web

import (
	"context"
	"sync"
	"time"

	"ducha/store"
	"ducha/workflow"
)

// sessionCache keeps sessions read from the database for a short while, so
// that a page request usually costs no database round trip before its
// handler runs (every page request needs its session).
//
// Staleness bound: a session's expiry is checked on every request against
// the server's clock, and a logout or login through this server forgets
// the session at once. What it cannot see is a change made through
// another process sharing the database (a logout on another `ducha
// serve`, a user's role or township changed there): that takes effect
// here within ttl. Unknown session ids are never remembered, so guessing
// ids fills nothing.
type sessionCache struct {
	ttl time.Duration
	now func() time.Time // the entries' age only; time.Now outside tests

	mu    sync.Mutex
	m     map[string]sessionEntry // by session id hash
	epoch uint64                  // bumped by forget: a read that started before is not kept
}

type sessionEntry struct {
	info store.SessionInfo
	read time.Time // on the cache's clock
}

// maxSessions bounds the sessions remembered; past it, stale entries go
// first, then any.
const maxSessions = 10_000

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, now: time.Now, m: map[string]sessionEntry{}}
}

// lookupFunc reads a session from the database.
type lookupFunc func(ctx context.Context, idHash string, now time.Time) (*store.SessionInfo, error)

// session returns the user and CSRF token of the unexpired session idHash
// at now (the server's clock), reading it with lookup when it is not
// remembered or was read more than ttl ago.
func (c *sessionCache) session(ctx context.Context, idHash string, now time.Time, lookup lookupFunc) (*workflow.User, string, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.m[idHash]
		c.mu.Unlock()
		if ok && c.now().Sub(e.read) < c.ttl && now.Before(e.info.Expires) {
			u := e.info.User // a copy: handlers may not share it
			return &u, e.info.CSRF, nil
		}
	}
	c.mu.Lock()
	read, epoch := c.now(), c.epoch
	c.mu.Unlock()
	si, err := lookup(ctx, idHash, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.m, idHash)
		return nil, "", err
	}
	// A session logged out while it was being read may have been read
	// before the logout: it is not kept.
	if c.ttl > 0 && c.epoch == epoch {
		if len(c.m) >= maxSessions {
			c.evict()
		}
		c.m[idHash] = sessionEntry{info: *si, read: read}
	}
	u := si.User
	return &u, si.CSRF, nil
}

// evict makes room; c.mu is held.
func (c *sessionCache) evict() {
	now := c.now()
	for k, e := range c.m {
		if now.Sub(e.read) >= c.ttl {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < maxSessions {
			break
		}
		delete(c.m, k)
	}
}

// forget drops a session that was logged out or replaced, after its
// deletion from the database.
func (c *sessionCache) forget(idHash string) {
	c.mu.Lock()
	delete(c.m, idHash)
	c.epoch++
	c.mu.Unlock()
}
