package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
)

// Page sizes in points (1/72 inch).
const (
	A4Width  = 595.28
	A4Height = 841.89
	MM       = 72 / 25.4 // points per millimetre
)

// RGB is a colour, each component 0 to 1.
type RGB struct{ R, G, B float64 }

// Hex makes a colour from 0xRRGGBB.
func Hex(c uint32) RGB {
	return RGB{float64(c>>16&0xff) / 255, float64(c>>8&0xff) / 255, float64(c&0xff) / 255}
}

// Black is the default text colour.
var Black = RGB{}

// Doc is a PDF document being built in memory. Coordinates given to its
// pages are in points from the top-left corner of the page.
type Doc struct {
	Title string // document information and the viewer's window title
	Lang  string // e.g. "zh-CN"
	W, H  float64

	pages   []*Page
	fonts   []*docFont
	byFont  map[*Font]*docFont
	outline []*Item
}

// NewDoc starts a document whose pages are w×h points.
func NewDoc(w, h float64) *Doc {
	return &Doc{W: w, H: h, byFont: map[*Font]*docFont{}}
}

type docFont struct {
	font *Font
	name string          // resource name, F1…
	used map[uint16]rune // glyph → the character it was used for
}

func (d *Doc) docFont(f *Font) *docFont {
	df := d.byFont[f]
	if df == nil {
		df = &docFont{font: f, name: "F" + strconv.Itoa(len(d.fonts)+1), used: map[uint16]rune{}}
		d.fonts = append(d.fonts, df)
		d.byFont[f] = df
	}
	return df
}

// Page is one page; its drawing operators accumulate in a content stream.
type Page struct {
	doc   *Doc
	index int
	buf   []byte

	// graphics and text state already set in the content stream
	fill, stroke   RGB
	fillOK, strkOK bool
	tc             float64 // character spacing
	tr             int     // text rendering mode
}

// AddPage appends a blank page.
func (d *Doc) AddPage() *Page {
	p := &Page{doc: d, index: len(d.pages), buf: make([]byte, 0, 16<<10)}
	d.pages = append(d.pages, p)
	return p
}

// Pages are the pages so far.
func (d *Doc) Pages() []*Page { return d.pages }

// Number is the page's number, from 1.
func (p *Page) Number() int { return p.index + 1 }

func (p *Page) num(v float64) {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	p.buf = strconv.AppendFloat(p.buf, v, 'f', -1, 64)
	p.buf = append(p.buf, ' ')
}

func (p *Page) op(s string) { p.buf = append(p.buf, s...); p.buf = append(p.buf, '\n') }

func (p *Page) color(c RGB, op string) {
	switch {
	case op == "rg" && p.fillOK && p.fill == c, op == "RG" && p.strkOK && p.stroke == c:
		return
	case op == "rg":
		p.fill, p.fillOK = c, true
	default:
		p.stroke, p.strkOK = c, true
	}
	p.num(c.R)
	p.num(c.G)
	p.num(c.B)
	p.op(op)
}

// Rect fills a rectangle whose top-left corner is x, y.
func (p *Page) Rect(x, y, w, h float64, fill RGB) {
	p.color(fill, "rg")
	p.num(x)
	p.num(p.doc.H - y - h)
	p.num(w)
	p.num(h)
	p.op("re f")
}

// Lines strokes straight segments {x1, y1, x2, y2} with one pen.
func (p *Page) Lines(width float64, c RGB, segs ...[4]float64) {
	if len(segs) == 0 {
		return
	}
	p.num(width)
	p.op("w")
	p.color(c, "RG")
	for _, s := range segs {
		p.num(s[0])
		p.num(p.doc.H - s[1])
		p.op("m")
		p.num(s[2])
		p.num(p.doc.H - s[3])
		p.op("l")
	}
	p.op("S")
}

// Face is a font with fallbacks for characters it lacks, and a synthetic
// bold (the outlines stroked as well as filled) for fonts without a bold.
type Face struct {
	Fonts []*Font
	Bold  bool
}

// glyph finds r in the first font that has it; glyph 0 (.notdef, a box)
// of the first font when none does, and ok false.
func (f *Face) glyph(r rune) (ft *Font, g uint16, ok bool) {
	for _, ft := range f.Fonts {
		if g, ok := ft.Glyph(r); ok {
			return ft, g, true
		}
	}
	return f.Fonts[0], 0, false
}

// Advance is the width of r in ems: a tab's is a space's, an ignorable
// character's (control, invisible format) is 0.
func (f *Face) Advance(r rune) float64 {
	if r == '\t' {
		r = ' '
	} else if ignorable(r) {
		return 0
	}
	ft, g, _ := f.glyph(r)
	return float64(ft.Advance(g)) / float64(ft.upem)
}

// Width is the width of s at size points with spacing points after every
// character (CSS letter-spacing).
func (f *Face) Width(s string, size, spacing float64) float64 {
	w := 0.0
	for _, r := range s {
		w += f.Advance(r)*size + spacing
	}
	return w
}

// Ascent and Descent (positive) of the face's first font, in ems.
func (f *Face) Ascent() float64 {
	return float64(f.Fonts[0].ascent) / float64(f.Fonts[0].upem)
}

func (f *Face) Descent() float64 {
	return -float64(f.Fonts[0].descent) / float64(f.Fonts[0].upem)
}

// Text draws s with its baseline starting at x, y, in face at size points,
// with spacing points added after each character.
func (p *Page) Text(x, y float64, face *Face, size float64, c RGB, spacing float64, s string) {
	if s == "" {
		return
	}
	p.op("BT")
	p.color(c, "rg")
	tr := 0
	if face.Bold {
		p.color(c, "RG")
		p.num(size / 30)
		p.op("w")
		tr = 2
	}
	if tr != p.tr {
		p.buf = strconv.AppendInt(p.buf, int64(tr), 10)
		p.op(" Tr")
		p.tr = tr
	}
	if spacing != p.tc {
		p.num(spacing)
		p.op("Tc")
		p.tc = spacing
	}
	p.num(x)
	p.num(p.doc.H - y)
	p.op("Td")
	var cur *docFont // the font set
	open := false    // within a string of glyphs
	shut := func() {
		if open {
			p.buf = append(p.buf, "> Tj\n"...)
			open = false
		}
	}
	for _, r := range s {
		if r == '\t' {
			r = ' '
		} else if ignorable(r) {
			continue
		}
		ft, g, ok := face.glyph(r)
		df := p.doc.docFont(ft)
		if _, seen := df.used[g]; !seen {
			df.used[g] = r
		}
		if df != cur {
			shut()
			p.buf = append(p.buf, '/')
			p.buf = append(p.buf, df.name...)
			p.buf = append(p.buf, ' ')
			p.num(size)
			p.op("Tf")
			cur = df
		}
		if !ok {
			// No font has r: its box carries the character as replacement
			// text, so that copying and searching still find it.
			shut()
			p.buf = append(p.buf, "/Span << /ActualText "...)
			p.buf = append(p.buf, textString(string(r))...)
			p.buf = append(p.buf, " >> BDC <0000> Tj EMC\n"...)
			continue
		}
		if !open {
			p.buf = append(p.buf, '<')
			open = true
		}
		p.buf = append(p.buf, hexDigits[g>>12], hexDigits[g>>8&15], hexDigits[g>>4&15], hexDigits[g&15])
	}
	shut()
	p.op("ET")
}

const hexDigits = "0123456789ABCDEF"

// Item is an entry of the document outline (bookmarks).
type Item struct {
	Title string
	page  *Page
	y     float64
	Kids  []*Item
}

// Bookmark adds an outline entry pointing at y on page p, under parent
// (nil for the top level).
func (d *Doc) Bookmark(parent *Item, title string, p *Page, y float64) *Item {
	it := &Item{Title: title, page: p, y: y}
	if parent == nil {
		d.outline = append(d.outline, it)
	} else {
		parent.Kids = append(parent.Kids, it)
	}
	return it
}

// pdfWriter numbers objects and records their offsets.
type pdfWriter struct {
	w    *bufio.Writer
	n    int64
	offs []int64 // by object number - 1
	err  error
	z    *zlib.Writer
	zbuf bytes.Buffer
}

func (pw *pdfWriter) Write(b []byte) (int, error) {
	if pw.err != nil {
		return 0, pw.err
	}
	n, err := pw.w.Write(b)
	pw.n += int64(n)
	pw.err = err
	return n, err
}

func (pw *pdfWriter) printf(format string, args ...any) { fmt.Fprintf(pw, format, args...) }

// alloc reserves an object number.
func (pw *pdfWriter) alloc() int {
	pw.offs = append(pw.offs, 0)
	return len(pw.offs)
}

// obj writes object id with the given dictionary or value.
func (pw *pdfWriter) obj(id int, body string) {
	pw.offs[id-1] = pw.n
	pw.printf("%d 0 obj\n%s\nendobj\n", id, body)
}

// stream writes object id as a Flate-compressed stream; dict holds the
// extra entries.
func (pw *pdfWriter) stream(id int, dict string, data []byte) {
	pw.zbuf.Reset()
	if pw.z == nil {
		pw.z, _ = zlib.NewWriterLevel(&pw.zbuf, zlib.BestSpeed)
	} else {
		pw.z.Reset(&pw.zbuf)
	}
	pw.z.Write(data)
	pw.z.Close()
	pw.offs[id-1] = pw.n
	pw.printf("%d 0 obj\n<< %s /Length %d /Filter /FlateDecode >>\nstream\n", id, dict, pw.zbuf.Len())
	pw.Write(pw.zbuf.Bytes())
	pw.printf("\nendstream\nendobj\n")
}

// textString encodes s as a PDF text string (UTF-16BE with a BOM, in hex).
func textString(s string) string {
	var b []byte
	b = append(b, "<FEFF"...)
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, hexDigits[u>>12], hexDigits[u>>8&15], hexDigits[u>>4&15], hexDigits[u&15])
	}
	return string(append(b, '>'))
}

// WriteTo writes the document.
func (d *Doc) WriteTo(w io.Writer) (int64, error) {
	pw := &pdfWriter{w: bufio.NewWriterSize(w, 256<<10)}
	pw.printf("%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n")
	catalog, pages, resources, info := pw.alloc(), pw.alloc(), pw.alloc(), pw.alloc()

	var fontRefs bytes.Buffer
	for _, df := range d.fonts {
		id, err := d.writeFont(pw, df)
		if err != nil {
			return pw.n, fmt.Errorf("font %s: %w", df.font.Family, err)
		}
		fmt.Fprintf(&fontRefs, "/%s %d 0 R ", df.name, id)
	}
	pw.obj(resources, fmt.Sprintf("<< /Font << %s>> /ProcSet [/PDF /Text] >>", fontRefs.String()))

	pageIDs := make([]int, len(d.pages))
	var kids bytes.Buffer
	for i := range d.pages {
		pageIDs[i] = pw.alloc()
		fmt.Fprintf(&kids, "%d 0 R ", pageIDs[i])
	}
	for i, p := range d.pages {
		content := pw.alloc()
		pw.obj(pageIDs[i], fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] /Resources %d 0 R /Contents %d 0 R >>",
			pages, d.W, d.H, resources, content))
		pw.stream(content, "", p.buf)
	}
	pw.obj(pages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(d.pages)))

	extra := ""
	if len(d.outline) > 0 {
		root := pw.alloc()
		first, last, count := d.writeItems(pw, root, d.outline, pageIDs)
		pw.obj(root, fmt.Sprintf("<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>", first, last, count))
		extra += fmt.Sprintf(" /Outlines %d 0 R /PageMode /UseOutlines", root)
	}
	if d.Lang != "" {
		extra += " /Lang " + textString(d.Lang)
	}
	pw.obj(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /ViewerPreferences << /DisplayDocTitle true >>%s >>", pages, extra))
	pw.obj(info, fmt.Sprintf("<< /Title %s /Producer (ducha) >>", textString(d.Title)))

	xref := pw.n
	pw.printf("xref\n0 %d\n0000000000 65535 f \n", len(pw.offs)+1)
	for _, off := range pw.offs {
		pw.printf("%010d 00000 n \n", off)
	}
	pw.printf("trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(pw.offs)+1, catalog, info, xref)
	if pw.err != nil {
		return pw.n, pw.err
	}
	return pw.n, pw.w.Flush()
}

// writeItems writes a level of the outline; it returns the first and last
// object numbers and the number of visible entries.
func (d *Doc) writeItems(pw *pdfWriter, parent int, items []*Item, pageIDs []int) (first, last, count int) {
	ids := make([]int, len(items))
	for i := range items {
		ids[i] = pw.alloc()
	}
	for i, it := range items {
		body := fmt.Sprintf("<< /Title %s /Parent %d 0 R /Dest [%d 0 R /XYZ 0 %.2f null]", textString(it.Title), parent,
			pageIDs[it.page.index], d.H-it.y)
		if i > 0 {
			body += fmt.Sprintf(" /Prev %d 0 R", ids[i-1])
		}
		if i < len(items)-1 {
			body += fmt.Sprintf(" /Next %d 0 R", ids[i+1])
		}
		if len(it.Kids) > 0 {
			f, l, _ := d.writeItems(pw, ids[i], it.Kids, pageIDs)
			// closed: a negative count hides the township entries until opened
			body += fmt.Sprintf(" /First %d 0 R /Last %d 0 R /Count -%d", f, l, len(it.Kids))
		}
		pw.obj(ids[i], body+" >>")
	}
	return ids[0], ids[len(ids)-1], len(items)
}

// writeFont writes the subset of df's font as a Type0 font; it returns the
// Type0 object number.
func (d *Doc) writeFont(pw *pdfWriter, df *docFont) (int, error) {
	f := df.font
	gids := make([]uint16, 0, len(df.used))
	for g := range df.used {
		gids = append(gids, g)
	}
	slices.Sort(gids)

	h := fnv.New32a()
	fmt.Fprint(h, f.PSName, gids)
	sum := h.Sum32()
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = byte('A' + sum%26)
		sum /= 26
	}
	base := string(tag) + "+" + f.PSName

	type0, cid, desc, file, tounicode := pw.alloc(), pw.alloc(), pw.alloc(), pw.alloc(), pw.alloc()
	scale := func(v int) int { return int(math.Round(float64(v) * 1000 / float64(f.upem))) }

	// widths: the most common one is the default, the others are listed
	freq := map[int]int{}
	for _, g := range gids {
		freq[scale(f.Advance(g))]++
	}
	dw, best := 1000, 0
	for w, n := range freq {
		if n > best || n == best && w < dw {
			dw, best = w, n
		}
	}
	var wArr bytes.Buffer
	for i := 0; i < len(gids); {
		if scale(f.Advance(gids[i])) == dw {
			i++
			continue
		}
		j := i
		fmt.Fprintf(&wArr, "%d [", gids[i])
		for j < len(gids) && gids[j] == gids[i]+uint16(j-i) && scale(f.Advance(gids[j])) != dw {
			fmt.Fprintf(&wArr, "%d ", scale(f.Advance(gids[j])))
			j++
		}
		wArr.WriteString("] ")
		i = j
	}

	pw.obj(type0, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>",
		base, cid, tounicode))
	pw.obj(cid, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW %d /W [%s] /CIDToGIDMap /Identity >>",
		base, desc, dw, wArr.String()))
	pw.obj(desc, fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags 4 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
		base, scale(int(f.bbox[0])), scale(int(f.bbox[1])), scale(int(f.bbox[2])), scale(int(f.bbox[3])),
		scale(int(f.ascent)), scale(int(f.descent)), scale(int(f.capHeight)), file))
	sub, err := f.Subset(df.used)
	if err != nil {
		return 0, err
	}
	pw.stream(file, fmt.Sprintf("/Length1 %d", len(sub)), sub)
	pw.stream(tounicode, "", toUnicode(gids, df.used))
	return type0, nil
}

// toUnicode is the CMap that maps glyph codes back to text.
func toUnicode(gids []uint16, used map[uint16]rune) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	var chunk []uint16
	for _, g := range gids {
		if used[g] >= ' ' && g != 0 {
			chunk = append(chunk, g)
		}
	}
	for len(chunk) > 0 {
		n := min(len(chunk), 100)
		fmt.Fprintf(&b, "%d beginbfchar\n", n)
		for _, g := range chunk[:n] {
			fmt.Fprintf(&b, "<%04X> <", g)
			for _, u := range utf16.Encode([]rune{used[g]}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
		chunk = chunk[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}
