package importer_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"ducha/importer"
	"ducha/internal/testdb"
	"ducha/store"
)

// writeActivities writes n distinct activity rows for the small county.
func writeActivities(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "activities.csv")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("顾问编号,村代码,类别,日期,数量,挽回经济损失(元),备注\n")
	kinds := []string{"法治讲座", "consultation", "到村服务", "人民调解", "审查合同"}
	pairs := [][2]string{{"A01", "V01"}, {"A01", "V02"}, {"A02", "V03"}, {"A02", "V04"}, {"A03", "V02"}}
	day := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p := pairs[i%len(pairs)]
		fmt.Fprintf(w, "%s,%s,%s,%s,%d,%d.%02d,记录%d\n", p[0], p[1], kinds[i%len(kinds)],
			day.AddDate(0, 0, i%181).Format("2006/1/2"), 1+i%7, i%1000, i%100, i)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return path
}

// BenchmarkImportActivities imports 100,000 activity rows into a fresh
// database per iteration and reports rows per second.
func BenchmarkImportActivities(b *testing.B) {
	const rows = 100_000
	path := writeActivities(b, rows)
	for _, d := range testdb.Backends {
		b.Run(string(d), func(b *testing.B) {
			var spent time.Duration
			for b.Loop() {
				b.StopTimer()
				db := testdb.Open(b, d)
				loadCounty(b, db)
				b.StartTimer()
				start := time.Now()
				res, err := importer.ImportFile(context.Background(), db, store.ImportActivities, path, importer.Options{})
				spent += time.Since(start)
				if err != nil || res.Rows != rows {
					b.Fatalf("import: %v, %+v", err, res)
				}
			}
			b.ReportMetric(float64(rows*b.N)/spent.Seconds(), "rows/s")
		})
	}
}

// TestImportMemoryBounded imports 200,000 rows and checks the heap does not
// grow with the file (a held row costs well over 100 bytes).
func TestImportMemoryBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long; and the race detector inflates memory")
	}
	const rows = 200_000
	path := writeActivities(t, rows)
	db := testdb.Open(t, store.SQLite)
	loadCounty(t, db)
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	res, err := importer.ImportFile(context.Background(), db, store.ImportActivities, path, importer.Options{})
	close(done)
	<-sampled
	if err != nil || res.Rows != rows {
		t.Fatalf("import: %v %+v", err, res)
	}
	grew := int64(peak) - int64(base.HeapInuse)
	t.Logf("heap in use grew by at most %d KiB while importing %d rows", grew/1024, rows)
	if limit := int64(rows * 100); grew > limit {
		t.Errorf("heap grew by %d bytes importing %d rows: rows are being held in memory", grew, rows)
	}
}
