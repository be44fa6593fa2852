// Package bench is `ducha bench`: it loads a synthetic province into a fresh
// database and measures, in one process, the figures the issues set targets
// for — import rate, checklist evaluation against the database's own plain
// aggregate and bare scan, opening a round, lifecycle transitions, outbox
// dispatch, bulletin rendering, dashboard latency and peak memory — and
// reports each beside its target.
//
// Ratios (evaluation ÷ plain GROUP BY, ÷ count(*)) are measured in the same
// process against the same rows, so they hold on a noisy machine where
// absolute times do not.
package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"ducha/store"
)

// Config says what to run.
type Config struct {
	DB         string // store URL: postgres://… or sqlite:PATH
	Villages   int
	Activities int    // records in the province, the imported ones included
	ImportRows int    // of those, how many are imported from a CSV file; 0: a tenth
	Seed       uint64 // the province's seed
	Force      bool   // run on a database that already holds data (nothing is deleted)
	// Duration is how long each throughput figure (transitions) runs; 0: 3 s.
	Duration time.Duration
	// Requests is how many dashboard requests are timed; 0: 2,000.
	Requests int
	// DashboardFindings is how many findings the database holds while the
	// dashboard is measured: synthetic ones are added to the round's up to
	// it; 0: 50,000 (the target's figure).
	DashboardFindings int
	// NoPDF skips the bulletin PDF figure. The PDF is typeset in Go; only
	// where no TrueType CJK font is installed is it printed by Chromium
	// (then the browser's start is timed too, and it takes a minute).
	NoPDF bool
	// TempDir holds the CSV file; os.TempDir() when empty.
	TempDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Figure is one measured figure.
type Figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target float64 `json:"target,omitempty"` // 0: no target (informative)
	// AtMost is true when the value must not exceed the target, false when
	// it must reach it.
	AtMost  bool   `json:"at_most,omitempty"`
	Pass    *bool  `json:"pass,omitempty"` // nil: no target, or not measured
	Skipped string `json:"skipped,omitempty"`
	Note    string `json:"note,omitempty"`
}

func (f *Figure) judge() {
	if f.Target == 0 || f.Skipped != "" {
		return
	}
	ok := f.Value >= f.Target
	if f.AtMost {
		ok = f.Value <= f.Target
	}
	f.Pass = &ok
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUs        int      `json:"cpus"`
	MemTotalMB  int      `json:"mem_total_mb"`
	LoadBefore  string   `json:"load_before"` // /proc/loadavg at the start
	LoadAfter   string   `json:"load_after"`
	GoVersion   string   `json:"go_version"`
	Database    string   `json:"database"` // server version
	Durability  string   `json:"durability,omitempty"`
	Settings    []string `json:"settings,omitempty"` // other server settings, name=value
	GeneratedIn float64  `json:"generated_s"`
}

// Report is a run's result.
type Report struct {
	Started    time.Time `json:"started"`
	Backend    string    `json:"backend"`
	Villages   int       `json:"villages"`
	Activities int       `json:"activities"`
	Imported   int       `json:"imported"`
	Seed       uint64    `json:"seed"`
	Machine    Machine   `json:"machine"`
	Figures    []Figure  `json:"figures"`
	Elapsed    float64   `json:"elapsed_s"`
}

// Failed reports whether any figure missed its target.
func (r *Report) Failed() bool {
	for _, f := range r.Figures {
		if f.Pass != nil && !*f.Pass {
			return true
		}
	}
	return false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the figures as an aligned plain-text table.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "ducha bench: %s, %d villages, %d activities (%d imported), seed %d\n",
		r.Backend, r.Villages, r.Activities, r.Imported, r.Seed)
	fmt.Fprintf(bw, "machine: %d CPUs, %d MB, load %s → %s; %s; %s\n",
		r.Machine.CPUs, r.Machine.MemTotalMB, r.Machine.LoadBefore, r.Machine.LoadAfter, r.Machine.GoVersion, r.Machine.Database)
	if r.Machine.Durability != "" {
		fmt.Fprintf(bw, "durability: %s; %s\n", r.Machine.Durability, strings.Join(r.Machine.Settings, ", "))
	}
	fmt.Fprintf(bw, "province generated in %.1f s; whole run %.1f s\n\n", r.Machine.GeneratedIn, r.Elapsed)
	rows := [][]string{{"figure", "value", "target", "result", "note"}}
	for _, f := range r.Figures {
		val, target, res := num(f.Value)+" "+f.Unit, "", ""
		if f.Target != 0 {
			op := "≥ "
			if f.AtMost {
				op = "≤ "
			}
			target = op + num(f.Target) + " " + f.Unit
		}
		switch {
		case f.Skipped != "":
			val, res = "-", "SKIP"
		case f.Pass == nil:
		case *f.Pass:
			res = "PASS"
		default:
			res = "FAIL"
		}
		note := f.Note
		if f.Skipped != "" {
			note = f.Skipped
		}
		rows = append(rows, []string{f.Name, val, target, res, note})
	}
	widths := make([]int, 4)
	for _, row := range rows {
		for i := range widths {
			widths[i] = max(widths[i], width(row[i]))
		}
	}
	for _, row := range rows {
		for i := range widths {
			bw.WriteString(row[i] + strings.Repeat(" ", widths[i]-width(row[i])+2))
		}
		bw.WriteString(row[4] + "\n")
	}
	return bw.Flush()
}

// width counts a CJK character as two columns.
func width(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// NotEmptyError refuses a database that already holds data.
type NotEmptyError struct{ What string }

func (e *NotEmptyError) Error() string {
	return "数据库不是空的 (" + e.What + "); 基准测试需要一个新建的空数据库, 以免与已有数据混在一起。" +
		"请新建一个数据库再运行, 或加 --force 在已有数据旁追加测试数据 (不会删除任何数据)"
}
func (e *NotEmptyError) BadInput() bool { return true }

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "bench: "+format+"\n", args...)
	}
}

// Run generates the province into cfg.DB and measures every figure.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Villages < 3 || cfg.Activities < 1 {
		return nil, fmt.Errorf("bench: need at least 3 villages and 1 activity")
	}
	if cfg.ImportRows <= 0 {
		cfg.ImportRows = max(1, cfg.Activities/10)
	}
	cfg.ImportRows = min(cfg.ImportRows, cfg.Activities)
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	if cfg.Requests <= 0 {
		cfg.Requests = 2000
	}
	if cfg.DashboardFindings <= 0 {
		cfg.DashboardFindings = 50_000
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	start := time.Now()
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := checkEmpty(ctx, db); err != nil && !cfg.Force {
		return nil, err
	}
	rep := &Report{Started: start.UTC().Truncate(time.Second), Backend: string(db.Dialect), Villages: cfg.Villages,
		Activities: cfg.Activities, Imported: cfg.ImportRows, Seed: cfg.Seed}
	rep.Machine = machine(ctx, db)
	r := &run{cfg: cfg, db: db, rep: rep, prov: newProvince(cfg.Villages, cfg.Activities, cfg.Seed)}
	if err := r.all(ctx); err != nil {
		return rep, err
	}
	rep.Machine.LoadAfter = loadavg()
	rep.Elapsed = time.Since(start).Seconds()
	return rep, nil
}

func checkEmpty(ctx context.Context, db *store.DB) error {
	for _, t := range []string{"townships", "villages", "advisers", "activities", "findings", "users"} {
		var n int
		if err := db.X.GetContext(ctx, &n, "SELECT count(*) FROM (SELECT 1 FROM "+t+" LIMIT 1) x"); err != nil {
			return err
		}
		if n > 0 {
			return &NotEmptyError{What: "表 " + t + " 中已有数据"}
		}
	}
	return nil
}

func machine(ctx context.Context, db *store.DB) Machine {
	m := Machine{CPUs: runtime.NumCPU(), LoadBefore: loadavg(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.Atoi(f[1])
				m.MemTotalMB = kb / 1024
			}
		}
	}
	if db.Dialect == store.Postgres {
		var v, fsync, sc string
		db.X.GetContext(ctx, &v, "SHOW server_version")
		db.X.GetContext(ctx, &fsync, "SHOW fsync")
		db.X.GetContext(ctx, &sc, "SHOW synchronous_commit")
		m.Database = "PostgreSQL " + v
		m.Durability = "fsync=" + fsync + ", synchronous_commit=" + sc
		// The settings a figure depends on besides durability.
		for _, name := range []string{"shared_buffers", "work_mem", "jit", "commit_delay"} {
			var val string
			db.X.GetContext(ctx, &val, "SHOW "+name)
			m.Settings = append(m.Settings, name+"="+val)
		}
	} else {
		var v string
		db.X.GetContext(ctx, &v, "SELECT sqlite_version()")
		m.Database = "SQLite " + v
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// processCPU is the CPU time (user and system) this process has used so
// far, to the kernel's clock tick (usually 10 ms); 0 when unknown.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU reads utime + stime from a /proc/PID/stat line, assuming 100
// ticks a second (USER_HZ on every Linux platform Go supports).
func statCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// peakRSS is the process's peak resident set (VmHWM) in MB; 0 when unknown.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// csvPath is where the import file is written.
func (r *run) csvPath() string {
	return filepath.Join(r.cfg.TempDir, fmt.Sprintf("ducha-bench-%d-%d.csv", os.Getpid(), time.Now().UnixNano()))
}
