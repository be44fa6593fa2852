package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"ducha/store"
)

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errs := runDucha(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo: code %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"导入村", "导入法律顾问", "导入聘任", "导入工作记录",
		// The sample county reproduces the seed's half-year figures.
		"法治讲座           48 条记录, 共 48 次", "共 650 人次", "挽回经济损失 250,000.00 元",
		"--db sqlite:" + filepath.Join(dir, "ducha.db"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "ducha.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Counts(context.Background())
	db.Close()
	if err != nil || c.Villages == 0 || c.Advisers == 0 || c.Assignments == 0 || c.Activities == 0 {
		t.Fatalf("demo database counts = %+v, %v", c, err)
	}

	// A second run keeps the data; --force rebuilds it.
	if code, _, errs := runDucha(t, "demo", "--dir", dir); code != 2 || !strings.Contains(errs, "--force") {
		t.Errorf("second demo: code %d, stderr %q; want 2 and a hint at --force", code, errs)
	}
	if code, out, errs := runDucha(t, "demo", "--dir", dir, "--force"); code != 0 || !strings.Contains(out, "导入工作记录") {
		t.Errorf("demo --force: code %d\n%s%s", code, out, errs)
	}
}
