package web

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

// fakeSessions is a session table for cache tests, counting its reads.
type fakeSessions struct {
	rows  map[string]store.SessionInfo
	reads int
	// during, when set, runs in the middle of a read (after the row was
	// read, before it is returned).
	during func()
}

func (f *fakeSessions) lookup(_ context.Context, idHash string, now time.Time) (*store.SessionInfo, error) {
	f.reads++
	si, ok := f.rows[idHash]
	if f.during != nil {
		f.during()
	}
	if !ok || !now.Before(si.Expires) {
		return nil, &workflow.NotFoundError{What: "会话"}
	}
	return &si, nil
}

func TestSessionCache(t *testing.T) {
	server := time.Date(2018, 3, 5, 10, 0, 0, 0, time.UTC) // the server's clock (expiry)
	newCase := func(ttl time.Duration) (*sessionCache, *fakeClock, *fakeSessions) {
		clk := &fakeClock{t: server}
		c := newSessionCache(ttl)
		c.now = clk.now
		fs := &fakeSessions{rows: map[string]store.SessionInfo{
			"h1": {User: workflow.User{Login: "sup", Role: workflow.Supervisor}, CSRF: "c1", Expires: server.Add(time.Hour)},
		}}
		return c, clk, fs
	}
	get := func(t *testing.T, c *sessionCache, fs *fakeSessions, id string, now time.Time) (*workflow.User, error) {
		t.Helper()
		u, csrf, err := c.session(context.Background(), id, now, fs.lookup)
		if err == nil && csrf != "c1" {
			t.Fatalf("csrf %q", csrf)
		}
		return u, err
	}

	t.Run("remembered within ttl", func(t *testing.T) {
		c, clk, fs := newCase(5 * time.Second)
		for range 10 {
			if u, err := get(t, c, fs, "h1", server); err != nil || u.Login != "sup" {
				t.Fatalf("%v %v", u, err)
			}
			clk.advance(400 * time.Millisecond)
		}
		if fs.reads != 1 {
			t.Fatalf("%d reads in 4 s with a 5 s ttl", fs.reads)
		}
		clk.advance(time.Second)
		get(t, c, fs, "h1", server)
		if fs.reads != 2 {
			t.Fatalf("not read again after the ttl: %d reads", fs.reads)
		}
	})
	t.Run("a change elsewhere shows within ttl", func(t *testing.T) {
		c, clk, fs := newCase(5 * time.Second)
		get(t, c, fs, "h1", server)
		delete(fs.rows, "h1") // logged out on another server
		if _, err := get(t, c, fs, "h1", server); err != nil {
			t.Fatalf("within the ttl: %v", err)
		}
		clk.advance(5 * time.Second)
		if _, err := get(t, c, fs, "h1", server); !errorsIsNotFound(err) {
			t.Fatalf("after the ttl: %v, want not found", err)
		}
	})
	t.Run("expiry is exact", func(t *testing.T) {
		c, _, fs := newCase(time.Hour)
		get(t, c, fs, "h1", server)
		if _, err := get(t, c, fs, "h1", server.Add(time.Hour-time.Nanosecond)); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		if _, err := get(t, c, fs, "h1", server.Add(time.Hour)); !errorsIsNotFound(err) {
			t.Fatalf("at expiry: %v, want not found", err)
		}
	})
	t.Run("forget", func(t *testing.T) {
		c, _, fs := newCase(time.Hour)
		get(t, c, fs, "h1", server)
		delete(fs.rows, "h1")
		c.forget("h1")
		if _, err := get(t, c, fs, "h1", server); !errorsIsNotFound(err) {
			t.Fatalf("after forget: %v, want not found", err)
		}
	})
	t.Run("logout during a read", func(t *testing.T) {
		c, _, fs := newCase(time.Hour)
		fs.during = func() { // the row was read; now it is logged out
			delete(fs.rows, "h1")
			c.forget("h1")
		}
		get(t, c, fs, "h1", server) // may still succeed: it was valid when read
		fs.during = nil
		if _, err := get(t, c, fs, "h1", server); !errorsIsNotFound(err) {
			t.Fatalf("a read that raced the logout was kept: %v", err)
		}
	})
	t.Run("unknown ids not remembered", func(t *testing.T) {
		c, _, fs := newCase(time.Hour)
		for range 3 {
			get(t, c, fs, "guess", server)
		}
		if fs.reads != 3 || len(c.m) != 0 {
			t.Fatalf("%d reads, %d entries", fs.reads, len(c.m))
		}
	})
	t.Run("callers get copies", func(t *testing.T) {
		c, _, fs := newCase(time.Hour)
		u, _ := get(t, c, fs, "h1", server)
		u.Role = workflow.AdviserRole
		if u, _ := get(t, c, fs, "h1", server); u.Role != workflow.Supervisor {
			t.Fatal("a caller changed the remembered user")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		c, _, fs := newCase(time.Hour)
		for i := range maxSessions + 10 {
			id := string(rune(0x4e00 + i))
			fs.rows[id] = fs.rows["h1"]
			get(t, c, fs, id, server)
		}
		if len(c.m) > maxSessions {
			t.Fatalf("%d sessions remembered, at most %d", len(c.m), maxSessions)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		c, _, fs := newCase(-1)
		get(t, c, fs, "h1", server)
		get(t, c, fs, "h1", server)
		if fs.reads != 2 {
			t.Fatalf("ttl < 0 remembered: %d reads", fs.reads)
		}
	})
}

// TestSessionRecheck checks the bound end to end: a logout through the
// server ends the session at once; a session deleted by another process
// ends within SessionRecheck (on the cache's fake clock).
func TestSessionRecheck(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		clk := &fakeClock{t: time.Date(2018, 3, 5, 10, 0, 0, 0, time.UTC)}
		fx.srv.sessCache.now = clk.now
		signedIn := func(c *client) bool {
			t.Helper()
			resp, _ := c.get("/checklist")
			return resp.StatusCode == http.StatusOK
		}
		sup := fx.login("sup")
		if !signedIn(sup) {
			t.Fatal("not signed in after login")
		}
		resp, body := sup.postForm("/logout", nil)
		wantStatus(t, "logout", resp, body, http.StatusSeeOther)
		if signedIn(sup) {
			t.Fatal("the session outlived its logout")
		}

		sup2 := fx.login("sup2")
		signedIn(sup2)
		if _, err := db.X.Exec("DELETE FROM web_sessions"); err != nil { // another server logged everyone out
			t.Fatal(err)
		}
		if !signedIn(sup2) {
			t.Fatal("within SessionRecheck the remembered session should still serve")
		}
		clk.advance(fx.srv.opt.SessionRecheck)
		if signedIn(sup2) {
			t.Fatal("a session deleted elsewhere still serves after SessionRecheck")
		}
	})
}

func errorsIsNotFound(err error) bool { return errors.Is(err, workflow.ErrNotFound) }
