package web

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestDashCache(t *testing.T) {
	ctx := context.Background()
	var builds atomic.Int32
	build := func(context.Context) (*Dashboard, error) {
		n := builds.Add(1)
		return &Dashboard{Open: int(n)}, nil
	}
	c := newDashCache(time.Hour)
	if d, _ := c.get(ctx, "k", build); d.Open != 1 {
		t.Fatalf("first get built %d", d.Open)
	}
	if d, _ := c.get(ctx, "k", build); d.Open != 1 || builds.Load() != 1 {
		t.Fatalf("fresh entry rebuilt: %d builds", builds.Load())
	}
	if d, _ := c.get(ctx, "other", build); d.Open != 2 {
		t.Fatal("scopes share an entry")
	}
	c.invalidate()
	if d, _ := c.get(ctx, "k", build); d.Open != 3 {
		t.Fatalf("after invalidate got %d, want a foreground rebuild", d.Open)
	}

	// Expired: the old figures are served at once while one rebuild runs.
	c = newDashCache(time.Nanosecond)
	builds.Store(0)
	started, release := make(chan struct{}, 4), make(chan struct{})
	slow := func(ctx context.Context) (*Dashboard, error) {
		n := builds.Add(1)
		if n > 1 {
			started <- struct{}{}
			<-release
		}
		return &Dashboard{Open: int(n)}, nil
	}
	c.get(ctx, "k", slow)
	for range 5 {
		if d, _ := c.get(ctx, "k", slow); d.Open != 1 {
			t.Fatalf("stale entry not served while rebuilding: %d", d.Open)
		}
	}
	<-started
	if len(started) != 0 || builds.Load() != 2 {
		t.Fatalf("%d builds while one rebuild was running: not deduplicated", builds.Load())
	}
	close(release)
	for i := 0; ; i++ {
		d, _ := c.get(ctx, "k", slow)
		if d.Open >= 2 {
			break
		}
		if i > 1e6 {
			t.Fatal("the background rebuild never landed")
		}
		runtime.Gosched()
	}

	// Never cached when ttl < 0.
	c = newDashCache(-1)
	builds.Store(0)
	c.get(ctx, "k", build)
	c.get(ctx, "k", build)
	if builds.Load() != 2 {
		t.Fatalf("ttl<0 cached: %d builds", builds.Load())
	}
}
