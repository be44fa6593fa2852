package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ducha/internal/testdb"
	"ducha/store"
)

// runDucha runs the CLI as a user would and returns its exit code and output.
func runDucha(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestImportCommand(t *testing.T) {
	for _, d := range testdb.Backends {
		t.Run(string(d), func(t *testing.T) {
			url := testdb.URL(t, d)
			dir := t.TempDir()
			villages := filepath.Join(dir, "villages.csv")
			os.WriteFile(villages, []byte("村代码,村名,乡镇\nV01,青山村,东关镇\nV02,石桥村,西岭乡\n"), 0o644)
			code, out, errs := runDucha(t, "--db", url, "import", "villages", villages)
			if code != 0 || !strings.Contains(out, "导入村 2 个 (新增 2, 更新 0), 新建乡镇 2 个") {
				t.Fatalf("import villages: code %d\n%s%s", code, out, errs)
			}

			bad := filepath.Join(dir, "bad.csv")
			os.WriteFile(bad, []byte("code,name,township\nV03,新村,东关镇\nV04,,东关镇\n"), 0o644)
			code, out, errs = runDucha(t, "import", "villages", bad, "--db", url)
			if code != 2 || !strings.Contains(errs, bad+":3:B: 第 3 行 B 列 (name): 不能为空") {
				t.Fatalf("bad file: code %d, want 2 and the row and column\n%s%s", code, out, errs)
			}
			// --upsert after the positionals; the good file again updates both rows.
			code, out, errs = runDucha(t, "--db", url, "import", "villages", villages, "--upsert")
			if code != 0 || !strings.Contains(out, "(新增 0, 更新 2)") {
				t.Fatalf("upsert: code %d\n%s%s", code, out, errs)
			}
			db, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if c, _ := db.Counts(context.Background()); c.Villages != 2 {
				t.Errorf("villages = %d after a bad file, want 2", c.Villages)
			}
		})
	}
}

func TestImportUsage(t *testing.T) {
	url := testdb.URL(t, store.SQLite)
	for _, args := range [][]string{
		{"import"},
		{"import", "villages"},
		{"import", "farms", "x.csv"},
		{"import", "villages", filepath.Join(t.TempDir(), "missing.csv")},
	} {
		if code, _, errs := runDucha(t, append([]string{"--db", url}, args...)...); code != 2 || errs == "" {
			t.Errorf("%v: code %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}
