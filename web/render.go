package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"ducha/notify"
	"ducha/workflow"
)

type pageTemplate struct{ t *template.Template }

// pageData is what every page template receives.
type pageData struct {
	Title string
	User  *workflow.User
	CSRF  string
	Path  string
	Body  any
}

var funcs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "-"
			}
			return v.Format("2006-01-02")
		case *time.Time:
			if v == nil {
				return "-"
			}
			return v.Format("2006-01-02")
		}
		return "-"
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(workflow.Shanghai).Format("2006-01-02 15:04")
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(workflow.Shanghai).Format("15:04:05")
	},
	"stateLabel":  func(s any) string { return workflow.State(fmt.Sprint(s)).Label() },
	"eventLabel":  func(e any) string { return workflow.Event(fmt.Sprint(e)).Label() },
	"colourLabel": func(c any) string { return workflow.Colour(fmt.Sprint(c)).Label() },
	"roleLabel":   func(r workflow.Role) string { return r.Label() },
	"kindLabel":   workflow.RoundKindLabel,
	"scopeLabel":  workflow.ScopeLabel,
	"severity":    func(s any) string { return workflow.Severity(fmt.Sprint(s)).Label() },
	"notifyState": func(s notify.State) string { return s.Label() },
	"notifyKind":  func(k notify.Kind) string { return k.Label() },
	"measures":    func() []string { return workflow.Measures },
	"is":          func(u *workflow.User, role string) bool { return u != nil && string(u.Role) == role },
	"add":         func(a, b int) int { return a + b },
	"size": func(n int64) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
}

// parsePages parses every page template with the layout, one set per page.
func parsePages() (map[string]*pageTemplate, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		out[base] = &pageTemplate{t}
	}
	return out, nil
}

// render writes a page in the layout. The page is rendered to a buffer
// first, so a template error is a clean 500, never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, c *call, title string, body any) {
	p := s.pages[name]
	if p == nil {
		panic("web: no template " + name)
	}
	var buf bytes.Buffer
	data := pageData{Title: title, User: c.User, CSRF: c.CSRF, Path: r.URL.Path, Body: body}
	if err := p.t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "页面渲染失败", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// contentMark stands for a prerendered page's content while its layout is
// executed. Nothing the layout prints can contain it: every value the
// layout prints is escaped, so a "<" never comes out of one.
const contentMark = "<!--ducha:content-->"

// layoutBufs are the small buffers layouts are rendered into.
var layoutBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// renderPrerendered writes a page whose content was rendered beforehand
// (it holds nothing of the viewer's) in the viewer's layout. The content is
// not copied: the layout is rendered around a mark and the response is
// the layout's head, the content and its tail, with a Content-Length.
func (s *Server) renderPrerendered(w http.ResponseWriter, r *http.Request, c *call, title string, content []byte) {
	buf := layoutBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			layoutBufs.Put(buf)
		}
	}()
	data := pageData{Title: title, User: c.User, CSRF: c.CSRF, Path: r.URL.Path, Body: template.HTML(contentMark)}
	if err := s.pages["prerendered"].t.ExecuteTemplate(buf, "layout", data); err != nil {
		s.log.Error("render", "page", "prerendered", "err", err)
		http.Error(w, "页面渲染失败", http.StatusInternalServerError)
		return
	}
	head, tail, ok := bytes.Cut(buf.Bytes(), []byte(contentMark))
	if !ok {
		panic("web: the layout lost the content mark")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(head)+len(content)+len(tail)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(head)
	w.Write(content)
	w.Write(tail)
}
