package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary ducha.yaml files to the strict config parser:
// nothing may panic; a refusal is an input error (exit code 2) naming the
// file, and with a line and column when the YAML has them; an accepted file
// validates and prints with its secrets redacted.
// Run: go test ./config -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	if src, err := os.ReadFile("../testdata/ducha.yaml"); err == nil {
		f.Add(src)
	}
	f.Add([]byte(""))
	f.Add([]byte("bureau:\n  nmae: x\n"))
	f.Add([]byte("serve:\n  sweep_every: soon\n"))
	f.Add([]byte("schedules:\n  - name: m\n    kind: periodic\n    cron: \"0 0 31 2 *\"\n    checklist: c.yaml\n    period: previous_month\n"))
	f.Add([]byte("notify:\n  channels:\n    hook: {type: webhook, url: \"http://x\", secret: s3cr3t-value}\n  routes:\n    order: {to: [adviser], channels: [hook]}\n"))
	f.Add([]byte("policy:\n  deadlines:\n    general: {n: -1, workdays: true}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("f.yaml", src)
		if err != nil {
			var bad interface{ BadInput() bool }
			if !errors.As(err, &bad) || !bad.BadInput() {
				t.Fatalf("refusal %T %v is not an input error", err, err)
			}
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("refusal %q does not name the file", err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
		if strings.Contains(string(src), "s3cr3t-value") {
			for _, ch := range c.Notify.Channels {
				if s := ch.Secret.String(); strings.Contains(s, "s3cr3t") {
					t.Fatalf("secret printed: %s", s)
				}
			}
		}
	})
}
