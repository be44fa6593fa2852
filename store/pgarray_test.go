package store

import (
	"testing"

	"github.com/lib/pq"
)

// textArray encodes exactly as pq.Array of the same strings.
func TestTextArrayAsPQ(t *testing.T) {
	for _, a := range [][]string{
		nil,
		{},
		{""},
		{"a", "b c", ""},
		{`quote " and back\slash \"`, "逗号,括号{}与换行\n制表\t", `\`, `"`, "NULL", " spaced "},
	} {
		want, err := pq.StringArray(a).Value()
		if err != nil {
			t.Fatal(err)
		}
		got, err := textArray(a).Value()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q: got %#v, want %#v", a, got, want)
		}
	}
}
