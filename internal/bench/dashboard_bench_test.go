package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
	checklists "ducha/testdata/rules"
)

// BenchmarkDashboardProvince is the bench's dashboard figure alone: the
// same measurement (run.dashboard: 50 clients over loopback HTTP, warm-up,
// p50/p99), the same province shape (50,000 villages in 500 townships, or
// DUCHA_BENCH_VILLAGES) and 50,000 findings, all of them synthetic here
// since no round is opened, on the server of DUCHA_TEST_POSTGRES. It
// measures once whatever b.N is (loading the province dominates):
//
//	DUCHA_PG_DURABLE=1 scripts/with-postgres.sh go test ./internal/bench -run '^$' -bench DashboardProvince -benchtime 1x
func BenchmarkDashboardProvince(b *testing.B) {
	villages := 50_000
	if v, err := strconv.Atoi(os.Getenv("DUCHA_BENCH_VILLAGES")); err == nil && v >= 3 {
		villages = v
	}
	ctx := context.Background()
	db := testdb.Open(b, store.Postgres)
	checklist, err := rules.Parse("checklist-2018.yaml", checklists.Checklist2018)
	if err != nil {
		b.Fatal(err)
	}
	r := &run{cfg: Config{Requests: 2000, DashboardFindings: 50_000, TempDir: b.TempDir()},
		db: db, rep: &Report{}, prov: newProvince(villages, 1, 1), checklist: checklist}
	if err := r.prov.load(ctx, db, 1); err != nil {
		b.Fatal(err)
	}
	// The server's CPU too, when it runs on this machine.
	var pgCPU time.Duration
	var pgPid int
	db.X.GetContext(ctx, &pgPid, "SELECT pg_backend_pid()")
	postmaster := parentOf(pgPid)
	r.around = func(fn func() error) error {
		before := childrenCPU(postmaster)
		err := fn()
		pgCPU = cpuSince(before, childrenCPU(postmaster))
		return err
	}
	b.ResetTimer()
	if err := r.dashboard(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if postmaster != 0 {
		b.ReportMetric(pgCPU.Seconds()*1000/float64(r.cfg.Requests), "pg-cpu-ms/req")
	}
	for _, f := range r.rep.Figures {
		b.Logf("%s: %s %s (%s)", f.Name, num(f.Value), f.Unit, f.Note)
		switch f.Name {
		case "dashboard p50":
			b.ReportMetric(f.Value, "p50-ms")
		case "dashboard p99":
			b.ReportMetric(f.Value, "p99-ms")
			if _, after, ok := strings.Cut(f.Note, "clients) "); ok {
				var cpu float64
				fmt.Sscanf(after, "%f", &cpu)
				b.ReportMetric(cpu, "go-cpu-ms/req")
			}
		}
	}
	b.Logf("load %s", loadavg())
}

// parentOf is the parent process of pid (0 when unknown: the server is
// not on this machine, or not Linux).
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if pid == 0 || err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// childrenCPU is the CPU time used so far by each child of pid (a
// PostgreSQL server's backends and workers).
func childrenCPU(pid int) map[string]time.Duration {
	out := map[string]time.Duration{}
	if pid == 0 {
		return out
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return out
	}
	for _, c := range strings.Fields(string(b)) {
		if st, err := os.ReadFile("/proc/" + c + "/stat"); err == nil {
			out[c] = statCPU(string(st))
		}
	}
	return out
}

// cpuSince is the CPU time the children in after used since before (a
// child that exited in between is not counted; a new one counts whole).
func cpuSince(before, after map[string]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}
