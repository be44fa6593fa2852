package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ducha/internal/testdb"
	"ducha/store"
	"ducha/workflow"
)

// chromium finds the headless browser: skipped when missing, except under
// CI=true, where a missing browser is a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); browser tests are required under CI=true")
	}
	t.Skip("chromium is not installed: skipping the browser test (apt-get install chromium to run it)")
	return ""
}

// artifacts is where screenshots go: $DUCHA_ARTIFACTS, else a temp folder.
func artifacts(t *testing.T) string {
	dir := os.Getenv("DUCHA_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, "web")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// TestBrowserFlow drives real headless Chromium: an adviser on a phone
// answers an order with a photo, the township officer verifies at a desk, a
// supervisor signs off, and the dashboard counts one open finding fewer.
func TestBrowserFlow(t *testing.T) {
	exe := chromium(t)
	dir := artifacts(t)
	db := testdb.Open(t, store.SQLite)
	fx := newFixture(t, db)
	photo := filepath.Join(t.TempDir(), "到村服务.png")
	if err := os.WriteFile(photo, pngBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	base := fx.ts.URL
	finding := fmt.Sprintf("%s/findings/%d", base, fx.f1.ID)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
		})
	}
	text := func(sel string, v *string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			*v, err = chromedp.Text(chromedp.CSS(sel))(ctx, tg)
			return err
		})
	}
	login := func(user string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#login")),
			chromedp.SendKeys(chromedp.CSS("#login"), user),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#login-submit")),
			chromedp.WaitVisible(chromedp.CSS("form.who")),
		)
	}
	logout := chromedp.Steps(
		chromedp.Click(chromedp.CSS("form.who button")),
		chromedp.WaitVisible(chromedp.CSS("#login")),
	)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond)) }()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var before, after, state, ordersText string

	// The supervisor's dashboard before.
	run("supervisor dashboard before",
		chromedp.EmulateViewport(1280, 900),
		login("sup"),
		text("#open-count", &before),
		logout,
	)

	// The adviser, on a phone.
	run("adviser responds on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		login("adv1"),
		chromedp.WaitVisible(chromedp.CSS("#orders")),
		text("#orders", &ordersText),
		shot("1-adviser-orders-phone"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#orders a[href="/findings/%d"]`, fx.f1.ID))),
		chromedp.WaitVisible(chromedp.CSS("#respond-comment")),
		chromedp.SetValue(chromedp.CSS("#respond-comment"), "3月6日已到东村服务, 解答群众咨询3人次, 照片附后。"),
		chromedp.SetUploadFiles(chromedp.CSS("#respond-evidence"), []string{photo}),
		shot("2-adviser-respond-phone"),
		chromedp.Click(chromedp.CSS("#submit-respond")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
		text("#state", &state),
		shot("3-adviser-responded-phone"),
		logout,
	)
	if !strings.Contains(ordersText, "每月至少到村服务一次") {
		t.Fatalf("the adviser's orders do not show the finding: %q", ordersText)
	}
	if state != workflow.Responded.Label() {
		t.Fatalf("after responding the state reads %q", state)
	}

	// The township officer, at a desk.
	run("officer verifies",
		chromedp.EmulateViewport(1280, 900),
		login("off1"),
		chromedp.Navigate(finding),
		chromedp.WaitVisible(chromedp.CSS("#submit-verify")),
		chromedp.SetValue(chromedp.CSS("#verify-comment"), "已电话回访村委, 情况属实"),
		chromedp.Click(chromedp.CSS("#submit-verify")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
		text("#state", &state),
		logout,
	)
	if state != workflow.Verified.Label() {
		t.Fatalf("after verifying the state reads %q", state)
	}

	// The supervisor signs off; the dashboard shows it.
	run("supervisor signs off",
		login("sup"),
		chromedp.Navigate(finding),
		chromedp.WaitVisible(chromedp.CSS("#submit-sign_off")),
		chromedp.Click(chromedp.CSS("#submit-sign_off")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
		text("#state", &state),
		shot("4-finding-signed-off-desktop"),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#open-count")),
		text("#open-count", &after),
		shot("5-dashboard-desktop"),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#open-count")),
		shot("6-dashboard-phone"),
	)
	if state != workflow.SignedOff.Label() {
		t.Fatalf("after signing off the state reads %q", state)
	}
	b, _ := strconv.Atoi(strings.TrimSpace(before))
	a, _ := strconv.Atoi(strings.TrimSpace(after))
	if b == 0 || a != b-1 {
		t.Fatalf("dashboard open findings: %q before, %q after; want one fewer", before, after)
	}

	// The published bulletin offers its PDF, typeset by the server without
	// a browser of its own (the fixture's server has no Printer); the page's
	// link downloads it in the user's session.
	typesets(t)
	pub := fx.publish(t)
	var got string
	run("supervisor downloads the bulletin PDF",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(fmt.Sprintf("%s/bulletins/%d/%d", base, pub.Number.Year, pub.Number.Seq)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/pdf"]`)),
		shot("7-bulletin-desktop"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			got, err = chromedp.Evaluate[string](`fetch(document.querySelector('a[href$="/pdf"]').href)
				.then(async r => r.status + " " + r.headers.get("content-type") + " " +
					new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)))`, chromedp.EvalAwaitPromise)(ctx, tg)
			return err
		}),
	)
	if got != "200 application/pdf %PDF-" {
		t.Fatalf("the bulletin page's PDF link gives %q, want a PDF", got)
	}
}
