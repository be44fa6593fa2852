package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ducha/notify"
	"ducha/store"
)

func TestNotifyCommands(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "n.db")
	sent := filepath.Join(dir, "sent.jsonl")
	conf := filepath.Join(dir, "ducha.yaml")
	os.WriteFile(conf, []byte("notify:\n  channels:\n    file: {type: file, path: "+sent+"}\n"+
		"  templates:\n    order: {subject: '整改：{{.Finding.Village}}'}\n"), 0o644)
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2018, 2, 12, 1, 0, 0, 0, time.UTC) // before the CLI clock
	var ms []notify.Message
	for _, r := range []string{"liming", "wang"} {
		ms = append(ms, notify.Message{Kind: notify.Order, Cause: "finding:1:seq:2", Recipient: r, Channel: "file",
			Subject: "【整改通知】东村", Body: "请整改", CreatedAt: at})
	}
	ms = append(ms, notify.Message{Kind: notify.Digest, Cause: "digest:2018-02-12", Recipient: "zhang", Channel: "gone",
		Subject: "【逾期日报】", Body: "无", CreatedAt: at})
	if err := db.Enqueue(ctx, ms); err != nil {
		t.Fatal(err)
	}
	db.Close()

	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := cli(t, url, append([]string{"--config", conf}, args...)...)
		if code != want {
			t.Fatalf("ducha %v: exit %d, want %d: %s%s", args, code, want, out, errs)
		}
		return out + errs
	}
	var listed []notify.Message
	if err := json.Unmarshal([]byte(run(0, "notify", "list", "--json")), &listed); err != nil || len(listed) != 3 {
		t.Fatalf("list --json = %v, %v", listed, err)
	}
	if out := run(0, "notify", "dispatch"); !strings.Contains(out, "本次处理 3 条") || !strings.Contains(out, "已送达 2") {
		t.Fatalf("dispatch: %s", out)
	}
	b, _ := os.ReadFile(sent)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.Contains(string(b), `"recipient":"liming"`) || !strings.Contains(string(b), `"recipient":"wang"`) {
		t.Fatalf("file channel got:\n%s", b)
	}
	// The message to a channel no longer configured waits for a retry.
	if out := run(0, "notify", "list", "--state", "pending"); !strings.Contains(out, "zhang") || !strings.Contains(out, `channel "gone" is not configured`) {
		t.Fatalf("pending: %s", out)
	}
	if out := run(0, "notify", "show", "1"); !strings.Contains(out, "第1次") || !strings.Contains(out, "delivered") {
		t.Fatalf("show: %s", out)
	}
	if out := run(0, "notify", "resend", "1", "--as", "zhang"); !strings.Contains(out, "已重新排队") {
		t.Fatalf("resend: %s", out)
	}
	run(0, "notify", "dispatch")
	if b, _ := os.ReadFile(sent); strings.Count(string(b), "\n") != 3 {
		t.Fatalf("after resend the file has:\n%s", b)
	}
	if out := run(2, "notify", "resend", "3"); !strings.Contains(out, "只能重发") {
		t.Fatalf("resend pending: %s", out)
	}
	run(2, "notify", "resend", "99")
	run(2, "notify", "resend", "x")
	run(2, "notify", "list", "--state", "lost")
	run(2, "notify", "preview", "memo")
	run(2, "notify", "frobnicate")
	if out := run(0, "notify", "preview", "order"); !strings.Contains(out, "主题: 整改：桃源村") {
		t.Fatalf("preview with the configured template: %s", out)
	}
	if out := run(0, "notify", "preview", "问责决定"); !strings.Contains(out, "问责措施：通报批评") {
		t.Fatalf("preview accountability: %s", out)
	}
	// A bad notify section names the file, line and column.
	os.WriteFile(conf, []byte("notify:\n  routes:\n    order: {to: [adviser], channels: [sms]}\n"), 0o644)
	if out := run(2, "notify", "preview", "order"); !strings.Contains(out, "ducha.yaml:3:") || !strings.Contains(out, "sms") {
		t.Fatalf("bad config: %s", out)
	}
}
