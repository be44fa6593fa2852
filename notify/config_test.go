package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"ducha/notify"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

const sampleConfig = `
routes:
  order: {to: [adviser], channels: [email, county]}
  accountability: {to: [adviser, officers, supervisors], channels: [email, county]}
channels:
  email:
    type: smtp
    host: smtp.example.cn
    from: ducha@sfj.example.cn
    username: ducha
    password: hunter2
  county:
    type: dingtalk
    access_token: tok-secret
    secret: SECsecret
  ops:
    type: webhook
    url: https://ops.example.cn/hook
    secret: whsecret
templates:
  order:
    subject: "整改：{{.Finding.Village}}"
dispatch:
  workers: 8
`

func TestConfigLoad(t *testing.T) {
	cfg, err := notify.LoadConfig(strings.NewReader(sampleConfig), "ducha.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dispatch.Workers != 8 || cfg.Dispatch.Batch != 256 || cfg.Dispatch.MaxAge != 72*time.Hour {
		t.Fatalf("dispatch/defaults = %+v", cfg.Dispatch)
	}
	if r := cfg.Routes[notify.Reminder]; len(r.Channels) != 1 || r.Channels[0] != "file" {
		t.Fatalf("unmentioned route should keep its default: %+v", r)
	}
	// Secrets never print.
	y, _ := yaml.Marshal(cfg)
	j, _ := json.Marshal(cfg)
	for _, out := range []string{string(y), string(j), fmt.Sprintf("%v %+v", cfg, cfg)} {
		for _, s := range []string{"hunter2", "tok-secret", "SECsecret", "whsecret"} {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q printed in:\n%s", s, out)
			}
		}
		if !strings.Contains(out, "<secret>") && !strings.Contains(out, `\u003csecret\u003e`) {
			t.Fatalf("no <secret> placeholder in:\n%s", out)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"bogus: 1", "bogus"},
		{"routes:\n  order: {to: [adviser], channels: [nowhere]}", "routes.order.channels"},
		{"routes:\n  order: {to: [everyone], channels: [file]}", "everyone"},
		{"routes:\n  memo: {to: [adviser], channels: [file]}", "memo"},
		{"channels:\n  x: {type: pigeon}", "channels.x"},
		{"channels:\n  x: {type: smtp, host: h}", "from"},
		{"channels:\n  x: {type: smtp, host: h, from: f, starttls: maybe}", "starttls"},
		{"base_url: http://x", "base_url"},
		{"dispatch: {max_age: forever}", "forever"},
		{"templates:\n  order: {subject: '{{.Finding.Village'}", "templates.order.subject"},
	} {
		_, err := notify.LoadConfig(strings.NewReader(tc.yaml), "ducha.yaml")
		var bad interface{ BadInput() bool }
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ducha.yaml") ||
			!errors.As(err, &bad) {
			t.Errorf("%q: err = %v, want a bad-input error naming ducha.yaml and %q", tc.yaml, err, tc.want)
		}
	}
}

func TestTemplatesRenderEveryKind(t *testing.T) {
	tm, err := notify.ParseTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[notify.Kind][]string{
		notify.Order:          {"【整改通知】桃源村", "2018年4月20日前", "还有10个工作日", "https://x.cn/findings/42"},
		notify.Rejection:      {"【整改退回】", "退回理由：整改报告未附到村服务签到表"},
		notify.Reminder:       {"【催办】", "2018年4月20日到期"},
		notify.Interview:      {"【约谈通知】李明", "2018年4月25日09:30", "县司法局三楼会议室", "王科长"},
		notify.Accountability: {"【问责决定】李明：通报批评", "问责措施：通报批评"},
		notify.BulletinOut:    {"【督查通报】2018年第5期", "https://x.cn/bulletins/2018/5"},
		notify.Digest:         {"【逾期日报】2018年4月6日：逾期问题1个", "已逾期3个工作日"},
	}
	for _, k := range notify.Kinds {
		s, b, err := tm.Render(k, notify.Sample(k, "https://x.cn/"))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if strings.Contains(s, "\n") || strings.Contains(s+b, "<no value>") {
			t.Fatalf("%s: subject %q body %q", k, s, b)
		}
		for _, w := range want[k] {
			if !strings.Contains(s+"\n"+b, w) {
				t.Errorf("%s: %q missing from\n%s\n%s", k, w, s, b)
			}
		}
	}
}

// fakeDirectory is an in-memory Directory (the store's is tested in store).
type fakeDirectory struct{}

func (fakeDirectory) Adviser(_ context.Context, code string) (notify.Person, error) {
	return notify.Person{Login: "liming", Name: "李明", Email: "liming@example.cn"}, nil
}
func (fakeDirectory) Officers(_ context.Context, township string) ([]notify.Person, error) {
	if township != "城关镇" {
		return nil, nil
	}
	return []notify.Person{{Login: "wang", Name: "王所长"}, {Login: "liming", Name: "李明"}}, nil
}
func (fakeDirectory) Supervisors(context.Context) ([]notify.Person, error) {
	return []notify.Person{{Login: "zhang", Name: "张主任", Email: "zhang@example.cn"}}, nil
}

func TestRouter(t *testing.T) {
	cfg, err := notify.LoadConfig(strings.NewReader(sampleConfig), "ducha.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = "https://ducha.example.cn"
	r, err := notify.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := notify.Sample(notify.Accountability, "").Finding
	ev := notify.Event{Kind: notify.Accountability, Cause: "finding:42:seq:9", At: t0, Finding: f}
	ms, err := r.Messages(context.Background(), fakeDirectory{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Channel+"/"+m.Recipient+"/"+m.Address)
		if m.Cause != ev.Cause || !m.CreatedAt.Equal(t0) || m.State != notify.Pending || m.Kind != notify.Accountability {
			t.Fatalf("message = %+v", m)
		}
	}
	// e-mail only to people with an address (wang has none), once per
	// person (liming is adviser and officer); the group robot once.
	want := "county/channel:county/ email/liming/liming@example.cn email/zhang/zhang@example.cn"
	if strings.Join(got, " ") != want {
		t.Fatalf("messages = %s\nwant       %s", strings.Join(got, " "), want)
	}
	if !strings.HasPrefix(ms[1].Body, "李明：") || !strings.HasPrefix(ms[2].Body, "张主任：") ||
		!strings.Contains(ms[1].Body, "https://ducha.example.cn/findings/42") {
		t.Fatalf("bodies:\n%s\n%s", ms[1].Body, ms[2].Body)
	}
	// The overridden order template.
	ev = notify.Event{Kind: notify.Order, Cause: "finding:42:seq:1", At: t0, Finding: f}
	ms, _ = r.Messages(context.Background(), fakeDirectory{}, ev)
	if len(ms) != 2 || ms[1].Subject != "整改：桃源村" {
		t.Fatalf("order messages = %+v", ms)
	}
	// Only restricts the audiences.
	ev = notify.Event{Kind: notify.Accountability, Cause: "x", At: t0, Finding: f, Only: []notify.Audience{notify.ToSupervisors}}
	ms, _ = r.Messages(context.Background(), fakeDirectory{}, ev)
	if len(ms) != 2 || ms[1].Recipient != "zhang" {
		t.Fatalf("supervisors only = %+v", ms)
	}
}

func TestDigestEvents(t *testing.T) {
	r, err := notify.NewRouter(notify.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2018, 4, 6, 0, 0, 0, 0, time.UTC)
	if evs := notify.DigestEvents(t0, day, nil); len(evs) != 0 {
		t.Fatalf("digest without overdue findings: %+v", evs)
	}
	f := *notify.Sample(notify.Order, "").Finding
	g := f
	g.ID, g.Township, g.Village, g.WorkdaysLeft = 43, "河口乡", "柳湾村", -2
	evs := notify.DigestEvents(t0, day, []notify.Finding{g, f})
	var got []string
	for _, ev := range evs {
		ms, err := r.Messages(context.Background(), fakeDirectory{}, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.Cause+">"+m.Recipient)
			if m.Recipient == "zhang" && (!strings.Contains(m.Body, "柳湾村") || !strings.Contains(m.Body, "桃源村") ||
				!strings.Contains(m.Subject, "逾期问题2个")) {
				t.Fatalf("county digest:\n%s\n%s", m.Subject, m.Body)
			}
			if m.Recipient == "wang" && strings.Contains(m.Body, "柳湾村") {
				t.Fatalf("township digest has another township's finding:\n%s", m.Body)
			}
		}
	}
	want := "digest:2018-04-06>zhang digest:2018-04-06:城关镇>liming digest:2018-04-06:城关镇>wang"
	if strings.Join(got, " ") != want {
		t.Fatalf("digest messages %s\nwant %s", strings.Join(got, " "), want)
	}
}
