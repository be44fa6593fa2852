package crashtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
)

// bin is the ducha binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ducha-crash-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "ducha")
	out, err := exec.Command("go", "build", "-o", bin, "ducha/cmd/ducha").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "crashtest: go build ducha/cmd/ducha: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// seed is the seed of the kill moments: DUCHA_CRASH_SEED, or 1. Each test
// logs it, so a failing run can be repeated.
func seed(t *testing.T) *rand.Rand {
	s := uint64(1)
	if v := os.Getenv("DUCHA_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DUCHA_CRASH_SEED=%q: %v", v, err)
		}
		s = n
	}
	t.Logf("kill moments seeded with DUCHA_CRASH_SEED=%d", s)
	return rand.New(rand.NewPCG(s, 0x5eed))
}

// env is one database and one working folder that ducha processes share.
type env struct {
	t       *testing.T
	dialect store.Dialect
	url     string
	dir     string
	config  string
}

func newEnv(t *testing.T, d store.Dialect) *env {
	if testing.Short() {
		t.Skip("real processes and kill points: skipped with -short")
	}
	dir := t.TempDir()
	return &env{t: t, dialect: d, url: testdb.URL(t, d), dir: dir, config: filepath.Join(dir, "ducha.yaml")}
}

// each runs fn for SQLite and (when DUCHA_TEST_POSTGRES is set) PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { fn(t, newEnv(t, d)) })
	}
}

func (e *env) cmd(args ...string) *exec.Cmd {
	c := exec.Command(bin, append([]string{"--db", e.url, "--config", e.config}, args...)...)
	c.Dir = e.dir
	c.Env = append(os.Environ(), "DUCHA_DB=", "DUCHA_CONFIG=")
	return c
}

// run runs ducha to the end and returns its output and exit code.
func (e *env) run(args ...string) (string, string, int) {
	e.t.Helper()
	c := e.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		e.t.Fatalf("ducha %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), 0
}

// must runs ducha and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("ducha %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// outcome is how a killed process ended.
type outcome struct {
	killed bool // SIGKILL arrived before it exited
	code   int
	out    string
}

// killAfter starts ducha and sends SIGKILL after d unless it exits first.
func (e *env) killAfter(d time.Duration, args ...string) outcome {
	e.t.Helper()
	c := e.cmd(args...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return outcome{code: code, out: out.String()}
	case <-time.After(d):
		c.Process.Signal(syscall.SIGKILL)
		<-done
		return outcome{killed: true, code: -1, out: out.String()}
	}
}

// audit runs `ducha audit verify` and fails the test unless every invariant holds.
func (e *env) audit(when string) {
	e.t.Helper()
	out, errs, code := e.run("audit", "verify")
	if code != 0 {
		e.t.Fatalf("%s: audit verify exit %d\n%s%s", when, code, out, errs)
	}
}

// db opens the database from the test process, for counting rows.
func (e *env) db() *store.DB {
	e.t.Helper()
	db, err := store.Open(context.Background(), e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	db := e.db()
	defer db.Close()
	var n int
	if err := db.X.Get(&n, db.Rebind(q), args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// writeCSV writes rows (the first is the header) to a file in the env's folder.
func (e *env) writeCSV(name string, rows [][]string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	f, err := os.Create(p)
	if err != nil {
		e.t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// county is a generated county: townships × villages, one adviser per four
// villages, and activity records that leave many villages under-served.
type county struct {
	townships, perTownship int
}

func (c county) villages() int { return c.townships * c.perTownship }

func villageCode(i int) string { return fmt.Sprintf("4399%08d", i+1) }
func adviserCode(i int) string { return fmt.Sprintf("X%04d", i+1) }

// load writes the county's CSV files and imports them with the CLI, then
// adds a supervisor "boss".
func (e *env) load(c county) {
	e.t.Helper()
	vs := [][]string{{"code", "name", "township", "poverty"}}
	as := [][]string{{"code", "name", "kind", "firm", "phone", "qq", "wechat", "email"}}
	asg := [][]string{{"adviser", "village", "from", "to"}}
	acts := [][]string{{"adviser", "village", "kind", "date", "count", "amount_yuan", "note"}}
	for i := 0; i < c.villages(); i++ {
		vs = append(vs, []string{villageCode(i), fmt.Sprintf("第%d村", i+1), fmt.Sprintf("第%d镇", i/c.perTownship+1), "true"})
		a := i / 4
		if i%4 == 0 {
			wechat := ""
			if a%3 != 0 { // every third adviser's service card lacks QQ, WeChat and e-mail
				wechat = "wx" + adviserCode(a)
			}
			as = append(as, []string{adviserCode(a), fmt.Sprintf("顾问%d", a+1), "lawyer", "某律师事务所",
				fmt.Sprintf("138%08d", a), "", wechat, ""})
		}
		asg = append(asg, []string{adviserCode(a), villageCode(i), "2018-01-01", ""})
		if i%2 == 0 { // half the villages are visited each month
			for m := 1; m <= 6; m++ {
				acts = append(acts, []string{adviserCode(a), villageCode(i), "visit", fmt.Sprintf("2018-%02d-10", m), "1", "", "到村服务"})
			}
		}
	}
	for _, k := range []string{"villages", "advisers", "assignments", "activities"} {
		var rows [][]string
		switch k {
		case "villages":
			rows = vs
		case "advisers":
			rows = as
		case "assignments":
			rows = asg
		default:
			rows = acts
		}
		e.must("import", k, e.writeCSV(k+".csv", rows))
	}
	e.must("user", "add", "boss", "--name", "督查员", "--role", "supervisor", "--password", "boss-secret-1")
}

// checklist is the 2018 checklist of the sample county.
func checklist(t *testing.T) string {
	p, err := filepath.Abs("../../testdata/rules/checklist-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sink is a local webhook receiver counting deliveries per idempotency key.
type sink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string]int
	fail func() bool // when set and true, answers 503
}

func newSink(t *testing.T) *sink {
	s := &sink{keys: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail != nil && s.fail() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		s.keys[r.Header.Get(notify.HeaderKey)]++
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
