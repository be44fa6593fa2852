package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"ducha/bulletin"
	"ducha/config"
	"ducha/store"
	"ducha/web"
	"ducha/workflow"
)

// DefaultConfigFile is read when neither --config nor DUCHA_CONFIG names one
// and it exists in the working folder.
const DefaultConfigFile = "ducha.yaml"

// Config loads the configuration once: --config FILE, else DUCHA_CONFIG,
// else ./ducha.yaml when present, else the defaults.
func (e *Env) Config() (*config.Config, error) {
	if e.cfg != nil {
		return e.cfg, nil
	}
	path := e.ConfigPath
	if path == "" {
		path = os.Getenv("DUCHA_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat(DefaultConfigFile); err == nil {
			path = DefaultConfigFile
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	e.cfg = c
	return c, nil
}

// Calendar is the embedded holiday calendar plus the config's extra files.
func (e *Env) Calendar() (*workflow.Calendar, error) {
	c, err := e.Config()
	if err != nil {
		return nil, err
	}
	if len(c.Calendars) == 0 {
		return workflow.DefaultCalendar(), nil
	}
	years := workflow.EmbeddedYears()
	for _, path := range c.Calendars {
		y, err := workflow.ReadCalendarFile(path)
		if err != nil {
			return nil, err
		}
		years = append(years, y)
	}
	return workflow.NewCalendar(years...), nil
}

// openAs opens the database and reads the user who acts (login "system"
// is the engine); the caller closes the database.
func (e *Env) openAs(login string) (*store.DB, *workflow.User, error) {
	db, err := e.OpenDB()
	if err != nil {
		return nil, nil, err
	}
	actor, err := db.UserByLogin(e.Ctx, login)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, actor, nil
}

// lifecycle wires the finding lifecycle with the config's policy, the
// calendar and the command's clock.
func (e *Env) lifecycle(db *store.DB) (*workflow.Lifecycle, *store.Findings, error) {
	cfg, err := e.Config()
	if err != nil {
		return nil, nil, err
	}
	cal, err := e.Calendar()
	if err != nil {
		return nil, nil, err
	}
	n, err := e.notifier(db)
	if err != nil {
		return nil, nil, err
	}
	fs := store.NewFindings(db)
	return &workflow.Lifecycle{Store: fs, Calendar: cal, Policy: cfg.Policy, Now: e.Now,
		Notifier: n, Directory: db.Directory()}, fs, nil
}

// services are the background services of `ducha serve` besides the
// scheduler: the notification dispatcher (wired in notify.go).
type services struct{ stops []func() }

// stop stops the services in reverse order of starting.
func (s *services) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// webHandler serves the web pages and the API. The returned func releases
// what the handler holds (the PDF printer's browser).
func (e *Env) webHandler(db *store.DB, log *slog.Logger) (http.Handler, func(), error) {
	cfg, err := e.Config()
	if err != nil {
		return nil, nil, err
	}
	life, _, err := e.lifecycle(db)
	if err != nil {
		return nil, nil, err
	}
	rs, err := e.rounds(db)
	if err != nil {
		return nil, nil, err
	}
	uploads := cfg.Serve.UploadDir
	if uploads == "" {
		uploads = "ducha-uploads"
		if path, ok := strings.CutPrefix(e.DBURL, "sqlite:"); ok {
			uploads = filepath.Join(filepath.Dir(path), "uploads")
		}
	}
	// Bulletin PDFs are typeset in Go; Chromium is only the fallback where
	// no TrueType CJK font is installed.
	var printer *bulletin.Printer
	if ferr := bulletin.CanTypeset(); ferr != nil {
		if printer, err = bulletin.FindPrinter(); err != nil {
			log.Warn("no TrueType CJK font and no Chromium: bulletins are offered without PDF", "font", ferr, "browser", err)
			printer = nil
		}
	}
	h, err := web.New(web.Options{
		DB: db, Lifecycle: life, Rounds: rs, Config: cfg, UploadDir: uploads, Now: e.Now, Logger: log,
		Secure: cfg.Serve.SecureCookies, Printer: printer,
	})
	release := func() {
		if printer != nil {
			printer.Close()
		}
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return h, release, nil
}
