package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
)

var wantRE = regexp.MustCompile(`(?m)^# want: (\d+:\d+: .*)$`)

// TestBadChecklists parses every file in testdata/rules/bad and expects
// exactly the errors its "# want: LINE:COL: message" comments name (the
// message as a prefix or substring of the reported one).
func TestBadChecklists(t *testing.T) {
	files, err := filepath.Glob("../testdata/rules/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad checklists: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, m := range wantRE.FindAllStringSubmatch(string(src), -1) {
				wants = append(wants, path+":"+m[1])
			}
			if len(wants) == 0 {
				t.Fatal("file has no # want: lines")
			}
			c, err := Parse(path, src)
			if err == nil {
				t.Fatalf("parsed without error: %+v", c)
			}
			var list Errors
			if !errors.As(err, &list) || !list.BadInput() {
				t.Fatalf("error %T is not Errors/BadInput", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if len(got) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%s", len(got), len(wants), strings.Join(got, "\n"))
			}
			for _, w := range wants {
				found := false
				for _, g := range got {
					if strings.Contains(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing error %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// TestExprErrorPositions pins expr's convention at v1.17.8: Line is 1-based,
// Column 0-based (runes), which exprPos relies on.
func TestExprErrorPositions(t *testing.T) {
	_, err := expr.Compile("1 +\n  foo", expr.Env(Env{}))
	var fe *file.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v", err, err)
	}
	if fe.Line != 2 || fe.Column != 2 {
		t.Fatalf("foo at line %d column %d, want 2 and 2", fe.Line, fe.Column)
	}
}

func TestPositionsInScalars(t *testing.T) {
	for _, tc := range []struct{ name, cond, want string }{
		{"plain", `condition: events("visit") > nope`, "x.yaml:5:34:"},
		{"double quoted", `condition: "events(\"visit\") > nope"`, "x.yaml:5:37:"},
		{"single quoted", `condition: 'events("visit") > len("村") + nope'`, "x.yaml:5:46:"},
		{"literal block", "condition: |\n      events(\"visit\") > 1 &&\n\n         nope", "x.yaml:8:10:"},
		{"folded block", "condition: >\n      events(\"visit\") > 1\n      && nope", "x.yaml:7:10:"},
		{"plain continued", "condition: events(\"visit\") > 1 &&\n      nope", "x.yaml:6:7:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "rules:\n  - id: a\n    title: t\n    window: month\n    " + tc.cond + "\n    severity: 一般\n    rectify_within: 7d\n    message: m\n"
			_, err := Parse("x.yaml", []byte(src))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want prefix %s\n%s", err, tc.want, src)
			}
		})
	}
}

func TestSampleChecklistParses(t *testing.T) {
	src, err := os.ReadFile("../testdata/rules/checklist-2018.yaml")
	if err != nil {
		t.Skip("no sample checklist yet")
	}
	c, err := Parse("checklist-2018.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) < 7 {
		t.Fatalf("%d rules, want the seven the seed implies", len(c.Rules))
	}
}
