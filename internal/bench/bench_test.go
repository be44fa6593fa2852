package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"ducha/bulletin"
	"ducha/internal/bench"
	"ducha/internal/testdb"
	"ducha/store"
)

// TestBenchSmoke runs the whole bench at a tiny size on both backends. It
// checks that every figure is measured and reported, never how fast.
func TestBenchSmoke(t *testing.T) {
	for _, d := range testdb.Backends {
		t.Run(string(d), func(t *testing.T) {
			url := testdb.URL(t, d)
			var log bytes.Buffer
			// The bulletin PDF is typeset in Go (a fraction of a second);
			// only where that cannot run would it start Chromium (a minute),
			// so then it is left out.
			noPDF := bulletin.CanTypeset() != nil
			if noPDF && os.Getenv("CI") == "true" {
				t.Fatalf("CI=true but bulletin PDFs cannot be typeset: %v", bulletin.CanTypeset())
			}
			rep, err := bench.Run(context.Background(), bench.Config{
				DB: url, Villages: 60, Activities: 1500, Seed: 7, NoPDF: noPDF,
				Duration: 100 * time.Millisecond, Requests: 30, DashboardFindings: 400, TempDir: t.TempDir(), Log: &log,
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			want := []string{"import activities (CSV)", "checklist evaluation", "evaluation ÷ plain GROUP BY",
				"evaluation ÷ count(*)", "round open (findings written)", "transitions/s, concurrency 1",
				"transitions/s, concurrency 8", "outbox dispatch", "bulletin HTML", "bulletin PDF",
				"dashboard p50", "dashboard p99", "peak RSS (VmHWM)"}
			got := map[string]bench.Figure{}
			for _, f := range rep.Figures {
				got[f.Name] = f
			}
			for _, name := range want {
				f, ok := got[name]
				switch {
				case !ok:
					t.Errorf("figure %q missing", name)
				case name == "bulletin PDF" && noPDF:
					if f.Skipped == "" {
						t.Errorf("PDF not skipped with NoPDF")
					}
				case name == "bulletin PDF" && !strings.Contains(f.Note, "typeset in Go"):
					t.Errorf("bulletin PDF not typeset in Go: %+v", f)
				case f.Skipped != "":
					t.Errorf("%s skipped: %s", name, f.Skipped)
				case f.Value <= 0:
					t.Errorf("%s = %v", name, f.Value)
				}
			}
			var table, js bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, name := range want {
				if !strings.Contains(table.String(), name) {
					t.Errorf("table lacks %q:\n%s", name, table.String())
				}
			}
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back bench.Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Figures) != len(rep.Figures) {
				t.Fatalf("JSON does not read back: %v", err)
			}
			t.Logf("\n%s", table.String())

			// A second run refuses the database, which now holds data.
			_, err = bench.Run(context.Background(), bench.Config{DB: url, Villages: 3, Activities: 1, NoPDF: true})
			var ne *bench.NotEmptyError
			if !errors.As(err, &ne) {
				t.Fatalf("second run on a used database: %v, want NotEmptyError", err)
			}
			db, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.X.Get(&n, "SELECT count(*) FROM activities"); err != nil || n != 1500 {
				t.Fatalf("activities after the refused run: %d, %v", n, err)
			}
			// The dashboard was measured with the findings asked for, the
			// round's topped up by synthetic ones, each village and rule at
			// most once among the open findings.
			var dup int
			if err := db.X.Get(&n, "SELECT count(*) FROM findings"); err != nil || n != 400 {
				t.Fatalf("findings after the bench: %d, %v; want 400", n, err)
			}
			if !strings.Contains(got["dashboard p99"].Note, "400 findings") {
				t.Errorf("dashboard note does not say how many findings: %q", got["dashboard p99"].Note)
			}
			if err := db.X.Get(&dup, `SELECT count(*) FROM (SELECT village_id, rule_id FROM findings
				WHERE state NOT IN ('signed_off', 'dismissed') GROUP BY village_id, rule_id HAVING count(*) > 1) d`); err != nil || dup != 0 {
				t.Fatalf("%d village-rule pairs with two open findings (%v)", dup, err)
			}
		})
	}
}
