// Package store persists ducha's domain in PostgreSQL (lib/pq) or embedded
// SQLite (modernc.org/sqlite) through sqlx. Migrations are embedded per
// dialect and applied on Open. Driver errors are translated here and nowhere
// else.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func init() {
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

//go:embed migrations
var migrations embed.FS

// Dialect is the kind of database behind a DB.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DefaultURL is the database used when neither --db nor DUCHA_DB is given.
const DefaultURL = "sqlite:ducha.db"

// DB is an open ducha database.
type DB struct {
	X       *sqlx.DB
	Dialect Dialect
	url     string
	group   *transitionGroup     // PostgreSQL: transitions written at the same time share a statement
	reads   *group[*findingRead] // PostgreSQL: findings read at the same time share a statement
}

// Open connects to url (sqlite:PATH or postgres://…) and applies any pending
// migrations.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	db, err := Connect(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// URLError is a malformed or unsupported database URL: bad input.
type URLError struct{ URL, Msg string }

func (e *URLError) Error() string {
	return fmt.Sprintf("数据库地址 %q 无效: %s", Redact(e.URL), e.Msg)
}
func (e *URLError) BadInput() bool { return true }

// Connect opens url without migrating.
func Connect(ctx context.Context, rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, &URLError{rawURL, "应为 sqlite:文件路径"}
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
		x, err := sqlx.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// One writer at a time is what SQLite allows; one connection avoids
		// "database is locked" between pooled connections altogether.
		x.SetMaxOpenConns(1)
		if err := x.PingContext(ctx); err != nil {
			x.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		return &DB{X: x, Dialect: SQLite, url: rawURL}, nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		if _, err := url.Parse(rawURL); err != nil {
			return nil, &URLError{rawURL, err.Error()}
		}
		x, err := sqlx.Open("postgres", rawURL)
		if err != nil {
			return nil, &URLError{Redact(rawURL), err.Error()}
		}
		x.SetMaxOpenConns(32)
		x.SetMaxIdleConns(32)
		x.SetConnMaxIdleTime(5 * time.Minute)
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := x.PingContext(pctx); err != nil {
			x.Close()
			return nil, fmt.Errorf("connect %s: %w", Redact(rawURL), err)
		}
		return &DB{X: x, Dialect: Postgres, url: rawURL, group: newTransitionGroup(),
			reads: &group[*findingRead]{maxLeaders: readLeaders}}, nil
	}
	return nil, &URLError{rawURL, "应为 sqlite:PATH 或 postgres://…"}
}

// Redact hides the password in a database URL.
func Redact(rawURL string) string {
	s := userinfoPassword.ReplaceAllString(rawURL, "${1}<secret>@")
	return queryPassword.ReplaceAllString(s, "${1}<secret>")
}

// The password of a URL's userinfo, and lib/pq's password parameter: by
// pattern, so that a URL that does not parse is redacted too.
var (
	userinfoPassword = regexp.MustCompile(`(://[^/@:?#]*:)[^@]*@`)
	queryPassword    = regexp.MustCompile(`(?i)([?&]password=)[^&#]*`)
)

// URL is the database's URL with any password redacted.
func (db *DB) URL() string { return Redact(db.url) }

// Close closes the database.
func (db *DB) Close() error { return db.X.Close() }

// Migrate applies pending migrations. On PostgreSQL a session advisory lock
// keeps several processes from migrating at once.
func (db *DB) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.X.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Version is the newest applied migration.
func (db *DB) Version(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := db.X.GetContext(ctx, &v, "SELECT max(version_id) FROM goose_db_version WHERE is_applied")
	return v.Int64, err
}

// Rebind turns a query written with ? into the dialect's placeholders.
func (db *DB) Rebind(q string) string { return db.X.Rebind(q) }

// Tx is a transaction with the dialect it runs on.
type Tx struct {
	*sqlx.Tx
	Dialect Dialect
}

// InTx runs fn in one transaction, committing when it returns nil and rolling
// back otherwise. PostgreSQL serialization failures and deadlocks are retried.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.inTx(ctx, fn)
		if err == nil || attempt >= 5 || !retryable(err) {
			return err
		}
	}
}

func (db *DB) inTx(ctx context.Context, fn func(*Tx) error) (err error) {
	x, err := db.X.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{Tx: x, Dialect: db.Dialect}
	defer func() {
		if p := recover(); p != nil {
			x.Rollback()
			panic(p)
		}
		if err != nil {
			x.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return x.Commit()
}

func retryable(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsOverlap reports whether err is the one-adviser-per-village rule refusing
// an assignment.
func IsOverlap(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23P01"
	}
	return err != nil && strings.Contains(err.Error(), "assignments overlap")
}

// DateLayout is how civil dates are written to SQLite and read back.
const DateLayout = "2006-01-02"

// SchemaDigest is a hex SHA-256 over the dialect's embedded migrations: it
// changes whenever the schema does (tests key template databases by it).
func SchemaDigest(d Dialect) string {
	h := sha256.New()
	fs.WalkDir(migrations, "migrations/"+string(d), func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))
}
