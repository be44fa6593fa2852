package bench

import (
	"context"
	"os"
	"strconv"
	"testing"

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
	b.ResetTimer()
	if err := r.dashboard(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for _, f := range r.rep.Figures {
		b.Logf("%s: %s %s (%s)", f.Name, num(f.Value), f.Unit, f.Note)
		switch f.Name {
		case "dashboard p50":
			b.ReportMetric(f.Value, "p50-ms")
		case "dashboard p99":
			b.ReportMetric(f.Value, "p99-ms")
		}
	}
	b.Logf("load %s", loadavg())
}
