package pdf

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Align places a line in its box.
type Align int

const (
	Left Align = iota
	Center
	Right
	Justify // both edges; the last line of a paragraph starts left
)

// Style is how a paragraph or a table's cells are set.
type Style struct {
	Face    *Face
	Size    float64 // points
	Leading float64 // line height as a multiple of Size (CSS line-height)
	Color   RGB
	Align   Align
	Indent  float64 // first-line indent, points
	Spacing float64 // extra space after each character, points (CSS letter-spacing)
	// Before and After are vertical margins in points; adjacent ones
	// collapse to the larger, and a margin at the top of a page is dropped.
	Before, After float64
	// Keep is the height that must follow the block on its page (a heading
	// keeps some of its text with it).
	Keep float64
}

func (s *Style) lineHeight() float64 { return s.Size * s.Leading }

// baseline is the offset of the baseline below the top of a line box.
func (s *Style) baseline() float64 {
	asc, desc := s.Face.Ascent()*s.Size, s.Face.Descent()*s.Size
	return (s.lineHeight()-asc-desc)/2 + asc
}

// Flow pours blocks down pages between margins, starting a page when the
// next block does not fit. Positions are in points from the page's top-left.
type Flow struct {
	Doc                      *Doc
	Top, Right, Bottom, Left float64

	page   *Page
	y      float64
	margin float64 // pending collapsed margin
	atTop  bool    // nothing placed on this page yet
}

// NewFlow starts a flow over d with the given page margins.
func NewFlow(d *Doc, top, right, bottom, left float64) *Flow {
	return &Flow{Doc: d, Top: top, Right: right, Bottom: bottom, Left: left}
}

// Width is the width between the side margins.
func (f *Flow) Width() float64 { return f.Doc.W - f.Left - f.Right }

// NewPage starts a page.
func (f *Flow) NewPage() {
	f.page = f.Doc.AddPage()
	f.y, f.margin, f.atTop = f.Top, 0, true
}

// Page is the page being filled, and Y the top of the next block on it
// (after any pending margin).
func (f *Flow) Page() *Page {
	if f.page == nil {
		f.NewPage()
	}
	return f.page
}

func (f *Flow) room() float64 { return f.Doc.H - f.Bottom - f.y }

// begin places the top of a block with margin before that needs the given
// height on this page, starting a new page if it does not fit (unless the
// page is still empty). It returns the block's top.
func (f *Flow) begin(before, need float64) float64 {
	f.Page()
	m := max(f.margin, before)
	if f.atTop {
		m = 0
	}
	if !f.atTop && m+need > f.room() {
		f.NewPage()
		m = 0
	}
	f.y += m
	f.margin = 0
	return f.y
}

func (f *Flow) end(after float64) {
	f.margin = after
	f.atTop = false
}

// Block places a fixed-height block, drawn by draw at its top-left corner.
func (f *Flow) Block(before, height, after float64, draw func(p *Page, x, y float64)) {
	y := f.begin(before, height)
	draw(f.page, f.Left, y)
	f.y += height
	f.end(after)
}

// Paragraph sets text as lines broken to the flow's width; it keeps at
// least two lines (or all, if fewer) and st.Keep together on a page. A
// justified paragraph leaves the line before a newline ragged, like its
// last. It returns the page and y of the paragraph's first line.
func (f *Flow) Paragraph(st Style, text string) (*Page, float64) {
	lines, ends := st.Face.breakText(text, st.Size, st.Spacing, f.Width(), st.Indent)
	lh := st.lineHeight()
	first := min(len(lines), 2)
	if len(lines) <= 3 {
		first = len(lines)
	}
	top := f.begin(st.Before, float64(first)*lh+st.Keep)
	page := f.page
	for i, l := range lines {
		if i > 0 && lh > f.room() {
			f.NewPage()
		}
		indent := 0.0
		if i == 0 {
			indent = st.Indent
		}
		f.setLine(f.page, f.Left+indent, f.y, f.Width()-indent, lh, &st, l, ends[i])
		f.y += lh
		f.atTop = false
	}
	f.end(st.After)
	return page, top
}

// setLine draws one line in a box of width w whose top is y.
func (f *Flow) setLine(p *Page, x, y, w, lh float64, st *Style, line string, last bool) {
	lw := st.Face.Width(line, st.Size, st.Spacing)
	spacing := st.Spacing
	switch st.Align {
	case Center:
		x += (w - lw) / 2
	case Right:
		x += w - lw
	case Justify:
		if n := utf8.RuneCountInString(line); !last && n > 1 && lw < w {
			spacing += (w - lw) / float64(n-1)
		}
	}
	p.Text(x, y+st.baseline(), st.Face, st.Size, st.Color, spacing, line)
}

// Break splits text into lines no wider than width (the first one width -
// indent). Lines break between CJK characters, at spaces and at explicit
// newlines (LF, CR LF or CR), never inside a run of Latin letters and
// digits unless the run alone is too wide, never before closing
// punctuation nor after opening punctuation (避头尾). Tabs count as
// spaces; control and invisible format characters are left out.
func (f *Face) Break(text string, size, spacing, width, indent float64) []string {
	lines, _ := f.breakText(text, size, spacing, width, indent)
	return lines
}

// breakText is Break that also says which lines end at a newline or at the
// end of the text.
func (f *Face) breakText(text string, size, spacing, width, indent float64) (lines []string, ends []bool) {
	for _, para := range strings.Split(clean(text), "\n") {
		lines = f.breakPara(lines, para, size, spacing, width, indent)
		indent = 0
		for len(ends) < len(lines)-1 {
			ends = append(ends, false)
		}
		ends = append(ends, true)
	}
	return lines, ends
}

// clean prepares text for setting: CR LF and a lone CR become LF, a tab a
// space, and the other control and invisible format characters (see
// ignorable) are dropped. Text without any comes back as it is.
func clean(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r != '\n' && ignorable(r) })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for j, r := range s[i:] {
		switch {
		case r == '\r':
			if !strings.HasPrefix(s[i+j+1:], "\n") {
				b.WriteByte('\n')
			}
		case r == '\t':
			b.WriteByte(' ')
		case r == '\n' || !ignorable(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ignorable says whether r is drawn as nothing and takes no room: control
// characters (Text draws a tab as a space) and the invisible format
// characters that text pasted from word processors and chat apps carries
// (zero-width spaces and joiners, direction marks, the byte-order mark,
// soft hyphens, variation selectors). The CJK fonts have no glyph for
// them, and glyph 0 would draw each as a box.
func ignorable(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r < 0xad, r >= 0x2e80 && r < 0xfe00:
		return false // no format characters here (ASCII, CJK): the common case
	}
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector)
}

func (f *Face) breakPara(lines []string, s string, size, spacing, width, indent float64) []string {
	start := 0 // byte offset of the line's start
	w := 0.0   // width since start
	brk := -1  // byte offset of the last break opportunity
	var prev rune
	avail := width - indent
	for i, r := range s {
		if i > start && canBreak(prev, r) {
			brk = i
		}
		adv := f.Advance(r)*size + spacing
		// again when what a break carries over is still too wide with r:
		// a unit that 避头尾 keeps together but no line can hold breaks
		for w+adv > avail+0.01 && i > start && r != ' ' {
			cut := brk
			if cut <= start {
				cut = i // no opportunity: break before r
			}
			lines = append(lines, strings.TrimRight(s[start:cut], " "))
			start = cut
			for start < len(s) && s[start] == ' ' {
				start++
			}
			w = f.Width(s[start:i], size, spacing)
			brk = -1
			avail = width
		}
		w += adv
		prev = r
	}
	return append(lines, strings.TrimRight(s[start:], " "))
}

// MinWidth is the width of the widest piece of text that Break cannot split.
func (f *Face) MinWidth(text string, size, spacing float64) float64 {
	widest, w := 0.0, 0.0
	var prev rune
	for i, r := range text {
		if r == '\n' || i > 0 && canBreak(prev, r) {
			widest, w = max(widest, w), 0
		}
		if r != '\n' && r != ' ' {
			w += f.Advance(r)*size + spacing
		}
		prev = r
	}
	return max(widest, w)
}

func isCJK(r rune) bool { return r >= 0x2e80 }

// noStart may not begin a line, noEnd may not end one.
var noStart, noEnd = runeSet("，。、；：？！）》」』】〕〉”’…—～·%,.;:!?)]}"), runeSet("（《「『【〔〈“‘([{")

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// canBreak says whether a line may break between a and b.
func canBreak(a, b rune) bool {
	switch {
	case b == ' ' || b == '\n':
		return false // break after the space, not before
	case noStart[b], noEnd[a]:
		return false
	case a == ' ':
		return true
	case isCJK(a) || isCJK(b):
		return true
	}
	return false // inside a run of Latin letters, digits and signs
}
