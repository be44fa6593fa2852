package store_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"ducha/importer"
	"ducha/internal/testdb"
	"ducha/rules"
	"ducha/store"
	sample "ducha/testdata/county"
)

func benchChecklist(b *testing.B) *rules.Checklist {
	src, err := os.ReadFile("../testdata/rules/checklist-2018.yaml")
	if err != nil {
		b.Fatal(err)
	}
	c, err := rules.Parse("checklist-2018.yaml", src)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkChecklistPostgres compares, in the same run, evaluating the whole
// 2018 checklist (Facts + Evaluate) with one plain
//
//	SELECT village_id, kind, count(*) FROM activities
//	WHERE day BETWEEN <widest window start> AND <end> GROUP BY village_id, kind
//
// on a generated county: DUCHA_BENCH_VILLAGES (default 5,000) villages and
// DUCHA_BENCH_ACTIVITIES (default 1,000,000) records over 2017–2018. The
// issue's target: ratio ≤ 1.5 at 50,000 villages and 10 M records.
//
//	DUCHA_TEST_POSTGRES=… go test ./store -run '^$' -bench ChecklistPostgres -benchtime 10x
func BenchmarkChecklistPostgres(b *testing.B) {
	nv := envInt("DUCHA_BENCH_VILLAGES", 5000)
	na := envInt("DUCHA_BENCH_ACTIVITIES", 1_000_000)
	db := testdb.Open(b, store.Postgres)
	ctx := context.Background()
	start := time.Now()
	na3 := max(nv/3, 1)
	for _, q := range []string{
		`INSERT INTO townships (name) SELECT '乡镇' || g FROM generate_series(1, 50) g`,
		`INSERT INTO villages (code, name, township_id, poverty) SELECT 'V' || g, '村' || g, 1 + g % 50, g % 10 <> 0 FROM generate_series(1, $1) g`,
		`INSERT INTO advisers (code, name, kind, phone, wechat) SELECT 'A' || g, '顾问' || g, 'lawyer', '139', CASE WHEN g % 7 = 0 THEN '' ELSE 'wx' END FROM generate_series(1, $2) g`,
		`INSERT INTO assignments (adviser_id, village_id, from_date) SELECT 1 + id % $2, id, DATE '2017-01-01' FROM villages WHERE id % 50 <> 0`,
		`INSERT INTO activities (adviser_id, village_id, kind, day, count, amount_fen, note)
		 SELECT 1 + v % $2, v,
		        (ARRAY['visit','visit','visit','consultation','law_study','lecture','mediation','training','document_review','legal_aid'])[1 + (g / $1) % 10],
		        DATE '2017-01-01' + ((g::bigint * 7919) % 730)::int, 1 + g % 3, CASE WHEN g % 50 = 0 THEN 10000 ELSE 0 END, g::text
		 FROM (SELECT g, 1 + (g::bigint * 31) % $1 AS v FROM generate_series(1, $3) g) s`,
		`ANALYZE`,
	} {
		// The sizes are our own integers: spliced into the text.
		q = strings.NewReplacer("$1", strconv.Itoa(nv), "$2", strconv.Itoa(na3), "$3", strconv.Itoa(na)).Replace(q)
		if _, err := db.X.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.Logf("generated %d villages, %d activities in %s", nv, na, time.Since(start).Round(time.Millisecond))
	c := benchChecklist(b)
	p := rules.Period{From: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2018, 6, 30, 0, 0, 0, 0, time.UTC)}
	req := c.Request(p, rules.Scope{})
	var evalNs, plainNs float64
	b.Run("facts+evaluate", func(b *testing.B) {
		for b.Loop() {
			facts, err := db.Facts(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rules.Evaluate(c, p, facts); err != nil {
				b.Fatal(err)
			}
		}
		evalNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("plain-group-by", func(b *testing.B) {
		for b.Loop() {
			rows, err := db.X.QueryContext(ctx, `SELECT village_id, kind, count(*) FROM activities
				WHERE day BETWEEN $1 AND $2 GROUP BY village_id, kind`, store.DayOf(req.ScanFrom()), store.DayOf(req.End))
			if err != nil {
				b.Fatal(err)
			}
			var v, n int64
			var k string
			for rows.Next() {
				if err := rows.Scan(&v, &k, &n); err != nil {
					b.Fatal(err)
				}
			}
			rows.Close()
		}
		plainNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if plainNs > 0 {
		b.Logf("facts+evaluate %.1f ms, plain GROUP BY %.1f ms: ratio %.2f (scan %s..%s)",
			evalNs/1e6, plainNs/1e6, evalNs/plainNs, req.ScanFrom().Format("2006-01-02"), req.End.Format("2006-01-02"))
	}
}

// BenchmarkChecklistSampleCountySQLite evaluates the 2018 checklist on the
// sample county in SQLite (target: under 50 ms).
func BenchmarkChecklistSampleCountySQLite(b *testing.B) {
	db := testdb.Open(b, store.SQLite)
	ctx := context.Background()
	for _, k := range importer.Kinds {
		if _, err := importer.ImportFS(ctx, db, k, sample.Files, string(k)+".csv", importer.Options{Source: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	c := benchChecklist(b)
	p := rules.Period{From: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2018, 6, 30, 0, 0, 0, 0, time.UTC)}
	for b.Loop() {
		facts, err := db.Facts(ctx, c.Request(p, rules.Scope{}))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rules.Evaluate(c, p, facts); err != nil {
			b.Fatal(err)
		}
	}
}
