package importer_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/xuri/excelize/v2"

	"ducha/importer"
	"ducha/internal/testdb"
	"ducha/store"
)

// FuzzImport feeds arbitrary CSV and XLSX files of every kind to the
// importer over a real SQLite database holding a small county: nothing may
// panic; a refusal is an *importer.Error whose problems name the file (and
// a row, when there is one) and changes nothing; an accepted file changes
// only its own table.
// Run: go test ./importer -run '^$' -fuzz FuzzImport -fuzztime 30s
func FuzzImport(f *testing.F) {
	for _, s := range []string{villagesCSV, "code,name,township,poverty\nV9,新村,东关镇,是\n",
		"adviser,village,kind,date,count,amount_yuan,note\nA01,V01,visit,2018-03-01,1,12.5,到村\n",
		"adviser,village,kind,date,count\nA01,V01,讲座,2018/3/1,-1\n",
		"\ufeffcode,name\n\"unterminated,x\n", "adviser,village,from,to\nA01,V02,2018-01-01,2017-12-31\n",
		"code,name,kind,phone\nA09,=HYPERLINK(\"http://x\"),lawyer,+1\n"} {
		for kind := range uint8(4) {
			f.Add(kind, false, []byte(s))
		}
	}
	x := excelize.NewFile()
	for i, row := range [][]any{{"村代码", "村名", "乡镇", "是否贫困村"}, {"V10", "<b>村</b>", "东关镇", true}, {"V11", "=1+1", "西岭乡", 0}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		x.SetSheetRow("Sheet1", cell, &row)
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), true, b.Bytes())
	f.Add(uint8(3), true, b.Bytes()[:len(b.Bytes())/2])

	db := testdb.Open(f, store.SQLite)
	ctx := context.Background()
	for _, k := range []struct {
		kind store.ImportTable
		csv  string
	}{{store.ImportVillages, villagesCSV}, {store.ImportAdvisers, advisersCSV}, {store.ImportAssignments, assignmentsCSV}} {
		if _, err := importer.ImportFS(ctx, db, k.kind, fstest.MapFS{"f.csv": {Data: []byte(k.csv)}}, "f.csv", importer.Options{}); err != nil {
			f.Fatal(err)
		}
	}
	kinds := []store.ImportTable{store.ImportVillages, store.ImportAdvisers, store.ImportAssignments, store.ImportActivities}
	tables := []string{"townships", "villages", "advisers", "assignments", "activities"}
	counts := func(t *testing.T) map[string]int {
		out := map[string]int{}
		for _, tb := range tables {
			var n int
			if err := db.X.Get(&n, "SELECT COUNT(*) FROM "+tb); err != nil {
				t.Fatal(err)
			}
			out[tb] = n
		}
		return out
	}
	f.Fuzz(func(t *testing.T, kind uint8, xlsx bool, data []byte) {
		name := "f.csv"
		if xlsx {
			name = "f.xlsx"
		}
		k := kinds[int(kind)%len(kinds)]
		before := counts(t)
		_, err := importer.ImportFS(ctx, db, k, fstest.MapFS{name: {Data: data}}, name, importer.Options{})
		after := counts(t)
		if err != nil {
			var ie *importer.Error
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("refusal %T %v is not an importer.Error with problems", err, err)
			}
			for _, p := range ie.Problems {
				if p.File != name || p.Msg == "" {
					t.Fatalf("problem without its file or message: %#v", p)
				}
			}
			for _, tb := range tables {
				if before[tb] != after[tb] {
					t.Fatalf("a refused file changed %s: %d rows, then %d", tb, before[tb], after[tb])
				}
			}
		}
	})
}
