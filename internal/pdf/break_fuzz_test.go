package pdf

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzBreak: whatever the text, Break loses none of it but spaces and
// line breaks, and sets no line wider than the width unless it holds a
// single character.
func FuzzBreak(f *testing.F) {
	for _, s := range []string{"", "督查通报", "第5eed0c0ffee号（可复核）。", "ab cd  ef\r\ngh\tij", "\u200b\ufeff\x00",
		"（一）\n\n（二）" + strings.Repeat("A", 200), "“引号”、《书名》…——", "𠀀😀村"} {
		f.Add(s, uint8(10))
	}
	face := &Face{Fonts: []*Font{ukai(f)}}
	keep := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	f.Fuzz(func(t *testing.T, text string, ems uint8) {
		const size = 10.0
		width := float64(ems%40+1) * size / 2
		lines := face.Break(text, size, 0, width, 0)
		var got strings.Builder
		for _, l := range lines {
			if w := face.Width(l, size, 0); w > width+0.01 && utf8.RuneCountInString(l) > 1 {
				t.Errorf("line %q is %g wide, more than %g", l, w, width)
			}
			got.WriteString(keep(l)) // line by line: bytes of invalid UTF-8 could join across lines
		}
		if got, want := got.String(), keep(clean(text)); got != want {
			t.Errorf("Break(%q) = %q: lost text", text, lines)
		}
	})
}
