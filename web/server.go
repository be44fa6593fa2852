package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"ducha/bulletin"
	"ducha/config"
	"ducha/store"
	"ducha/workflow"
)

// Options wires the web application. DB, Lifecycle, Rounds and UploadDir
// are required; every other field has a default.
type Options struct {
	// DB is the database the pages read and the sessions, tokens, throttling
	// and evidence records live in.
	DB *store.DB
	// Lifecycle fires finding events (its Store should be store.NewFindings(DB));
	// its Policy and Calendar also colour the dashboard.
	Lifecycle *workflow.Lifecycle
	// Rounds opens rounds from the form and the API.
	Rounds *workflow.Rounds
	// Config is the configuration in force (bureau name, base URL, schedules);
	// config.Default() when nil.
	Config *config.Config
	// Checklist is the path of the checklist file in force: the rounds form
	// applies it and /checklist shows it. When empty, the checklist of the
	// config's first schedule; when there is none, opening rounds from the
	// web is unavailable (the page says so).
	Checklist string
	// UploadDir keeps uploaded evidence under its SHA-256; it must not be a
	// folder any server serves. Created when missing.
	UploadDir string
	// Now is the clock (sessions, throttling, deadlines, colours); time.Now when nil.
	Now func() time.Time
	// Logger receives one line per request and the detail of server errors;
	// slog.Default() when nil.
	Logger *slog.Logger
	// Secure marks the session cookie Secure. Set it when served over TLS
	// (directly or behind a TLS proxy); requests that arrive over TLS get
	// Secure cookies regardless.
	Secure bool
	// SessionTTL is how long a session lasts; 12 hours when zero.
	SessionTTL time.Duration
	// MaxUpload is the largest evidence file accepted; 10 MiB when zero. A
	// request may carry at most 3 such files' worth.
	MaxUpload int64
	// LoginWindow, MaxLoginFailures and MaxIPFailures throttle logins: after
	// MaxLoginFailures failures for a login, or MaxIPFailures from one IP
	// address, within LoginWindow, further attempts are refused until the
	// window has passed. Defaults: 15 minutes, 5 and 20.
	// Throttling per IP counts the connection's peer address, or the value
	// of RealIPHeader (e.g. "X-Real-IP") when set: set it only behind a
	// reverse proxy that overwrites that header, never when clients reach
	// the server directly (they could forge it).
	LoginWindow      time.Duration
	MaxLoginFailures int
	MaxIPFailures    int
	RealIPHeader     string
	// Printer prints bulletins to PDF with headless Chromium where they
	// cannot be typeset in Go (no TrueType CJK font installed, see
	// bulletin.CanTypeset); the caller owns and closes it. Bulletins are
	// offered as PDF when they can be typeset or Printer is set, else as
	// HTML, Markdown and XLSX only.
	Printer *bulletin.Printer
	// DashboardTTL is how long the dashboard's figures may be reused for the
	// same scope before they are recomputed in the background; 2 seconds
	// when zero, never reused when negative. Changes made through this
	// handler start a recomputation at once, and whoever made one sees it
	// on their next dashboard; changes made elsewhere (the engine, the
	// command line, another server) show within DashboardTTL plus one
	// computation. Each page says when its figures were computed.
	DashboardTTL time.Duration
	// SessionRecheck is how long a session read from the database is
	// trusted before it is read again; 5 seconds when zero, never when
	// negative. Expiry is checked on every request and a logout through
	// this handler takes effect at once; a logout through another server
	// sharing the database, or a change to the user there, within
	// SessionRecheck.
	SessionRecheck time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed openapi.json
var openAPI []byte

// Server is the web application; New returns it as an http.Handler.
type Server struct {
	opt       Options
	db        *store.DB
	findings  *store.Findings
	sessions  *store.Sessions
	life      *workflow.Lifecycle
	rounds    *workflow.Rounds
	cfg       *config.Config
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux
	pages     map[string]*pageTemplate
	metrics   *metrics
	dashboard *dashCache
	sessCache *sessionCache
	routes    []route
}

// route is one registered endpoint; the OpenAPI test compares the API's to
// the document.
type route struct {
	Method, Path string
	API          bool
}

// New returns the web application: the Chinese pages, the JSON API under
// /api/v1 (described at /api/v1/openapi.json), /healthz and /metrics.
func New(opt Options) (http.Handler, error) {
	s, err := newServer(opt)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func newServer(opt Options) (*Server, error) {
	if opt.DB == nil || opt.Lifecycle == nil || opt.Rounds == nil {
		return nil, errors.New("web: Options.DB, Lifecycle and Rounds are required")
	}
	if opt.UploadDir == "" {
		return nil, errors.New("web: Options.UploadDir is required")
	}
	if err := os.MkdirAll(opt.UploadDir, 0o750); err != nil {
		return nil, fmt.Errorf("web: upload folder: %w", err)
	}
	if opt.Config == nil {
		opt.Config = config.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 10 << 20
	}
	if opt.LoginWindow <= 0 {
		opt.LoginWindow = 15 * time.Minute
	}
	if opt.MaxLoginFailures <= 0 {
		opt.MaxLoginFailures = 5
	}
	if opt.MaxIPFailures <= 0 {
		opt.MaxIPFailures = 20
	}
	if opt.DashboardTTL == 0 {
		opt.DashboardTTL = 2 * time.Second
	}
	if opt.SessionRecheck == 0 {
		opt.SessionRecheck = 5 * time.Second
	}
	if opt.Checklist == "" {
		for _, sc := range opt.Config.Schedules {
			if sc.Checklist != "" {
				opt.Checklist = sc.Checklist
				break
			}
		}
	}
	life := *opt.Lifecycle
	if life.Calendar == nil {
		life.Calendar = workflow.DefaultCalendar()
	}
	if life.Now == nil {
		life.Now = opt.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opt: opt, db: opt.DB, findings: store.NewFindings(opt.DB), sessions: opt.DB.Sessions(), life: &life, rounds: opt.Rounds,
		cfg: opt.Config, log: opt.Logger, now: opt.Now, mux: http.NewServeMux(), pages: pages,
		dashboard: newDashCache(opt.DashboardTTL), sessCache: newSessionCache(opt.SessionRecheck),
	}
	if fs, ok := life.Store.(*store.Findings); ok {
		s.findings = fs
	}
	s.metrics = newMetrics(opt.DB)
	s.register()
	return s, nil
}

// ServeHTTP logs and measures every request and sets the security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h := rec.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; form-action 'self'")
	s.mux.ServeHTTP(rec, r)
	d := time.Since(start)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.observe(r.Method, route, rec.status, d)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "http",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", route),
		slog.Int("status", rec.status), slog.Duration("duration", d), slog.String("user", rec.user))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	user   string
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// setUser lets the request log name the signed-in user.
func setUser(w http.ResponseWriter, login string) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.user = login
	}
}

// handle registers a route; pattern is "METHOD /path".
func (s *Server) handle(pattern string, h http.Handler) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, route{Method: method, Path: path, API: strings.HasPrefix(path, "/api/")})
	s.mux.Handle(pattern, h)
}

// Roles that may use an endpoint.
var (
	everyone = []workflow.Role{workflow.Supervisor, workflow.Officer, workflow.AdviserRole}
	staff    = []workflow.Role{workflow.Supervisor, workflow.Officer}
	bosses   = []workflow.Role{workflow.Supervisor}
	advisers = []workflow.Role{workflow.AdviserRole}
)

func (s *Server) register() {
	// Anything else: a Chinese 404 (JSON under /api/).
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &call{API: strings.HasPrefix(r.URL.Path, "/api/")}, &webError{http.StatusNotFound, "页面不存在"})
	})
	static, _ := fs.Sub(staticFS, "static")
	s.handle("GET /static/", http.StripPrefix("/static/", cacheFor(http.FileServerFS(static))))
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /metrics", s.metrics.handler())

	s.handle("GET /login", http.HandlerFunc(s.loginForm))
	s.handle("POST /login", http.HandlerFunc(s.login))
	s.handle("POST /logout", s.page(everyone, s.logout))
	s.handle("GET /{$}", s.page(everyone, s.home))
	s.handle("GET /rounds", s.page(staff, s.roundsPage))
	s.handle("GET /rounds/new", s.page(bosses, s.roundForm))
	s.handle("POST /rounds", s.page(bosses, s.roundOpen))
	s.handle("GET /rounds/{id}", s.page(staff, s.roundPage))
	s.handle("GET /findings", s.page(everyone, s.findingsPage))
	s.handle("GET /findings/{id}", s.page(everyone, s.findingPage))
	s.handle("POST /findings/{id}/events/{event}", s.page(everyone, s.findingEvent))
	s.handle("GET /evidence/{id}", s.page(everyone, s.evidence))
	s.handle("GET /my", s.page(advisers, s.portal))
	s.handle("GET /my/activity", s.page(advisers, s.activityForm))
	s.handle("POST /my/activity", s.page(advisers, s.activityAdd))
	s.handle("GET /summary", s.page(staff, s.summaryPage))
	s.handle("GET /summary/document", s.page(staff, s.summaryDocument))
	s.handle("GET /notifications", s.page(bosses, s.notificationsPage))
	s.handle("GET /notifications/{id}", s.page(bosses, s.notificationPage))
	s.handle("POST /notifications/{id}/resend", s.page(bosses, s.notificationResend))
	s.handle("GET /checklist", s.page(everyone, s.checklistPage))
	s.handle("GET /bulletins", s.page(everyone, s.bulletinsPage))
	s.handle("GET /bulletins/{year}/{seq}", s.page(everyone, s.bulletinPage))
	s.handle("GET /bulletins/{year}/{seq}/{format}", s.page(everyone, s.bulletinFile))

	s.handle("GET /api/v1/openapi.json", http.HandlerFunc(serveOpenAPI))
	s.handle("GET /api/v1/me", s.api(everyone, s.apiMe))
	s.handle("GET /api/v1/dashboard", s.api(staff, s.apiDashboard))
	s.handle("GET /api/v1/rounds", s.api(staff, s.apiRounds))
	s.handle("POST /api/v1/rounds", s.api(bosses, s.apiRoundOpen))
	s.handle("GET /api/v1/rounds/{id}", s.api(staff, s.apiRound))
	s.handle("GET /api/v1/findings", s.api(everyone, s.apiFindings))
	s.handle("GET /api/v1/findings/{id}", s.api(everyone, s.apiFinding))
	s.handle("POST /api/v1/findings/{id}/events/{event}", s.api(everyone, s.apiFindingEvent))
	s.handle("GET /api/v1/evidence/{id}", s.api(everyone, s.evidence))
	s.handle("POST /api/v1/activities", s.api(advisers, s.apiActivityAdd))
	s.handle("GET /api/v1/summary", s.api(staff, s.apiSummary))
	s.handle("GET /api/v1/notifications", s.api(bosses, s.apiNotifications))
	s.handle("POST /api/v1/notifications/{id}/resend", s.api(bosses, s.apiNotificationResend))
	s.handle("GET /api/v1/checklist", s.api(everyone, s.apiChecklist))
	s.handle("GET /api/v1/bulletins", s.api(everyone, s.apiBulletins))
	s.handle("GET /api/v1/bulletins/{year}/{seq}", s.api(everyone, s.apiBulletin))
}

func cacheFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.X.PingContext(ctx); err != nil {
		s.log.Error("healthz", "err", err)
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}
