// Package web is ducha's web application: server-rendered Chinese pages for
// supervisors (督查人员), township officers (司法所) and advisers (法律顾问),
// a JSON API under /api/v1 for scripts, /healthz and /metrics.
//
// New(Options) returns the whole application as one http.Handler; `ducha
// serve` mounts it. Everything it serves is embedded: templates, the one
// stylesheet (no scripts, no CDN) and the OpenAPI document
// (/api/v1/openapi.json, checked against the registered routes by a test).
//
// Pages (html/template, usable on a 390-pixel phone):
//
//	/login, /logout                 bcrypt passwords, session cookies
//	/                               dashboard: open findings by state, colour and township, overdue list, latest rounds and bulletins, SVG charts
//	/rounds, /rounds/new, /rounds/{id}
//	/findings, /findings/{id}       filters; facts, evidence, timeline and only the caller's possible actions
//	/findings/{id}/events/{event}   POST: the lifecycle events, with evidence uploads for respond and appeal
//	/evidence/{id}                  uploaded files, to users who may see the finding
//	/my, /my/activity               the adviser's portal: orders by deadline, log an activity
//	/bulletins, /bulletins/{year}/{seq}[/{format}]
//	/summary                        the work summary of a chosen period
//	/notifications[/{id}[/resend]]  the delivery log (supervisors)
//	/checklist                      the checklist in force
//
// Security: sessions are random ids stored as SHA-256 hashes, renewed at
// every login (no fixation), in HttpOnly SameSite=Lax cookies (Secure over
// TLS or with Options.Secure); every state-changing page request carries
// the session's CSRF token (the login form a double-submitted one); logins
// are throttled per login and per IP address with the injected clock; API
// tokens (`ducha token add LOGIN`) are stored as SHA-256 hashes and sent as
// "Authorization: Bearer …" (no cookies, so no CSRF).
//
// Scope (access.go): supervisors see everything, an officer its township, an
// adviser its own findings; a finding outside the caller's scope is "not
// found". What a caller may do with a finding is decided by the lifecycle's
// own guards (workflow.Lifecycle.Apply), so pages offer exactly the actions
// that would succeed.
//
// Caching (dashcache.go, sessions.go): the dashboard's figures and its
// rendered content are shared between requests per scope and day, rebuilt
// in the background when older than Options.DashboardTTL (2 s) or after a
// change made through the server, one build at a time; whoever made a
// change waits for figures read after it; the page says when its figures
// were computed. A session read from the database is trusted for
// Options.SessionRecheck (5 s), its expiry checked on every request, a
// logout through this server effective at once. A dashboard request thus
// costs no database round trip in the steady state.
//
// One table (errors.go) maps error kinds to HTTP status codes: not found 404,
// forbidden 403, illegal transition or version conflict 409, bad input 400,
// anything else 500 with the detail in the log only.
package web
