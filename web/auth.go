package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"ducha/workflow"
)

const (
	sessionCookie    = "ducha_session"
	loginCSRFCookie  = "ducha_login"
	csrfField        = "csrf"
	csrfHeader       = "X-CSRF-Token"
	maxFormBytes     = 1 << 20
	apiTokenPrefix   = "ducha_"
	tokenRandomBytes = 32
)

// call is what a handler knows about the request's caller.
type call struct {
	User *workflow.User
	CSRF string // the session's CSRF token (pages only)
	API  bool   // answer in JSON
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call)

// NewToken returns a fresh random secret (session id, CSRF token, API token).
func NewToken() string {
	b := make([]byte, tokenRandomBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewAPIToken returns a new API token and the hash to store for it.
func NewAPIToken() (token, hash string) {
	token = apiTokenPrefix + NewToken()
	return token, HashToken(token)
}

// HashToken is the SHA-256 (hex) under which a session id or API token is stored.
func HashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// page wraps a page handler: the caller must be signed in (else to the login
// page) with one of roles (else 403); state-changing requests must carry
// the session's CSRF token.
func (s *Server) page(roles []workflow.Role, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{}
		if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u, csrf, err := s.sessCache.session(r.Context(), HashToken(ck.Value), s.now(), s.sessions.Lookup)
			if err == nil {
				c.User, c.CSRF = u, csrf
			} else if !errors.Is(err, workflow.ErrNotFound) {
				s.fail(w, r, c, err)
				return
			}
		}
		if c.User == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, c, errUnauthenticated)
			return
		}
		setUser(w, c.User.Login)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 3*s.opt.MaxUpload+maxFormBytes)
			if err := r.ParseMultipartForm(maxFormBytes); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				s.fail(w, r, c, &inputError{"表单", "无法读取: " + err.Error()})
				return
			}
			token := r.PostFormValue(csrfField)
			if token == "" {
				token = r.Header.Get(csrfHeader)
			}
			if !sameSecret(token, c.CSRF) {
				s.fail(w, r, c, errCSRF)
				return
			}
		}
		if !slices.Contains(roles, c.User.Role) {
			s.fail(w, r, c, errRole)
			return
		}
		h(w, r, c)
	})
}

// api wraps a JSON API handler: the caller authenticates with
// "Authorization: Bearer TOKEN" (an API token; no cookies, so no CSRF).
func (s *Server) api(roles []workflow.Role, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{API: true}
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ducha"`)
			s.fail(w, r, c, errUnauthenticated)
			return
		}
		u, err := s.db.UserByToken(r.Context(), HashToken(strings.TrimSpace(token)))
		if errors.Is(err, workflow.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ducha", error="invalid_token"`)
			s.fail(w, r, c, errUnauthenticated)
			return
		}
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		c.User = u
		setUser(w, u.Login)
		if !slices.Contains(roles, u.Role) {
			s.fail(w, r, c, errRole)
			return
		}
		if r.Method != http.MethodGet {
			r.Body = http.MaxBytesReader(w, r.Body, 3*s.opt.MaxUpload+maxFormBytes)
		}
		h(w, r, c)
	})
}

func (s *Server) secure(r *http.Request) bool { return s.opt.Secure || r.TLS != nil }

type loginView struct {
	Next, Login, Error, Token string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, loginView{Next: r.URL.Query().Get("next")})
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	// Login CSRF: a double-submitted random value (there is no session yet).
	v.Token = NewToken()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: v.Token, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r), MaxAge: 3600})
	s.render(w, r, status, "login", &call{}, "登录", v)
}

// clientIP is the address the request came from: the RealIPHeader when
// configured (set it only behind a proxy that overwrites that header), else
// the connection's peer.
func (s *Server) clientIP(r *http.Request) string {
	if h := s.opt.RealIPHeader; h != "" {
		if v := strings.TrimSpace(strings.Split(r.Header.Get(h), ",")[0]); v != "" {
			return v
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, &call{}, &inputError{"表单", "无法读取"})
		return
	}
	v := loginView{Next: r.PostFormValue("next"), Login: strings.TrimSpace(r.PostFormValue("login"))}
	ck, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameSecret(r.PostFormValue(csrfField), ck.Value) {
		v.Error = "页面已过期, 请重新登录"
		s.renderLogin(w, r, http.StatusForbidden, v)
		return
	}
	ctx, now := r.Context(), s.now()
	keys := []string{"login:" + v.Login, "ip:" + s.clientIP(r)}
	fails, err := s.db.LoginFailures(ctx, keys, now.Add(-s.opt.LoginWindow))
	if err != nil {
		s.fail(w, r, &call{}, err)
		return
	}
	if fails[keys[0]] >= s.opt.MaxLoginFailures || fails[keys[1]] >= s.opt.MaxIPFailures {
		v.Error = fmt.Sprintf("登录失败次数过多, 请 %d 分钟后再试", int(s.opt.LoginWindow.Minutes()))
		s.renderLogin(w, r, http.StatusTooManyRequests, v)
		return
	}
	u, err := s.db.UserByLogin(ctx, v.Login)
	if err != nil && !errors.Is(err, workflow.ErrNotFound) {
		s.fail(w, r, &call{}, err)
		return
	}
	if u == nil || u.ID == 0 || !u.CheckPassword(r.PostFormValue("password")) {
		if err := s.db.RecordLoginFailure(ctx, keys, now, now.Add(-s.opt.LoginWindow)); err != nil {
			s.fail(w, r, &call{}, err)
			return
		}
		v.Error = "登录名或密码错误"
		s.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	}
	if err := s.db.ClearLoginFailures(ctx, keys[0]); err != nil {
		s.fail(w, r, &call{}, err)
		return
	}
	// A fresh session id at every login: a planted cookie is never adopted.
	if old, err := r.Cookie(sessionCookie); err == nil {
		_ = s.db.DeleteSession(ctx, HashToken(old.Value), now)
		s.sessCache.forget(HashToken(old.Value))
	}
	id := NewToken()
	if err := s.db.CreateSession(ctx, HashToken(id), u.ID, NewToken(), now, now.Add(s.opt.SessionTTL)); err != nil {
		s.fail(w, r, &call{}, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r), MaxAge: int(s.opt.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: "", Path: "/login", MaxAge: -1})
	next := v.Next
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := s.db.DeleteSession(r.Context(), HashToken(ck.Value), s.now()); err != nil {
			s.fail(w, r, c, err)
			return
		}
		s.sessCache.forget(HashToken(ck.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
