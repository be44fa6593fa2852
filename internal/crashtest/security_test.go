package crashtest

import (
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"ducha/store"
)

// Hostile text: markup that must reach every page and document escaped.
var hostile = []string{`<script>alert("x")</script>`, `<img src=x onerror=alert(1)>`}

func hostileIn(s string) string {
	for _, h := range hostile {
		if strings.Contains(s, h) {
			return h
		}
	}
	return ""
}

// loadHostile imports a small county whose township, village and adviser
// names carry markup and spreadsheet formulas, and a supervisor "boss".
func (e *env) loadHostile() {
	e.t.Helper()
	e.must("import", "villages", e.writeCSV("v.csv", [][]string{{"code", "name", "township", "poverty"},
		{"V1", hostile[0] + "村", hostile[1] + "镇", "true"}, {"V2", `=HYPERLINK("http://evil")`, hostile[1] + "镇", "true"},
		{"V3", "平安村", "东关镇", "true"}}))
	e.must("import", "advisers", e.writeCSV("a.csv", [][]string{{"code", "name", "kind", "firm", "phone", "qq", "wechat", "email"},
		{"A1", hostile[1], "lawyer", hostile[0], "13800000000", "", "", ""}, {"A2", "=1+1", "lawyer", "律所", "13800000001", "1", "", ""}}))
	e.must("import", "assignments", e.writeCSV("s.csv", [][]string{{"adviser", "village", "from", "to"},
		{"A1", "V1", "2018-01-01", ""}, {"A2", "V2", "2018-01-01", ""}, {"A2", "V3", "2018-01-01", ""}}))
	e.must("user", "add", "boss", "--name", hostile[0], "--role", "supervisor", "--password", "boss-secret-1")
	e.must("round", "open", "--rules", checklist(e.t), "--period", "2018-01-01..2018-06-30", "--as", "boss")
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `ducha serve` on a free port and waits until it answers.
func (e *env) startServe() string {
	e.t.Helper()
	addr := freeAddr(e.t)
	c := e.cmd("serve", "--addr", addr)
	out := &lockedBuffer{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Process.Signal(syscall.SIGKILL); c.Wait() })
	base := "http://" + addr
	for i := 0; ; i++ {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			return base
		}
		if i == 200 {
			e.t.Fatalf("serve did not answer: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond) // waiting for another process to listen
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs in through the login form (with its CSRF token) and returns
// a client carrying the session.
func login(t *testing.T, base, user, password string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := get(t, c, base+"/login", 200)
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	res, err := c.PostForm(base+"/login", url.Values{"login": {user}, "password": {password}, "csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path == "/login" {
		t.Fatalf("login as %s failed", user)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string, want int) string {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if want != 0 && res.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", u, res.StatusCode, want, b)
	}
	return string(b)
}

// TestHostileTextEscaped: markup in township, village, adviser and user
// names, in a dismissal's reason and in a comment reaches every page, the
// summary document and the API escaped, never as live markup.
func TestHostileTextEscaped(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.writeConfig("rounds: {order_on_open: true, publish_on_close: false}\n")
	e.loadHostile()
	e.must("finding", "dismiss", "1", "--as", "boss", "--reason", hostile[0])
	e.must("finding", "summon", "2", "--as", "boss", "--time", "2018-07-02 09:00", "--place", hostile[1], "--interviewer", hostile[0], "--comment", hostile[0])

	sum := filepath.Join(e.dir, "summary.html")
	e.must("summary", "--from", "2018-01-01", "--to", "2018-06-30", "--format", "html", "-o", sum)
	if b, _ := os.ReadFile(sum); hostileIn(string(b)) != "" || !strings.Contains(string(b), "&lt;") {
		t.Errorf("summary HTML carries live markup %q", hostileIn(string(b)))
	}

	// The round's bulletin: HTML escaped, and no cell of its XLSX ledger a
	// formula (a village named =HYPERLINK(…) stays text).
	e.must("bulletin", "publish", "--round", "1", "--as", "boss")
	bh, bx := filepath.Join(e.dir, "b.html"), filepath.Join(e.dir, "b.xlsx")
	year := fmt.Sprint(e.count(`SELECT year FROM bulletins WHERE seq = 1`))
	e.must("bulletin", "show", "1", "--year", year, "--format", "html", "-o", bh)
	e.must("bulletin", "show", "1", "--year", year, "--format", "xlsx", "-o", bx)
	if b, _ := os.ReadFile(bh); hostileIn(string(b)) != "" {
		t.Errorf("bulletin HTML carries live markup %q", hostileIn(string(b)))
	}
	x, err := excelize.OpenFile(bx)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	cells, eq := 0, 0
	for _, sheet := range x.GetSheetList() {
		rows, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c := range row {
				name, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if f, _ := x.GetCellFormula(sheet, name); f != "" {
					t.Errorf("bulletin XLSX %s!%s is a formula: %s", sheet, name, f)
				}
				cells++
				if strings.HasPrefix(row[c], "=") {
					eq++
				}
			}
		}
	}
	if cells == 0 || eq == 0 {
		t.Errorf("the bulletin XLSX has %d cells, %d starting with =: the hostile names never reached it", cells, eq)
	}

	base := e.startServe()
	c := login(t, base, "boss", "boss-secret-1")
	var all strings.Builder
	for _, p := range []string{"/", "/findings", "/findings/1", "/findings/2", "/findings/3", "/rounds", "/rounds/1",
		"/summary?from=2018-01-01&to=2018-06-30", "/notifications", "/checklist"} {
		body := get(t, c, base+p, 200)
		all.WriteString(body)
		if h := hostileIn(body); h != "" {
			t.Errorf("page %s carries live markup %s", p, h)
		}
	}
	// The hostile names were shown, escaped: the check above saw them.
	for _, esc := range []string{"&lt;script&gt;alert(", "&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(all.String(), esc) {
			t.Errorf("no page shows %s: the hostile names never reached a page", esc)
		}
	}
	// The API returns names as they are, in JSON: safe only as long as no
	// browser takes it for HTML.
	token := strings.TrimSpace(e.must("token", "add", "boss"))
	for _, p := range []string{"/api/v1/findings", "/api/v1/findings/1", "/api/v1/rounds/1"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		ct, nosniff := res.Header.Get("Content-Type"), res.Header.Get("X-Content-Type-Options")
		if res.StatusCode != 200 || !strings.HasPrefix(ct, "application/json") || nosniff != "nosniff" {
			t.Errorf("API %s: %d, Content-Type %q, X-Content-Type-Options %q", p, res.StatusCode, ct, nosniff)
		}
		if !strings.Contains(string(b), "onerror") {
			t.Errorf("API %s does not return the hostile names: %.200s", p, b)
		}
	}
}

// injections are SQL fragments tried in every filter.
var injections = []string{`' OR '1'='1`, `x'; DROP TABLE findings; --`, `1 OR 1=1`, `"); DELETE FROM rounds; --`, `%' --`}

// TestSQLInjectionInFilters tries SQL fragments in every filter of the
// command line and the API: each is refused as bad input (exit 2, HTTP 400)
// or matches nothing, never reaches SQL as code (exit 1 or HTTP 500), and
// the data is unchanged.
func TestSQLInjectionInFilters(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.writeConfig("rounds: {order_on_open: true, publish_on_close: false}\n")
		e.loadHostile()
		findings := e.count(`SELECT COUNT(*) FROM findings`)
		if findings == 0 {
			t.Fatal("no findings to filter")
		}
		for _, inj := range injections {
			for _, args := range [][]string{
				{"finding", "list", "--state", inj}, {"finding", "list", "--township", inj}, {"finding", "list", "--adviser", inj},
				{"finding", "list", "--colour", inj}, {"finding", "list", "--round", inj}, {"finding", "show", inj},
				{"round", "show", inj}, {"round", "open", "--rules", checklist(t), "--period", "2018-01-01..2018-01-31", "--scope", "township=" + inj, "--as", "boss"},
				{"summary", "--township", inj, "--format", "json"}, {"notify", "list", "--state", inj},
				{"finding", "dismiss", "1", "--as", inj, "--reason", "x"},
			} {
				out, errs, code := e.run(args...)
				if code == 1 || (code == 0 && strings.Contains(out, "DROP")) {
					t.Errorf("ducha %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
				}
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM findings`); n != findings {
			t.Fatalf("findings: %d before, %d after", findings, n)
		}
		e.audit("after the injections")
		if e.dialect != store.SQLite {
			return
		}
		token := strings.TrimSpace(e.must("token", "add", "boss"))
		base := e.startServe()
		c := login(t, base, "boss", "boss-secret-1")
		for _, inj := range injections {
			q := url.QueryEscape(inj)
			for _, p := range []string{"/api/v1/findings?state=" + q, "/api/v1/findings?township=" + q, "/api/v1/findings?adviser=" + q,
				"/api/v1/findings?colour=" + q, "/api/v1/findings?round=" + q, "/findings?state=" + q + "&township=" + q,
				"/api/v1/dashboard?township=" + q} {
				req, _ := http.NewRequest("GET", base+p, nil)
				if strings.HasPrefix(p, "/api/") {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 200 && res.StatusCode != 400 {
					t.Errorf("GET %s: %d, want 200 (nothing matched) or 400 (refused)", p, res.StatusCode)
				}
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM findings`); n != findings {
			t.Fatalf("findings: %d before, %d after", findings, n)
		}
	})
}

// TestSecretsRedacted: database passwords (in the userinfo or as lib/pq's
// password parameter) and webhook secrets and URL tokens never appear in
// errors, logs or the delivery log.
func TestSecretsRedacted(t *testing.T) {
	e := newEnv(t, store.SQLite)
	for _, u := range []string{"postgres://u:dbsecret@127.0.0.1:1/db?sslmode=disable",
		"postgres://u@127.0.0.1:1/db?sslmode=disable&password=dbsecret", "postgresql://u:dbsecret@127.0.0.1:1/db"} {
		c := exec.Command(bin, "--db", u, "migrate")
		out, _ := c.CombinedOutput()
		if strings.Contains(string(out), "dbsecret") {
			t.Errorf("ducha --db %s shows the password:\n%s", u, out)
		}
	}
	hook := fmt.Sprintf("http://127.0.0.1:1/hook?token=%s", "urlsecret")
	e.writeConfig(fmt.Sprintf(`rounds: {order_on_open: true, publish_on_close: false}
notify:
  channels:
    hook: {type: webhook, url: %q, secret: signsecret}
  routes:
    order: {to: [supervisors], channels: [hook]}
`, hook))
	e.loadHostile()
	out, errs, _ := e.run("notify", "dispatch")
	list := e.must("notify", "list", "--json")
	show := e.must("notify", "show", "1")
	for name, s := range map[string]string{"dispatch": out + errs, "list": list, "show": show} {
		for _, secret := range []string{"urlsecret", "signsecret"} {
			if strings.Contains(s, secret) {
				t.Errorf("notify %s shows %s:\n%s", name, secret, s)
			}
		}
	}
	if !strings.Contains(show, "127.0.0.1:1") {
		t.Errorf("the delivery was not attempted, or its error does not name the host:\n%s", show)
	}
}

// TestUploadPathTraversal: an adviser's evidence file named with a path
// that climbs out of the upload folder is stored under its hash in the
// upload folder and recorded under its base name only.
func TestUploadPathTraversal(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.writeConfig("rounds: {order_on_open: true, publish_on_close: false}\n")
	e.loadHostile()
	e.must("user", "add", "adv1", "--name", "顾问", "--role", "adviser", "--adviser", "A1", "--password", "adviser-pass-1")
	token := strings.TrimSpace(e.must("token", "add", "adv1"))
	var id int64
	db := e.db()
	if err := db.X.Get(&id, `SELECT f.id FROM findings f JOIN advisers a ON a.id = f.adviser_id
		WHERE a.code = 'A1' AND f.state = 'ordered' ORDER BY f.id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	base := e.startServe()
	outside := filepath.Join(filepath.Dir(e.dir), "escape-"+filepath.Base(e.dir)+".pdf")
	rel, err := filepath.Rel(filepath.Join(e.dir, "uploads"), outside)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	w := multipart.NewWriter(&body)
	w.WriteField("comment", "已整改")
	fw, _ := w.CreateFormFile("evidence", rel)
	fw.Write([]byte("%PDF-1.4\n%evidence\n"))
	w.Close()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/findings/%d/events/respond", base, id), strings.NewReader(body.String()))
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 && res.StatusCode != 400 {
		t.Fatalf("respond with a climbing file name: %d\n%s", res.StatusCode, b)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Fatalf("the upload was written outside the upload folder: %s", outside)
	}
	if res.StatusCode == 200 {
		var n int
		db := e.db()
		if err := db.X.Get(&n, `SELECT COUNT(*) FROM evidence_files WHERE name LIKE '%..%' OR name LIKE '%/%'`); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%d evidence files recorded with a path in their name", n)
		}
	}
	t.Logf("respond: %d %.200s", res.StatusCode, b)
}
