package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ducha/store"
	"ducha/workflow"
)

// cli runs ducha on db at a fixed moment (Monday 2018-02-12 10:00 in Shanghai).
func cli(t *testing.T, db string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	now := time.Date(2018, 2, 12, 10, 0, 0, 0, workflow.Shanghai)
	clock = func() time.Time { return now }
	defer func() { clock = time.Now }()
	code := Main(context.Background(), append([]string{"--db", db}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestFindingCommands(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "f.db")
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO townships (id, name) VALUES (1, '城关镇')`,
		`INSERT INTO villages (id, code, name, township_id) VALUES (1, 'V01', '东村', 1)`,
		`INSERT INTO advisers (id, code, name, kind) VALUES (1, 'A01', '李律师', 'lawyer')`,
	} {
		if _, err := db.X.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	f := &workflow.Finding{RuleID: "visit", RuleTitle: "每月到村服务", Severity: workflow.General,
		Village: "V01", Adviser: "A01", Evidence: []byte(`{"visits":0}`), Message: "1月未到村服务"}
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		return store.InsertFindings(ctx, tx, []*workflow.Finding{f}, time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	ok := func(args ...string) string {
		t.Helper()
		code, out, errs := cli(t, url, args...)
		if code != 0 {
			t.Fatalf("ducha %v: exit %d: %s", args, code, errs)
		}
		return out
	}
	fails := func(want int, args ...string) string {
		t.Helper()
		code, _, errs := cli(t, url, args...)
		if code != want {
			t.Fatalf("ducha %v: exit %d, want %d: %s", args, code, want, errs)
		}
		return errs
	}

	if out := ok("user", "add", "sup1", "--name", "张督查", "--role", "supervisor"); !strings.Contains(out, "初始密码") {
		t.Errorf("no generated password: %s", out)
	}
	ok("user", "add", "sup2", "--name", "王督查", "--role", "督查人员", "--password", "secret-123")
	ok("user", "add", "off1", "--name", "赵所长", "--role", "officer", "--township", "城关镇", "--password", "secret-123")
	ok("user", "add", "adv1", "--name", "李律师", "--role", "adviser", "--adviser", "A01", "--password", "secret-123")
	fails(2, "user", "add", "x", "--name", "某", "--role", "officer", "--township", "无此镇", "--password", "secret-123")
	fails(2, "user", "add", "sup1", "--name", "重复", "--role", "supervisor", "--password", "secret-123")
	fails(2, "user", "add", "y", "--name", "某", "--role", "boss")
	if out := ok("user", "list"); !strings.Contains(out, "赵所长") || !strings.Contains(out, "城关镇") {
		t.Errorf("user list: %s", out)
	}

	id := "1"
	if out := ok("finding", "order", id, "--as", "sup1"); !strings.Contains(out, "整改期限 2018-03-02") {
		// 10 working days from 2018-02-12 across the Spring Festival and its make-up Saturday 2/24.
		t.Errorf("order: %s", out)
	}
	errs := fails(2, "finding", "sign_off", id, "--as", "sup1")
	if !strings.Contains(errs, "「整改中」") || !strings.Contains(errs, "appeal, dismiss, expire, remind, respond, summon") {
		t.Errorf("illegal transition message: %s", errs)
	}
	fails(2, "finding", "respond", id, "--as", "sup1", "--comment", "x") // not the adviser
	fails(2, "finding", "respond", id, "--as", "adv1")                   // no report
	fails(2, "finding", "approve", id, "--as", "sup1")
	fails(2, "finding", "respond", id, "--as", "nobody", "--comment", "x")
	ok("finding", "respond", id, "--as", "adv1", "--comment", "已到村服务", "--evidence", "签到表.jpg")
	ok("finding", "verify", id, "--as", "off1")

	var list []findingView
	if err := json.Unmarshal([]byte(ok("finding", "list", "--json", "--township", "城关镇")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State != "verified" || list[0].Colour != "blue" || list[0].Deadline != "2018-03-02" {
		t.Errorf("list: %+v", list)
	}
	if out := ok("finding", "list", "--colour", "red"); !strings.Contains(out, "共 0 个问题") {
		t.Errorf("list red: %s", out)
	}
	fails(2, "finding", "list", "--colour", "purple")
	show := ok("finding", "show", id)
	for _, want := range []string{"每月到村服务", "已核实", `{"visits":0}`, "4. ", "off1 (司法所工作人员)", "evidence=签到表.jpg"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if out := ok("workflow", "graph"); !strings.Contains(out, "verified --> signed_off: sign_off") {
		t.Errorf("graph: %s", out)
	}
	ok("workflow", "sweep")
	if out := ok("audit", "verify"); !strings.Contains(out, "1 个问题的 4 条处理记录") {
		t.Errorf("audit: %s", out)
	}

	db, err = store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER finding_history_no_update`,
		`UPDATE finding_history SET actor = 'sup2' WHERE finding_id = 1 AND seq = 2`} {
		if _, err := db.X.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if errs := fails(1, "audit", "verify"); !strings.Contains(errs, "问题 1 的处理记录第 2 条") {
		t.Errorf("audit of a tampered row: %s", errs)
	}
}
