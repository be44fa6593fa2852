// Package testdb gives tests real databases: a fresh SQLite file, and a fresh
// PostgreSQL database created on the server named by DUCHA_TEST_POSTGRES
// (which `make test` starts from the machine's own binaries).
//
// Without DUCHA_TEST_POSTGRES the PostgreSQL half of a test skips with a
// message, except under CI=true, where it fails: CI must never pass by
// skipping the production database.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/lib/pq"

	"ducha/store"
)

// Backends are the names of the two backends, in the order tests run them.
var Backends = []store.Dialect{store.SQLite, store.Postgres}

// Each runs fn as a subtest against a fresh, migrated database of each backend.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Backends {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated database of the given dialect, removed when
// the test ends.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	u := URL(t, d)
	db, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// URL returns the URL of a fresh, empty database of the given dialect.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	}
	return PostgresURL(t)
}

// PostgresURL creates an empty database on the test server and returns its
// URL; it is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("DUCHA_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DUCHA_TEST_POSTGRES is not set and CI=true: PostgreSQL tests must run in CI (use `make test`)")
		}
		t.Skip("PostgreSQL tests skipped: DUCHA_TEST_POSTGRES is not set (`make test` starts a server)")
	}
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer admin.Close()
	tmpl, err := template(base)
	if err != nil {
		t.Fatalf("testdb: template database: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "ducha_t_" + sanitize(t.Name()) + "_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + tmpl); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testdb: DUCHA_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

var (
	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// template returns a migrated template database for the current schema,
// creating it once (under an advisory lock, as packages test in parallel):
// copying it is much faster than migrating each test's database.
func template(base string) (string, error) {
	tmplOnce.Do(func() {
		tmplName = "ducha_tmpl_" + store.SchemaDigest(store.Postgres)[:16]
		tmplErr = makeTemplate(base, tmplName)
	})
	return tmplName, tmplErr
}

func makeTemplate(base, name string) error {
	ctx := context.Background()
	admin, err := sql.Open("postgres", base)
	if err != nil {
		return err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx) // advisory locks belong to a session
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock(727274)")
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || exists {
		return err
	}
	building := name + "_building"
	conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building)
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return err
	}
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.Path = "/" + building
	db, err := store.Open(ctx, u.String())
	if err != nil {
		return err
	}
	db.Close()
	_, err = conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name)
	return err
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}

// Describe names a database for test messages.
func Describe(db *store.DB) string { return fmt.Sprintf("%s %s", db.Dialect, db.URL()) }
