package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

// builds is a dashboard builder for cache tests: build n returns a
// dashboard with Open == n. While held, builds block until released one by
// one (each release lets one build finish).
type builds struct {
	n       atomic.Int32
	held    atomic.Bool
	fail    atomic.Bool
	started chan int32
	release chan struct{}
}

func newBuilds() *builds {
	return &builds{started: make(chan int32, 1024), release: make(chan struct{})}
}

func (b *builds) build(ctx context.Context) (*Dashboard, error) {
	n := b.n.Add(1)
	b.started <- n
	if b.held.Load() {
		<-b.release
	}
	if b.fail.Load() {
		return nil, errors.New("database down")
	}
	return &Dashboard{Open: int(n)}, nil
}

// await waits until build n has started.
func (b *builds) await(n int32) {
	for <-b.started < n {
	}
}

// fakeClock is the cache's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestCache(ttl time.Duration) (*dashCache, *fakeClock) {
	clk := &fakeClock{t: time.Date(2018, 3, 5, 10, 0, 0, 0, time.UTC)}
	c := newDashCache(ttl)
	c.now = clk.now
	return c, clk
}

// settle waits until no build of key is in flight (its result landed).
func settle(c *dashCache, key dashKey) {
	for {
		c.mu.Lock()
		var b *dashBuild
		if e := c.entries[key]; e != nil {
			b = e.building
		}
		c.mu.Unlock()
		if b == nil {
			return
		}
		<-b.done
	}
}

var county = dashKey{township: "", day: "2018-03-05"}

func open(t *testing.T, c *dashCache, key dashKey, user string, b *builds) int {
	t.Helper()
	n, err := tryOpen(c, key, user, b)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	return n
}

// tryOpen is open for other goroutines than the test's: the build's
// number, or -1 and the error.
func tryOpen(c *dashCache, key dashKey, user string, b *builds) (int, error) {
	d, err := c.get(context.Background(), key, user, b.build)
	if err != nil {
		return -1, err
	}
	return d.Open, nil
}

func TestDashCacheFreshEntryServed(t *testing.T) {
	c, clk := newTestCache(2 * time.Second)
	b := newBuilds()
	if n := open(t, c, county, "sup", b); n != 1 {
		t.Fatalf("first get: build %d", n)
	}
	clk.advance(time.Second)
	for range 10 {
		if n := open(t, c, county, "sup", b); n != 1 {
			t.Fatalf("fresh entry: got build %d", n)
		}
	}
	if b.n.Load() != 1 {
		t.Fatalf("%d builds for a fresh entry", b.n.Load())
	}
	other := dashKey{township: "城关镇", day: county.day}
	if n := open(t, c, other, "off", b); n != 2 {
		t.Fatalf("another scope shares the entry: build %d", n)
	}
}

func TestDashCacheConcurrentFirstGetsBuildOnce(t *testing.T) {
	c, _ := newTestCache(2 * time.Second)
	b := newBuilds()
	b.held.Store(true)
	var wg sync.WaitGroup
	got := make([]int, 50)
	for i := range got {
		wg.Go(func() { got[i], _ = tryOpen(c, county, "sup", b) })
	}
	b.await(1)
	close(b.release) // every build may finish now
	wg.Wait()
	for i, n := range got {
		if n != 1 {
			t.Fatalf("client %d got build %d", i, n)
		}
	}
	if b.n.Load() != 1 {
		t.Fatalf("50 concurrent first requests ran %d builds", b.n.Load())
	}
}

func TestDashCacheExpiredServedWhileOneRefreshRuns(t *testing.T) {
	c, clk := newTestCache(2 * time.Second)
	b := newBuilds()
	open(t, c, county, "sup", b)
	b.held.Store(true)
	clk.advance(2 * time.Second)
	for range 20 {
		if n := open(t, c, county, "sup", b); n != 1 {
			t.Fatalf("expired entry not served at once while refreshing: build %d", n)
		}
	}
	b.await(2)
	if b.n.Load() != 2 {
		t.Fatalf("%d builds: the refresh is not single", b.n.Load())
	}
	b.release <- struct{}{}
	settle(c, county)
	if n := open(t, c, county, "sup", b); n != 2 {
		t.Fatalf("after the refresh: build %d", n)
	}
	if b.n.Load() != 2 {
		t.Fatal("the refreshed entry is not fresh")
	}
}

func TestDashCacheOwnChangeSeenAtOnce(t *testing.T) {
	c, _ := newTestCache(time.Hour)
	b := newBuilds()
	open(t, c, county, "sup", b)
	c.changed("sup")
	// The user who changed something waits for figures read after it.
	if n := open(t, c, county, "sup", b); n != 2 {
		t.Fatalf("own change: got build %d, want a new one", n)
	}
	// Everyone else is served what there is while it is rebuilt.
	c.changed("other")
	b.held.Store(true)
	if n := open(t, c, county, "sup", b); n != 2 {
		t.Fatalf("someone else's change: got build %d at once, want the cached 2", n)
	}
	b.await(3)
	b.release <- struct{}{}
	settle(c, county)
	if n := open(t, c, county, "sup", b); n != 3 {
		t.Fatalf("after the refresh: build %d", n)
	}
	if n := open(t, c, county, "other", b); n != 3 {
		t.Fatalf("the changer after the refresh: build %d", n)
	}
}

// A build that started before the user's change does not answer that user.
func TestDashCacheBuildBeforeChangeNotEnough(t *testing.T) {
	c, clk := newTestCache(2 * time.Second)
	b := newBuilds()
	open(t, c, county, "sup", b)
	b.held.Store(true)
	clk.advance(3 * time.Second)
	open(t, c, county, "other", b) // starts refresh 2
	b.await(2)
	c.changed("sup")
	done := make(chan int)
	go func() { n, _ := tryOpen(c, county, "sup", b); done <- n }()
	b.await(3)              // a build for the changer, while 2 still runs
	b.release <- struct{}{} // one of the two finishes
	b.release <- struct{}{} // and the other
	if n := <-done; n != 3 {
		t.Fatalf("the changer got build %d, which started before the change", n)
	}
	settle(c, county)
	if n := open(t, c, county, "other", b); n != 3 {
		t.Fatalf("the older build replaced the newer: %d", n)
	}
}

func TestDashCacheFailures(t *testing.T) {
	c, clk := newTestCache(2 * time.Second)
	b := newBuilds()
	b.fail.Store(true)
	if _, err := c.get(context.Background(), county, "sup", b.build); err == nil {
		t.Fatal("a failed first build returned no error")
	}
	b.fail.Store(false)
	if n := open(t, c, county, "sup", b); n != 2 {
		t.Fatalf("after a failed build the next request did not retry: %d", n)
	}
	// A failed refresh keeps the old figures and waits ttl before retrying.
	b.fail.Store(true)
	clk.advance(2 * time.Second)
	open(t, c, county, "sup", b)
	settle(c, county)
	if b.n.Load() != 3 {
		t.Fatalf("%d builds, want the failed refresh 3", b.n.Load())
	}
	clk.advance(time.Second)
	if n := open(t, c, county, "sup", b); n != 2 {
		t.Fatalf("after a failed refresh: build %d, want the old 2", n)
	}
	settle(c, county)
	if b.n.Load() != 3 {
		t.Fatal("a failed refresh was retried before ttl")
	}
	b.fail.Store(false)
	clk.advance(time.Second)
	open(t, c, county, "sup", b)
	settle(c, county)
	if n := open(t, c, county, "sup", b); n != 4 {
		t.Fatalf("no refresh ttl after the failure: build %d", n)
	}
}

func TestDashCacheWaiterGivesUp(t *testing.T) {
	c, _ := newTestCache(2 * time.Second)
	b := newBuilds()
	b.held.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := c.get(ctx, county, "sup", b.build)
		errc <- err
	}()
	b.await(1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	b.release <- struct{}{}
	settle(c, county)
	if n := open(t, c, county, "sup", b); n != 1 {
		t.Fatalf("the abandoned build did not land: %d", n)
	}
}

func TestDashCachePrunes(t *testing.T) {
	c, _ := newTestCache(time.Hour)
	b := newBuilds()
	open(t, c, county, "sup", b)
	open(t, c, dashKey{day: "2018-03-06"}, "sup", b)
	if _, ok := c.entries[county]; ok {
		t.Fatal("yesterday's entry kept")
	}
	for i := range 2 * maxDashEntries {
		open(t, c, dashKey{township: string(rune('a' + i)), day: "2018-03-06"}, "sup", b)
	}
	if len(c.entries) > maxDashEntries {
		t.Fatalf("%d entries kept, at most %d", len(c.entries), maxDashEntries)
	}
}

func TestDashCacheDisabled(t *testing.T) {
	c, _ := newTestCache(-1)
	b := newBuilds()
	open(t, c, county, "sup", b)
	open(t, c, county, "sup", b)
	if b.n.Load() != 2 {
		t.Fatalf("ttl < 0 cached: %d builds", b.n.Load())
	}
}

var openCountRE = regexp.MustCompile(`id="open-count">(\d+)<`)

// TestDashboardFreshness checks the staleness bound end to end: whoever
// makes a change sees it on their next dashboard, everyone else once the
// rebuild it started lands, and a change made outside the server once the
// figures are older than the TTL (on the cache's fake clock).
func TestDashboardFreshness(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		clk := &fakeClock{t: time.Date(2018, 3, 5, 10, 0, 0, 0, time.UTC)}
		fx.srv.dashboard.now = clk.now
		sup, sup2, off2 := fx.login("sup"), fx.login("sup2"), fx.login("off2")
		countyKey := dashKey{day: "2018-03-05"}
		townKey := dashKey{township: "河口乡", day: "2018-03-05"}
		count := func(c *client) int {
			t.Helper()
			resp, body := c.get("/")
			wantStatus(t, "dashboard", resp, body, http.StatusOK)
			if resp.ContentLength != int64(len(body)) {
				t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
			}
			if !strings.Contains(body, `id="computed-at">以下数据统计于 10:00:00`) {
				t.Fatalf("the page does not say when its figures were computed:\n%s", excerpt(body))
			}
			m := openCountRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no open count:\n%s", excerpt(body))
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		n, town := count(sup), count(off2)
		if count(sup2) != n || town >= n {
			t.Fatalf("county %d, 河口乡 %d", n, town)
		}

		// sup dismisses f2 (河口乡) through the server: sup sees it at once.
		resp, body := sup.postForm(fmt.Sprintf("/findings/%d/events/dismiss", fx.f2.ID),
			url.Values{"reason": {"数据有误"}, "version": {fmt.Sprint(fx.f2.Version)}})
		wantStatus(t, "dismiss", resp, body, http.StatusSeeOther)
		if got := count(sup); got != n-1 {
			t.Fatalf("sup after own dismissal: %d open, want %d", got, n-1)
		}
		// The others: within one rebuild, started by the change.
		count(sup2)
		count(off2)
		settle(fx.srv.dashboard, countyKey)
		settle(fx.srv.dashboard, townKey)
		if got := count(sup2); got != n-1 {
			t.Fatalf("sup2 after the rebuild: %d open, want %d", got, n-1)
		}
		if got := count(off2); got != town-1 {
			t.Fatalf("off2 after the rebuild: %d open, want %d", got, town-1)
		}

		// A change made elsewhere (the lifecycle, as the engine or the
		// command line would) shows once the figures are older than the TTL.
		u, err := db.UserByLogin(context.Background(), "sup")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.srv.life.Fire(context.Background(), *u, fx.f1.ID, workflow.Dismiss, workflow.Input{Reason: "重复"}); err != nil {
			t.Fatal(err)
		}
		if got := count(sup2); got != n-1 {
			t.Fatalf("within the TTL: %d open, want the cached %d", got, n-1)
		}
		clk.advance(fx.srv.opt.DashboardTTL)
		count(sup2) // served as is; starts the rebuild
		settle(fx.srv.dashboard, countyKey)
		if got := count(sup2); got != n-2 {
			t.Fatalf("after the TTL and a rebuild: %d open, want %d", got, n-2)
		}
	})
}

func TestColourChart(t *testing.T) {
	var ts []TownshipCount
	for i := range chartTownships + 5 {
		ts = append(ts, TownshipCount{Name: fmt.Sprintf("乡镇%02d", i), ColourCount: ColourCount{Red: 40 - i, Yellow: i % 3, Blue: 1}})
	}
	svg := string(colourChart(ts[:3]))
	if !strings.Contains(svg, `aria-label="各乡镇亮灯情况"`) || strings.Count(svg, "<rect") != 3+2+3 {
		t.Fatalf("3 townships: %s", svg)
	}
	svg = string(colourChart(ts))
	if got := strings.Count(svg, ">乡镇"); got != chartTownships {
		t.Fatalf("%d township labels drawn of %d, want %d", got, len(ts), chartTownships)
	}
	if !strings.Contains(svg, fmt.Sprintf("红灯最多的 %d 个乡镇 (共 %d 个)", chartTownships, len(ts))) {
		t.Fatalf("the title does not say the chart is cut: %.300s", svg)
	}
	if strings.Contains(svg, fmt.Sprintf(">乡镇%02d<", chartTownships)) {
		t.Fatal("a township past the cut is drawn")
	}
	if colourChart(nil) != "" {
		t.Fatal("a chart without townships")
	}
}
