package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ducha/bulletin"
	"ducha/internal/testdb"
	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

const (
	checklistFile = "../testdata/rules/checklist-2018.yaml"
	password      = "secret-pass-1"
)

// clock is the injected clock; tests move it, never sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a small county with one round open over it: two townships,
// three villages, two advisers, a user for every role and scope.
type fixture struct {
	t      testing.TB
	db     *store.DB
	srv    *Server
	ts     *httptest.Server
	clock  *clock
	round  *workflow.Round
	f1, f2 *workflow.Finding // f1: 城关镇 V01 / A01; f2: 河口乡 V02 / A02
	tokens map[string]string
}

// users: login → role, township, adviser.
var users = []workflow.User{
	{Login: "sup", Name: "张督查", Role: workflow.Supervisor},
	{Login: "sup2", Name: "赵督查", Role: workflow.Supervisor},
	{Login: "off1", Name: "钱所长", Role: workflow.Officer, Township: "城关镇"},
	{Login: "off2", Name: "孙所长", Role: workflow.Officer, Township: "河口乡"},
	{Login: "adv1", Name: "李律师", Role: workflow.AdviserRole, Adviser: "A01"},
	{Login: "adv2", Name: "王工作者", Role: workflow.AdviserRole, Adviser: "A02"},
}

func seedCounty(t testing.TB, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO townships (id, name) VALUES (1, '城关镇'), (2, '河口乡')`,
		`INSERT INTO villages (id, code, name, township_id) VALUES (1, 'V01', '东村', 1), (2, 'V02', '西村', 2), (3, 'V03', '南村', 1)`,
		`INSERT INTO advisers (id, code, name, kind, phone) VALUES (1, 'A01', '李律师', 'lawyer', '13800000001'), (2, 'A02', '王工作者', 'worker', '')`,
		`INSERT INTO assignments (adviser_id, village_id, from_date) VALUES (1, 1, '2017-01-01'), (2, 2, '2017-01-01'), (1, 3, '2017-01-01')`,
	} {
		if _, err := db.X.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		u.PasswordHash = string(hash)
		if err := db.AddUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	seedCounty(t, db)
	clk := &clock{t: time.Date(2018, 3, 5, 10, 0, 0, 0, workflow.Shanghai)}
	fs := store.NewFindings(db)
	life := &workflow.Lifecycle{Store: fs, Calendar: workflow.DefaultCalendar(), Policy: workflow.DefaultPolicy(), Now: clk.Now}
	rounds := &workflow.Rounds{Store: db.Rounds(), Lifecycle: life, OrderOnOpen: true}
	srv, err := newServer(Options{DB: db, Lifecycle: life, Rounds: rounds, Checklist: checklistFile,
		UploadDir: t.TempDir(), Now: clk.Now, Logger: slog.New(slog.DiscardHandler), MaxUpload: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, db: db, srv: srv, clock: clk, tokens: map[string]string{}}
	sup, _ := db.UserByLogin(context.Background(), "sup")
	fx.round, err = srv.openRound(context.Background(), sup, roundRequest{From: "2018-02-01", To: "2018-02-28", Scope: "all"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := fs.List(context.Background(), store.FindingFilter{Round: fx.round.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if f.RuleID != "visit_monthly" {
			continue
		}
		switch f.Village {
		case "V01":
			fx.f1 = f
		case "V02":
			fx.f2 = f
		}
	}
	if fx.f1 == nil || fx.f2 == nil || fx.f1.State != workflow.Ordered {
		t.Fatalf("fixture round found no ordered visit_monthly findings for V01 and V02: %d findings", len(all))
	}
	for _, u := range users {
		tok, hash := NewAPIToken()
		if err := db.AddAPIToken(context.Background(), u.Login, "test", hash, clk.Now()); err != nil {
			t.Fatal(err)
		}
		fx.tokens[u.Login] = tok
	}
	fx.ts = httptest.NewServer(srv)
	t.Cleanup(fx.ts.Close)
	return fx
}

// client is a browser-like client: cookies, no redirects followed.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

func (fx *fixture) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: fx.t, base: fx.ts.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) postForm(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	form = cloneValues(form)
	if c.csrf != "" && !form.Has("csrf") {
		form.Set("csrf", c.csrf)
	}
	resp, err := c.http.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// tryLogin posts the login form with the page's login CSRF token.
func (c *client) tryLogin(login, pw string) *http.Response {
	c.t.Helper()
	_, body := c.get("/login")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatal("login page has no csrf field")
	}
	resp, _ := c.postForm("/login", url.Values{"csrf": {m[1]}, "login": {login}, "password": {pw}})
	return resp
}

func (fx *fixture) login(login string) *client {
	fx.t.Helper()
	c := fx.anon()
	resp := c.tryLogin(login, password)
	if resp.StatusCode != http.StatusSeeOther {
		fx.t.Fatalf("login %s: status %d", login, resp.StatusCode)
	}
	_, body := c.get("/checklist")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		fx.t.Fatal("no csrf token on the page after login")
	}
	c.csrf = m[1]
	return c
}

// api calls the JSON API with a user's token ("" for none).
func (fx *fixture) api(login, method, path string, body any) (int, []byte) {
	fx.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, fx.ts.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if login != "" {
		req.Header.Set("Authorization", "Bearer "+fx.tokens[login])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func pngBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody builds a form with fields and files (name → content).
func multipartBody(t testing.TB, fields map[string]string, files map[string][]byte) (string, *bytes.Buffer) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fw, err := w.CreateFormFile("evidence", n)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(files[n])
	}
	w.Close()
	return w.FormDataContentType(), &b
}

func (c *client) postMultipart(path string, fields map[string]string, files map[string][]byte) (*http.Response, string) {
	c.t.Helper()
	fields["csrf"] = c.csrf
	ct, body := multipartBody(c.t, fields, files)
	resp, err := c.http.Post(c.base+path, ct, body)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func wantStatus(t testing.TB, what string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, resp.StatusCode, want, excerpt(body))
	}
}

func excerpt(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

func TestLoginSessionsAndThrottling(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		c := fx.anon()

		// Anonymous pages go to the login page; the API answers 401.
		resp, _ := c.get("/findings")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Fatalf("anonymous /findings: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if code, _ := fx.api("", "GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
			t.Fatalf("API without token: %d", code)
		}
		if code, _ := fx.api("", "GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
			t.Fatalf("API without token: %d", code)
		}

		// Login CSRF: a post without the page's token is refused.
		resp, _ = c.postForm("/login", url.Values{"login": {"sup"}, "password": {password}})
		wantStatus(t, "login without csrf", resp, "", http.StatusForbidden)

		// A planted session cookie is never adopted: login issues a new id.
		u, _ := url.Parse(fx.ts.URL)
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "planted", Path: "/"}})
		resp = c.tryLogin("sup", password)
		wantStatus(t, "login", resp, "", http.StatusSeeOther)
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				session = ck
			}
		}
		if session == nil || session.Value == "planted" || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie %+v: want a fresh HttpOnly SameSite=Lax id", session)
		}
		if session.Secure {
			t.Fatal("session cookie Secure over plain HTTP without Options.Secure")
		}
		var n int
		if err := db.X.Get(&n, `SELECT count(*) FROM web_sessions WHERE id_hash = '`+HashToken(session.Value)+`'`); err != nil || n != 1 {
			t.Fatalf("session stored under its hash: %d %v", n, err)
		}
		resp, body := c.get("/")
		wantStatus(t, "dashboard after login", resp, body, http.StatusOK)

		// Logout ends the session server-side.
		m := csrfRE.FindStringSubmatch(body)
		c.csrf = m[1]
		resp, _ = c.postForm("/logout", nil)
		wantStatus(t, "logout", resp, "", http.StatusSeeOther)
		stale := fx.anon()
		stale.http.Jar.SetCookies(u, []*http.Cookie{session})
		if resp, _ := stale.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("old session after logout: %d", resp.StatusCode)
		}

		// Options.Secure (a TLS proxy in front) marks the cookie Secure.
		fx.srv.opt.Secure = true
		resp = fx.anon().tryLogin("sup2", password)
		fx.srv.opt.Secure = false
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie && !ck.Secure {
				t.Fatal("session cookie not Secure with Options.Secure")
			}
		}

		// Throttling per login: 5 failures lock the login, even for the right password.
		for i := 0; i < 5; i++ {
			if resp := c.tryLogin("off1", "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("bad password %d: status %d", i, resp.StatusCode)
			}
		}
		if resp := c.tryLogin("off1", password); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("6th attempt: status %d, want 429", resp.StatusCode)
		}
		if resp := c.tryLogin("off2", password); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("another login from the same IP: %d", resp.StatusCode)
		}
		fx.clock.Add(16 * time.Minute)
		if resp := c.tryLogin("off1", password); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after the window: %d", resp.StatusCode)
		}
		// Throttling per IP: 20 failures over any logins lock the address.
		for i := 0; i < 20; i++ {
			c.tryLogin(fmt.Sprintf("nobody%d", i), "wrong")
		}
		if resp := c.tryLogin("sup2", password); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after 20 failures from one IP: %d, want 429", resp.StatusCode)
		}
	})
}

func TestCSRF(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		sup := fx.login("sup")
		path := fmt.Sprintf("/findings/%d/events/remind", fx.f1.ID)
		resp, body := sup.postForm(path, url.Values{"csrf": {"forged"}})
		wantStatus(t, "forged csrf", resp, body, http.StatusForbidden)
		resp, body = sup.postForm(path, url.Values{"csrf": {""}, "comment": {"请抓紧"}})
		wantStatus(t, "missing csrf", resp, body, http.StatusForbidden)
		// Another session's token does not work either.
		other := fx.login("sup2")
		resp, body = sup.postForm(path, url.Values{"csrf": {other.csrf}})
		wantStatus(t, "other session's csrf", resp, body, http.StatusForbidden)
		resp, body = sup.postForm(path, url.Values{"comment": {"请抓紧"}})
		wantStatus(t, "good csrf", resp, body, http.StatusSeeOther)
	})
}

// TestMainFlow: the adviser responds with evidence, the officer verifies, a
// supervisor signs off, the dashboard and lists follow; evidence is served
// only within scope.
func TestMainFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		adv1, off1, sup := fx.login("adv1"), fx.login("off1"), fx.login("sup")
		f1 := fmt.Sprintf("/findings/%d", fx.f1.ID)

		resp, body := adv1.get("/my")
		wantStatus(t, "portal", resp, body, http.StatusOK)
		if !strings.Contains(body, f1) || strings.Contains(body, fmt.Sprintf("/findings/%d\"", fx.f2.ID)) {
			t.Fatalf("portal should list f1 and not f2:\n%s", excerpt(body))
		}
		resp, body = adv1.get(f1)
		wantStatus(t, "finding", resp, body, http.StatusOK)
		for _, want := range []string{`action="` + f1 + `/events/respond"`, `action="` + f1 + `/events/appeal"`} {
			if !strings.Contains(body, want) {
				t.Fatalf("adviser's finding page lacks %s", want)
			}
		}
		for _, never := range []string{"/events/verify", "/events/dismiss", "/events/sign_off", "/events/summon"} {
			if strings.Contains(body, never) {
				t.Fatalf("adviser's finding page offers %s", never)
			}
		}

		// A disguised HTML file is refused and changes nothing.
		resp, body = adv1.postMultipart(f1+"/events/respond", map[string]string{"comment": "已整改", "version": fmt.Sprint(fx.f1.Version)},
			map[string][]byte{"photo.png": []byte("<html><script>alert(1)</script></html>")})
		wantStatus(t, "html upload", resp, body, http.StatusBadRequest)
		if !strings.Contains(body, "不被接受") {
			t.Fatalf("no reason given for the refused upload:\n%s", excerpt(body))
		}
		resp, body = adv1.postMultipart(f1+"/events/respond", map[string]string{"comment": "已整改"},
			map[string][]byte{"big.txt": bytes.Repeat([]byte("a"), 65<<10)})
		wantStatus(t, "oversized upload", resp, body, http.StatusBadRequest)

		// Respond with a photo and a text note.
		resp, body = adv1.postMultipart(f1+"/events/respond",
			map[string]string{"comment": "已于3月6日到村服务并补登记", "version": fmt.Sprint(fx.f1.Version)},
			map[string][]byte{"到村照片.png": pngBytes(t), "说明.txt": []byte("三月六日到东村服务, 解答咨询 3 人次。")})
		wantStatus(t, "respond", resp, body, http.StatusSeeOther)
		resp, body = adv1.get(f1)
		if !strings.Contains(body, "已反馈") || !strings.Contains(body, "到村照片.png") {
			t.Fatalf("after respond the page shows no state or file:\n%s", excerpt(body))
		}
		evID := regexp.MustCompile(`href="/evidence/(\d+)">到村照片.png`).FindStringSubmatch(body)
		if evID == nil {
			t.Fatal("no evidence link")
		}
		ev := "/evidence/" + evID[1]
		resp, body = off1.get(ev)
		wantStatus(t, "officer downloads evidence", resp, body, http.StatusOK)
		if resp.Header.Get("Content-Type") != "image/png" || body != string(pngBytes(t)) {
			t.Fatalf("evidence served as %q, %d bytes", resp.Header.Get("Content-Type"), len(body))
		}
		for _, other := range []string{"adv2", "off2"} {
			resp, body = fx.login(other).get(ev)
			wantStatus(t, other+" downloads evidence", resp, body, http.StatusNotFound)
		}

		// A stale version is a conflict, not an overwrite.
		resp, body = off1.postForm(f1+"/events/verify", url.Values{"version": {fmt.Sprint(fx.f1.Version)}})
		wantStatus(t, "stale verify", resp, body, http.StatusConflict)

		resp, body = off1.get(f1)
		m := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)
		resp, body = off1.postForm(f1+"/events/verify", url.Values{"version": {m[1]}, "comment": {"实地核实属实"}})
		wantStatus(t, "verify", resp, body, http.StatusSeeOther)

		// The officer who verified cannot sign off (not a supervisor anyway);
		// the supervisor can.
		resp, body = sup.get(f1)
		if !strings.Contains(body, f1+"/events/sign_off") {
			t.Fatalf("supervisor is not offered sign-off:\n%s", excerpt(body))
		}
		resp, body = sup.postForm(f1+"/events/sign_off", url.Values{"comment": {"同意销号"}})
		wantStatus(t, "sign off", resp, body, http.StatusSeeOther)
		resp, body = sup.get(f1 + "?done=sign_off")
		if !strings.Contains(body, "已销号") || !strings.Contains(body, "同意销号") || !strings.Contains(body, "实地核实属实") {
			t.Fatalf("history lacks the steps:\n%s", excerpt(body))
		}

		// Dashboard and API agree with the database.
		code, b := fx.api("sup", "GET", "/api/v1/dashboard", nil)
		if code != http.StatusOK {
			t.Fatalf("dashboard API: %d %s", code, b)
		}
		var d Dashboard
		json.Unmarshal(b, &d)
		all, _ := store.NewFindings(db).List(context.Background(), store.FindingFilter{})
		open := 0
		for _, f := range all {
			if f.Open() {
				open++
			}
		}
		if d.Open != open || d.Colours.Total() != open || open != len(all)-1 {
			t.Fatalf("dashboard open %d (colours %d), database open %d of %d", d.Open, d.Colours.Total(), open, len(all))
		}
		code, b = fx.api("off2", "GET", "/api/v1/dashboard?township=城关镇", nil)
		json.Unmarshal(b, &d)
		if d.Township != "河口乡" || len(d.Townships) != 1 || d.Townships[0].Name != "河口乡" {
			t.Fatalf("officer's dashboard not limited to the township: %+v", &d)
		}
		resp, body = sup.get("/")
		wantStatus(t, "dashboard", resp, body, http.StatusOK)
		if !strings.Contains(body, fmt.Sprintf(`id="open-count">%d<`, open)) || !strings.Contains(body, "<svg") {
			t.Fatalf("dashboard page does not show %d open findings and charts:\n%s", open, excerpt(body))
		}
	})
}

// TestColourFilter checks the SQL colour filter against Lifecycle.Colour.
func TestColourFilter(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		ctx := context.Background()
		for _, days := range []int{0, 9, 12, 16, 30} {
			fx.clock.t = time.Date(2018, 3, 5, 10, 0, 0, 0, workflow.Shanghai).AddDate(0, 0, days)
			today := fx.srv.today()
			all, _ := fx.srv.findings.List(ctx, store.FindingFilter{})
			want := map[workflow.Colour]int{}
			for _, f := range all {
				want[fx.srv.life.Colour(f, today)]++
			}
			for _, col := range []workflow.Colour{workflow.Red, workflow.Yellow, workflow.Blue} {
				sup, _ := db.UserByLogin(ctx, "sup")
				_, n, err := fx.srv.listFindings(ctx, sup, store.WebFindingFilter{Colour: col})
				if err != nil {
					t.Fatal(err)
				}
				if n != want[col] {
					t.Errorf("day +%d colour %s: filter gives %d, Lifecycle.Colour %d", days, col, n, want[col])
				}
			}
		}
	})
}

func TestAPIFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		f2 := fmt.Sprintf("/api/v1/findings/%d", fx.f2.ID)
		code, b := fx.api("adv2", "GET", f2, nil)
		var d FindingDetail
		if code != http.StatusOK || json.Unmarshal(b, &d) != nil || !slices.Equal(d.Actions, []string{"respond", "appeal"}) {
			t.Fatalf("adviser's view: %d %s", code, b)
		}
		// Illegal event: 409 naming the allowed events.
		code, b = fx.api("sup", "POST", f2+"/events/sign_off", map[string]any{})
		if code != http.StatusConflict || !strings.Contains(string(b), "dismiss") {
			t.Fatalf("illegal sign_off: %d %s", code, b)
		}
		// Missing reason: 400.
		code, b = fx.api("adv2", "POST", f2+"/events/appeal", map[string]any{})
		if code != http.StatusBadRequest || !strings.Contains(string(b), "理由") {
			t.Fatalf("appeal without reason: %d %s", code, b)
		}
		// Unknown field: 400.
		code, _ = fx.api("adv2", "POST", f2+"/events/appeal", map[string]any{"grounds": "x"})
		if code != http.StatusBadRequest {
			t.Fatalf("unknown field: %d", code)
		}
		code, b = fx.api("adv2", "POST", f2+"/events/appeal", map[string]any{"reason": "2月12日已到村服务, 记录漏登", "version": d.Version})
		if code != http.StatusOK || !strings.Contains(string(b), `"state":"appealed"`) {
			t.Fatalf("appeal: %d %s", code, b)
		}
		code, b = fx.api("sup", "POST", f2+"/events/uphold", map[string]any{"comment": "经核查无到村记录", "deadline_days": 5})
		if code != http.StatusOK || !strings.Contains(string(b), `"state":"ordered"`) {
			t.Fatalf("uphold: %d %s", code, b)
		}
		code, b = fx.api("sup", "POST", f2+"/events/summon", map[string]any{"time": "2018-03-08T09:30", "place": "县司法局", "interviewer": "张督查"})
		if code != http.StatusOK || !strings.Contains(string(b), "2018-03-08 09:30") {
			t.Fatalf("summon: %d %s", code, b)
		}
		code, b = fx.api("off2", "POST", f2+"/events/record_interview", map[string]any{"statement": "工作繁忙", "outcome": "限期整改"})
		if code != http.StatusOK {
			t.Fatalf("record interview: %d %s", code, b)
		}
		code, b = fx.api("sup", "POST", f2+"/events/escalate", map[string]any{"measure": "通报批评", "reason": "约谈后仍未整改", "decision": "全县通报批评"})
		if code != http.StatusOK || !strings.Contains(string(b), `"state":"accountability"`) {
			t.Fatalf("escalate: %d %s", code, b)
		}

		// Activities: own village only, no future dates, no duplicates.
		act := map[string]any{"village": "V02", "kind": "visit", "date": "2018-03-05", "count": 1, "note": "到村"}
		if code, b = fx.api("adv2", "POST", "/api/v1/activities", act); code != http.StatusCreated {
			t.Fatalf("activity: %d %s", code, b)
		}
		if code, _ = fx.api("adv2", "POST", "/api/v1/activities", act); code != http.StatusBadRequest {
			t.Fatalf("duplicate activity: %d", code)
		}
		act["village"] = "V01"
		if code, _ = fx.api("adv2", "POST", "/api/v1/activities", act); code != http.StatusBadRequest {
			t.Fatalf("activity in another adviser's village: %d", code)
		}
		act["village"], act["date"] = "V02", "2018-03-06"
		if code, _ = fx.api("adv2", "POST", "/api/v1/activities", act); code != http.StatusBadRequest {
			t.Fatalf("activity in the future: %d", code)
		}

		// Rounds: a random round through the API, verifiable by its seed.
		code, b = fx.api("sup", "POST", "/api/v1/rounds", map[string]any{"from": "2018-02-01", "to": "2018-02-28", "scope": "sample=2", "seed": "00112233445566778899aabbccddeeff"})
		if code != http.StatusCreated || !strings.Contains(string(b), `"kind":"random"`) {
			t.Fatalf("open round: %d %s", code, b)
		}
		code, b = fx.api("sup", "POST", "/api/v1/rounds", map[string]any{"from": "2018-02-31", "to": "2018-02-28"})
		if code != http.StatusBadRequest || !strings.Contains(string(b), "2018-02-31") {
			t.Fatalf("bad round date: %d %s", code, b)
		}

		// Summary and checklist.
		code, b = fx.api("off1", "GET", "/api/v1/summary?from=2018-01-01&to=2018-03-31&township=河口乡", nil)
		if code != http.StatusOK || !strings.Contains(string(b), `"township":"城关镇"`) {
			t.Fatalf("officer's summary not limited to the township: %d %s", code, excerpt(string(b)))
		}
		code, b = fx.api("adv1", "GET", "/api/v1/checklist", nil)
		if code != http.StatusOK || !strings.Contains(string(b), "visit_monthly") {
			t.Fatalf("checklist: %d %s", code, excerpt(string(b)))
		}

		// Scope of lists.
		var page findingsPageJSON
		_, b = fx.api("adv1", "GET", "/api/v1/findings", nil)
		json.Unmarshal(b, &page)
		for _, f := range page.Findings {
			if f.Adviser != "A01" {
				t.Fatalf("adviser sees finding %d of %s", f.ID, f.Adviser)
			}
		}
		_, b = fx.api("off2", "GET", "/api/v1/findings?township=城关镇", nil)
		json.Unmarshal(b, &page)
		if page.Total == 0 {
			t.Fatal("officer sees none of its township's findings")
		}
		for _, f := range page.Findings {
			if f.Township != "河口乡" {
				t.Fatalf("officer of 河口乡 sees finding %d of %s", f.ID, f.Township)
			}
		}
	})
}

// publish stores a bulletin of the fixture's round.
func (fx *fixture) publish(t testing.TB) *store.Published {
	t.Helper()
	b := &bulletin.Bulletin{Bureau: "云溪县司法局", Date: workflow.Date(2018, 3, 6),
		Round: bulletin.Round{ID: fx.round.ID, Kind: fx.round.Kind, Opened: fx.round.OpenedAt, PeriodFrom: fx.round.From,
			PeriodTo: fx.round.To, Scope: "全县", Villages: fx.round.Villages, Rules: len(fx.round.Rules)},
		Problems: []bulletin.Finding{{ID: fx.f1.ID, Township: fx.f1.Township, Village: fx.f1.VillageName,
			Adviser: fx.f1.AdviserName, Rule: fx.f1.RuleTitle, Severity: "较重", Message: fx.f1.Message}}}
	p, err := fx.db.PublishBulletin(context.Background(), b, fx.round.ID, "sup", fx.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRoleMatrix walks every endpoint × role × own/other township or adviser.
func TestRoleMatrix(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		ctx := context.Background()
		// An evidence file on f1 and a pending notification.
		fl := &store.EvidenceFile{FindingID: fx.f1.ID, SHA256: strings.Repeat("ab", 32), Name: "x.txt",
			ContentType: "text/plain; charset=utf-8", Size: 1, UploadedBy: "adv1", UploadedAt: fx.clock.Now()}
		if err := fx.srv.storeBlob(fl.SHA256, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := db.AddEvidence(ctx, []*store.EvidenceFile{fl}); err != nil {
			t.Fatal(err)
		}
		if err := db.Enqueue(ctx, []notify.Message{{Kind: notify.Kind("order"), Cause: "test:1", Recipient: "adviser:A01",
			Channel: "file", Subject: "整改通知", Body: "请整改", CreatedAt: fx.clock.Now()}}); err != nil {
			t.Fatal(err)
		}
		msgs, _ := db.Outbox().List(ctx, store.OutboxFilter{})
		f1, r1, e1, n1 := fx.f1.ID, fx.round.ID, fl.ID, msgs[0].ID
		pub := fx.publish(t)
		b1 := fmt.Sprintf("%d/%d", pub.Number.Year, pub.Number.Seq)

		// Columns: sup, off1 (f1's township), off2 (other), adv1 (f1's adviser), adv2 (other).
		logins := []string{"sup", "off1", "off2", "adv1", "adv2"}
		type row struct {
			method, path string
			form         url.Values // pages: posted form
			body         any        // API: JSON body
			want         [5]int
		}
		const (
			ok, see, bad, forb, nf, conf = 200, 303, 400, 403, 404, 409
		)
		pages := []row{
			{method: "GET", path: "/", want: [5]int{ok, ok, ok, see, see}},
			{method: "GET", path: "/rounds", want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/rounds/new", want: [5]int{ok, forb, forb, forb, forb}},
			{method: "POST", path: "/rounds", form: url.Values{"from": {"2018-02-31"}}, want: [5]int{bad, forb, forb, forb, forb}},
			{method: "GET", path: fmt.Sprintf("/rounds/%d", r1), want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/findings", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: fmt.Sprintf("/findings/%d", f1), want: [5]int{ok, ok, nf, ok, nf}},
			// respond without a report: only the own adviser gets as far as the input check.
			{method: "POST", path: fmt.Sprintf("/findings/%d/events/respond", f1), want: [5]int{forb, forb, nf, bad, nf}},
			// dismiss without a reason: only supervisors get as far as the input check.
			{method: "POST", path: fmt.Sprintf("/findings/%d/events/dismiss", f1), want: [5]int{bad, forb, nf, forb, nf}},
			// verify on an ordered finding: illegal for whoever may see it.
			{method: "POST", path: fmt.Sprintf("/findings/%d/events/verify", f1), want: [5]int{conf, conf, nf, conf, nf}},
			{method: "GET", path: fmt.Sprintf("/evidence/%d", e1), want: [5]int{ok, ok, nf, ok, nf}},
			{method: "GET", path: "/my", want: [5]int{forb, forb, forb, ok, ok}},
			{method: "GET", path: "/my/activity", want: [5]int{forb, forb, forb, ok, ok}},
			{method: "POST", path: "/my/activity", form: url.Values{"village": {"V01"}, "kind": {"visit"}, "date": {"2018-03-09"}}, want: [5]int{forb, forb, forb, bad, bad}},
			{method: "GET", path: "/summary?from=2018-01-01&to=2018-03-31", want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/summary/document?from=2018-01-01&to=2018-03-31", want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/notifications", want: [5]int{ok, forb, forb, forb, forb}},
			{method: "GET", path: fmt.Sprintf("/notifications/%d", n1), want: [5]int{ok, forb, forb, forb, forb}},
			{method: "POST", path: fmt.Sprintf("/notifications/%d/resend", n1), want: [5]int{bad, forb, forb, forb, forb}},
			{method: "GET", path: "/checklist", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: "/bulletins", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: "/bulletins/" + b1, want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: "/bulletins/" + b1 + "/xlsx", want: [5]int{ok, ok, ok, ok, ok}},
		}
		api := []row{
			{method: "GET", path: "/api/v1/me", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: "/api/v1/dashboard", want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/api/v1/rounds", want: [5]int{ok, ok, ok, forb, forb}},
			{method: "POST", path: "/api/v1/rounds", body: map[string]any{"from": "x"}, want: [5]int{bad, forb, forb, forb, forb}},
			{method: "GET", path: fmt.Sprintf("/api/v1/rounds/%d", r1), want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/api/v1/findings", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: fmt.Sprintf("/api/v1/findings/%d", f1), want: [5]int{ok, ok, nf, ok, nf}},
			{method: "POST", path: fmt.Sprintf("/api/v1/findings/%d/events/respond", f1), body: map[string]any{}, want: [5]int{forb, forb, nf, bad, nf}},
			{method: "POST", path: fmt.Sprintf("/api/v1/findings/%d/events/dismiss", f1), body: map[string]any{}, want: [5]int{bad, forb, nf, forb, nf}},
			{method: "POST", path: fmt.Sprintf("/api/v1/findings/%d/events/verify", f1), body: map[string]any{}, want: [5]int{conf, conf, nf, conf, nf}},
			{method: "GET", path: fmt.Sprintf("/api/v1/evidence/%d", e1), want: [5]int{ok, ok, nf, ok, nf}},
			{method: "POST", path: "/api/v1/activities", body: map[string]any{"village": "V01", "kind": "visit", "date": "2018-03-09"}, want: [5]int{forb, forb, forb, bad, bad}},
			{method: "GET", path: "/api/v1/summary?from=2018-01-01&to=2018-03-31", want: [5]int{ok, ok, ok, forb, forb}},
			{method: "GET", path: "/api/v1/notifications", want: [5]int{ok, forb, forb, forb, forb}},
			{method: "POST", path: fmt.Sprintf("/api/v1/notifications/%d/resend", n1), want: [5]int{bad, forb, forb, forb, forb}},
			{method: "GET", path: "/api/v1/checklist", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: "/api/v1/bulletins", want: [5]int{ok, ok, ok, ok, ok}},
			{method: "GET", path: "/api/v1/bulletins/" + b1, want: [5]int{ok, ok, ok, ok, ok}},
		}
		covered := map[string]bool{}
		pattern := regexp.MustCompile(`/\d+`)
		canon := func(path string) string {
			path = strings.SplitN(path, "?", 2)[0]
			path = strings.Replace(path, "/bulletins/"+b1, "/bulletins/{year}/{seq}", 1)
			path = strings.Replace(path, "/{year}/{seq}/xlsx", "/{year}/{seq}/{format}", 1)
			return pattern.ReplaceAllString(path, "/{id}")
		}
		for i, login := range logins {
			c := fx.login(login)
			for _, r := range pages {
				var resp *http.Response
				var body string
				if r.method == "GET" {
					resp, body = c.get(r.path)
				} else {
					resp, body = c.postForm(r.path, r.form)
				}
				if resp.StatusCode != r.want[i] {
					t.Errorf("%s %s %s: %d, want %d\n%s", login, r.method, r.path, resp.StatusCode, r.want[i], excerpt(body))
				}
				covered[r.method+" "+canon(r.path)] = true
			}
			for _, r := range api {
				code, b := fx.api(login, r.method, r.path, r.body)
				if code != r.want[i] {
					t.Errorf("%s API %s %s: %d, want %d\n%s", login, r.method, r.path, code, r.want[i], b)
				}
				covered[r.method+" "+canon(r.path)] = true
			}
		}
		// Nothing above may have changed f1.
		if f, _ := fx.srv.findings.Finding(ctx, f1); f.Version != fx.f1.Version {
			t.Fatalf("the matrix changed finding %d (version %d → %d)", f1, fx.f1.Version, f.Version)
		}
		// Every route that needs a signed-in user is in the matrix.
		public := map[string]bool{"GET /static/": true, "GET /healthz": true, "GET /metrics": true, "GET /login": true,
			"POST /login": true, "POST /logout": true, "GET /api/v1/openapi.json": true}
		for _, rt := range fx.srv.routes {
			if public[rt.Method+" "+rt.Path] {
				continue
			}
			k := rt.Method + " " + strings.NewReplacer("{$}", "", "{event}", "respond").Replace(rt.Path)
			if !covered[k] {
				t.Errorf("route %s %s is not in the role matrix", rt.Method, rt.Path)
			}
		}
	})
}

// TestOpenAPI: every API route is in the document and every documented
// operation is a route.
func TestOpenAPI(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s := &Server{mux: http.NewServeMux(), metrics: newMetrics(nil)}
	s.register()
	registered := map[string]bool{}
	for _, r := range s.routes {
		if r.API {
			registered[r.Method+" "+r.Path] = true
		}
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for k := range registered {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("openapi.json documents %s, which is not a route", k)
		}
	}
	if len(registered) < 15 {
		t.Fatalf("only %d API routes registered", len(registered))
	}
}

func TestOperations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		c := fx.anon()
		resp, body := c.get("/healthz")
		wantStatus(t, "healthz", resp, body, http.StatusOK)
		fx.api("sup", "GET", "/api/v1/findings", nil)
		resp, body = c.get("/metrics")
		wantStatus(t, "metrics", resp, body, http.StatusOK)
		for _, want := range []string{
			"ducha_rounds 1", `ducha_findings{state="ordered"}`, `ducha_finding_transitions{event="order"}`,
			`ducha_http_request_duration_seconds_bucket{code="200",method="GET",route="GET /api/v1/findings"`,
			"ducha_metrics_db_up 1",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		resp, body = c.get("/no/such/page")
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "页面不存在") {
			t.Fatalf("unknown page: %d %s", resp.StatusCode, excerpt(body))
		}
		if code, b := fx.api("sup", "GET", "/api/v1/nothing", nil); code != http.StatusNotFound || !strings.Contains(string(b), `"status":404`) {
			t.Fatalf("unknown API path: %d %s", code, b)
		}
		resp, body = c.get("/static/style.css")
		wantStatus(t, "css", resp, body, http.StatusOK)
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Fatal("security headers missing")
		}
	})
}

func TestSniff(t *testing.T) {
	zipDocx := func() []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, n := range []string{"[Content_Types].xml", "word/document.xml"} {
			w, _ := zw.Create(n)
			w.Write([]byte("<xml/>"))
		}
		zw.Close()
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"a.png", pngBytes(t), true},
		{"a.pdf", []byte("%PDF-1.4\n%…"), true},
		{"a.txt", []byte("整改说明"), true},
		{"a.docx", zipDocx(), true},
		{"a.zip", zipDocx(), false},
		{"a.doc", append(append([]byte{}, oleMagic...), make([]byte, 100)...), true},
		{"a.png", []byte("<!DOCTYPE html><html></html>"), false},
		{"a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), false},
		{"a.exe", []byte("MZ\x90\x00\x03\x00\x00\x00"), false},
	}
	for _, c := range cases {
		_, err := sniff(c.name, c.data)
		if (err == nil) != c.ok {
			t.Errorf("sniff(%s): err %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "10.0.0.1:5555"
	r.Header.Set("X-Real-IP", "203.0.113.7")
	direct := &Server{}
	if ip := direct.clientIP(r); ip != "10.0.0.1" {
		t.Fatalf("direct: %s (a client-set header must not count)", ip)
	}
	proxied := &Server{opt: Options{RealIPHeader: "X-Real-IP"}}
	if ip := proxied.clientIP(r); ip != "203.0.113.7" {
		t.Fatalf("behind a proxy: %s", ip)
	}
}

// TestResendAndAPIUpload: a dead notification is resent from its page; an
// adviser responds through the API with a PDF attached.
func TestResendAndAPIUpload(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		ctx := context.Background()
		now := fx.clock.Now()
		if err := db.Enqueue(ctx, []notify.Message{{Kind: notify.Kind("order"), Cause: "test:2", Recipient: "adviser:A01",
			Channel: "file", Subject: "整改通知", Body: "请整改", CreatedAt: now}}); err != nil {
			t.Fatal(err)
		}
		claimed, err := db.Outbox().Claim(ctx, now, 10, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %d", err, len(claimed))
		}
		m := claimed[0]
		if err := db.Outbox().Record(ctx, []notify.Outcome{{ID: m.ID, Attempt: m.Attempts, Started: now,
			State: notify.Dead, Error: "550 mailbox unavailable"}}); err != nil {
			t.Fatal(err)
		}
		sup := fx.login("sup")
		page := fmt.Sprintf("/notifications/%d", m.ID)
		resp, body := sup.get(page)
		if !strings.Contains(body, "550 mailbox unavailable") || !strings.Contains(body, page+"/resend") {
			t.Fatalf("dead message page lacks its error or the resend button:\n%s", excerpt(body))
		}
		resp, body = sup.postForm(page+"/resend", nil)
		wantStatus(t, "resend", resp, body, http.StatusSeeOther)
		if got, _ := db.OutboxMessage(ctx, m.ID); got.State != notify.Pending {
			t.Fatalf("after resend the message is %s", got.State)
		}
		att, _ := db.Outbox().Attempts(ctx, m.ID)
		if len(att) != 2 || att[1].Outcome != "resend" || !strings.Contains(att[1].Error, "sup") {
			t.Fatalf("delivery log after resend: %+v", att)
		}

		// API upload: multipart with a bearer token, no CSRF.
		ct, mb := multipartBody(t, map[string]string{"comment": "已整改, 附到村记录"},
			map[string][]byte{"记录.pdf": []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")})
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/findings/%d/events/respond", fx.ts.URL, fx.f1.ID), mb)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+fx.tokens["adv1"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var d FindingDetail
		json.NewDecoder(res.Body).Decode(&d)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || d.State != "responded" || len(d.Files) != 1 || d.Files[0].ContentType != "application/pdf" {
			t.Fatalf("API respond with a file: %d %+v", res.StatusCode, d)
		}
		code, b := fx.api("off1", "GET", fmt.Sprintf("/api/v1/evidence/%d", d.Files[0].ID), nil)
		if code != http.StatusOK || !strings.HasPrefix(string(b), "%PDF") {
			t.Fatalf("officer downloads the PDF: %d", code)
		}
	})
}

// TestRoundForm opens a township round from the form and shows it.
func TestRoundForm(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		fx := newFixture(t, db)
		sup := fx.login("sup")
		resp, body := sup.get("/rounds/new")
		if !strings.Contains(body, "checklist-2018.yaml") || !strings.Contains(body, `value="河口乡"`) {
			t.Fatalf("round form:\n%s", excerpt(body))
		}
		resp, body = sup.postForm("/rounds", url.Values{"from": {"2018-02-01"}, "to": {"2018-02-28"},
			"scope": {"township"}, "township": {"河口乡"}})
		wantStatus(t, "open round", resp, body, http.StatusSeeOther)
		loc := resp.Header.Get("Location")
		resp, body = sup.get(loc)
		wantStatus(t, "round page", resp, body, http.StatusOK)
		if !strings.Contains(body, "河口乡") || strings.Contains(body, "城关镇 东村") {
			t.Fatalf("township round page:\n%s", excerpt(body))
		}
		// A bad scope re-shows the form with the error and the entered values.
		resp, body = sup.postForm("/rounds", url.Values{"from": {"2018-02-01"}, "to": {"2018-02-28"},
			"scope": {"sample"}, "sample": {"abc"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `value="abc"`) || !strings.Contains(body, "flash err") {
			t.Fatalf("bad sample: %d\n%s", resp.StatusCode, excerpt(body))
		}
	})
}
