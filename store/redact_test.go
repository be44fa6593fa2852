package store

import (
	"strings"
	"testing"
)

// Database URLs are printed in logs and errors: every form lib/pq accepts a
// password in is redacted, including URLs that do not parse.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:pw@h/db?sslmode=disable", "postgres://u:<secret>@h/db?sslmode=disable"},
		{"postgres://u@h/db?sslmode=disable&password=pw", "postgres://u@h/db?sslmode=disable&password=<secret>"},
		{"postgres://h/db?PASSWORD=pw&sslmode=disable", "postgres://h/db?PASSWORD=<secret>&sslmode=disable"},
		{"postgres://u:p%zz@h/db", "postgres://u:<secret>@h/db"},
		{"postgres://u:p/w@h/db", "postgres://u:<secret>@h/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"sqlite:/tmp/x.db", "sqlite:/tmp/x.db"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	err := &URLError{"postgresql://u:pw@h/db", "应为 sqlite:PATH 或 postgres://…"}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("URL error shows the password: %s", err)
	}
}
