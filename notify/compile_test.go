package notify

import (
	"strings"
	"testing"
	"text/template"
	"time"

	"pgregory.net/rapid"
)

// viaTextTemplate renders as Render did before templates were compiled.
func viaTextTemplate(t *Templates, k Kind, d Data) (string, string, error) {
	var s, b strings.Builder
	if err := t.subject[k].Execute(&s, d); err != nil {
		return "", "", err
	}
	if err := t.body[k].Execute(&b, d); err != nil {
		return "", "", err
	}
	return strings.Join(strings.Fields(s.String()), " "), b.String(), nil
}

// Every built-in template but the digest's (range) is compiled, and renders
// exactly as text/template does: sample data, random data, missing parts
// (text/template's error then).
func TestCompiledAsTextTemplate(t *testing.T) {
	ts, err := ParseTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		if got, want := ts.cbody[k] != nil && ts.csubject[k] != nil, k != Digest; got != want {
			t.Errorf("%s compiled: %v, want %v", k, got, want)
		}
	}
	same := func(t interface {
		Helper()
		Fatalf(string, ...any)
	}, k Kind, d Data) {
		t.Helper()
		s, b, err := ts.Render(k, d)
		ws, wb, werr := viaTextTemplate(ts, k, d)
		if (err == nil) != (werr == nil) || err != nil && !strings.Contains(err.Error(), werr.Error()) {
			t.Fatalf("%s: error %v, text/template's %v", k, err, werr)
		}
		if s != ws || b != wb {
			t.Fatalf("%s:\n got %q\n     %q\nwant %q\n     %q", k, s, b, ws, wb)
		}
	}
	for _, k := range Kinds {
		same(t, k, Sample(k, "http://localhost:8080"))
		d := Sample(k, "")
		d.Finding, d.Bulletin = nil, nil
		same(t, k, d)
	}
	rapid.Check(t, func(rt *rapid.T) {
		str := rapid.OneOf(rapid.Just(""), rapid.String(), rapid.SampledFrom([]string{"桃源村", "{{.}}", "<a&b>", "%d %s", "\n \t"}))
		day := rapid.Custom(func(t *rapid.T) time.Time {
			if rapid.Bool().Draw(t, "zero") {
				return time.Time{}
			}
			return time.Date(rapid.IntRange(1, 3000).Draw(t, "y"), time.Month(rapid.IntRange(1, 12).Draw(t, "m")),
				rapid.IntRange(1, 28).Draw(t, "d"), rapid.IntRange(0, 23).Draw(t, "h"), rapid.IntRange(0, 59).Draw(t, "min"), 0, 0, time.UTC)
		})
		f := &Finding{ID: rapid.Int64().Draw(rt, "id"), Round: rapid.Int64().Draw(rt, "round"), Village: str.Draw(rt, "village"),
			Township: str.Draw(rt, "township"), AdviserCode: str.Draw(rt, "acode"), AdviserName: str.Draw(rt, "aname"),
			Rule: str.Draw(rt, "rule"), RuleTitle: str.Draw(rt, "title"), Evidence: str.Draw(rt, "evidence"),
			Deadline: day.Draw(rt, "deadline"), WorkdaysLeft: rapid.Int().Draw(rt, "left"), Reason: str.Draw(rt, "reason"),
			Measure: str.Draw(rt, "measure"), InterviewAt: day.Draw(rt, "at"), Place: str.Draw(rt, "place"), Interviewer: str.Draw(rt, "who")}
		d := Data{Recipient: Person{Login: str.Draw(rt, "login"), Name: str.Draw(rt, "name"), Email: str.Draw(rt, "email")},
			Date: day.Draw(rt, "date"), Link: str.Draw(rt, "link")}
		if rapid.IntRange(0, 9).Draw(rt, "finding") > 0 {
			d.Finding = f
		}
		if rapid.Bool().Draw(rt, "bulletin") {
			d.Bulletin = &Bulletin{Year: rapid.Int().Draw(rt, "year"), Number: rapid.Int().Draw(rt, "number"),
				Title: str.Draw(rt, "btitle"), Summary: str.Draw(rt, "summary")}
		}
		if rapid.Bool().Draw(rt, "overdue") {
			d.Overdue = []Finding{*f}
		}
		k := rapid.SampledFrom(Kinds).Draw(rt, "kind")
		d.Kind = k
		same(rt, k, d)
	})
}

// A template with what compile does not handle is rendered by
// text/template; one that compiles renders the same.
func TestCompileFallsBack(t *testing.T) {
	for src, compiles := range map[string]bool{
		`{{.Recipient.Name}}：{{.Finding.Village}}{{with .Finding.Reason}}（{{.}}）{{else}}无{{end}}{{len .Overdue}}`: true,
		`{{.Date}}`:                             false, // time.Time is a Stringer
		`{{if .Finding}}{{.Finding.ID}}{{end}}`: false,
		`{{range .Overdue}}{{.Village}}{{end}}`: false,
		`{{$x := .Link}}{{$x}}`:                 false,
		`{{.Link | printf "%q"}}`:               false,
		`{{with .Finding}}{{.Village}}{{end}}`:  false, // with on a pointer
		`{{.Finding.Deadline.Year}}`:            false, // a method
	} {
		tt := template.Must(template.New("t").Funcs(funcs).Option("missingkey=error").Parse(src))
		c := compile(tt, dataType)
		if (c != nil) != compiles {
			t.Errorf("%s: compiled %v, want %v", src, c != nil, compiles)
		}
		d := Sample(Order, "http://x")
		var got, want strings.Builder
		if err := execute(&got, tt, c, d); err != nil {
			t.Fatal(err)
		}
		if err := tt.Execute(&want, d); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: %q, want %q", src, got.String(), want.String())
		}
	}
}
