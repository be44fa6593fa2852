package pdf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// ukai is the AR PL UKai CN face (Debian fonts-arphic-ukai); tests skip
// without it except under CI, whose .ci/run installs it.
func ukai(t testing.TB) *Font {
	t.Helper()
	f, err := FindFont("AR PL UKai CN")
	if err != nil {
		t.Fatal(err)
	}
	if f == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but the font AR PL UKai CN is missing (apt package fonts-arphic-ukai)")
		}
		t.Skip("font AR PL UKai CN not installed (apt package fonts-arphic-ukai)")
	}
	return f
}

// tool finds a poppler program, skipping without it except under CI.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing (apt package poppler-utils)", name)
		}
		t.Skipf("%s not installed (apt package poppler-utils)", name)
	}
	return p
}

func TestFindFontIgnoresCFF(t *testing.T) {
	f, err := FindFont("Noto Serif CJK SC", "Noto Sans CJK SC")
	if err != nil || f != nil {
		t.Errorf("FindFont(Noto CJK) = %v, %v; want nil: a CFF face cannot be embedded as TrueType", f, err)
	}
}

func TestSubsetKeepsUsedOutlines(t *testing.T) {
	f := ukai(t)
	used := map[uint16]rune{}
	for _, r := range "督查通报（第5期）ab" {
		g, ok := f.Glyph(r)
		if !ok {
			t.Fatalf("no glyph for %q", r)
		}
		used[g] = r
	}
	// a composite glyph: its components must come along
	outline := func(f *Font, g uint16) []byte {
		data, err := f.glyphData(g)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var comp uint16
	for g := range f.numGlyphs {
		if len(components(outline(f, uint16(g)))) > 0 {
			comp = uint16(g)
			break
		}
	}
	if comp == 0 {
		t.Fatal("UKai has no composite glyph to test with")
	}
	used[comp] = 0xe000 // a private-use character stands for it

	sub, err := f.Subset(used)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) > int(f.glyf.Size())/50 {
		t.Errorf("subset of %d glyphs is %d bytes", len(used), len(sub))
	}
	if checksum(sub) != 0xB1B0AFBA {
		t.Errorf("whole-font checksum = %#x, want 0xB1B0AFBA", checksum(sub))
	}
	s, err := parseFont(bytes.NewReader(sub), 0)
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	if s.numGlyphs != f.numGlyphs || s.upem != f.upem {
		t.Fatalf("subset has %d glyphs, upem %d; want %d, %d", s.numGlyphs, s.upem, f.numGlyphs, f.upem)
	}
	for g, r := range used {
		if got, _ := s.Glyph(r); got != g {
			t.Errorf("the subset's cmap maps %q to glyph %d, want %d", r, got, g)
		}
	}
	keep := map[uint16]bool{0: true}
	for g := range used {
		keep[g] = true
		for _, c := range components(outline(f, g)) {
			keep[c] = true
		}
	}
	for g := range f.numGlyphs {
		got, want := outline(s, uint16(g)), outline(f, uint16(g))
		if keep[uint16(g)] {
			if !bytes.Equal(got, want) {
				t.Errorf("glyph %d changed in the subset", g)
			}
			if s.Advance(uint16(g)) != f.Advance(uint16(g)) {
				t.Errorf("glyph %d advance %d, want %d", g, s.Advance(uint16(g)), f.Advance(uint16(g)))
			}
		} else if len(got) != 0 {
			t.Errorf("unused glyph %d kept (%d bytes)", g, len(got))
		}
	}
}

func TestBreak(t *testing.T) {
	face := &Face{Fonts: []*Font{ukai(t)}}
	em := 10.0 // CJK characters are 1 em wide in UKai, Latin ones half
	for _, c := range []struct {
		text   string
		width  float64 // ems
		indent float64 // ems
		want   []string
	}{
		{"一二三四五", 3, 0, []string{"一二三", "四五"}},
		{"一二三四五", 3, 2, []string{"一", "二三四", "五"}},
		{"一二，三", 2, 0, []string{"一", "二，", "三"}}, // no line starts with ，
		{"一（二三", 2, 0, []string{"一", "（二", "三"}}, // no line ends with （
		{"第5eed0c0ffee号", 4, 0, []string{"第", "5eed0c0f", "fee号"}},
		{"ab cd ef", 2.2, 0, []string{"ab", "cd", "ef"}},
		{"甲\n乙丙", 5, 0, []string{"甲", "乙丙"}},
		{"", 5, 0, []string{""}},
	} {
		got := face.Break(c.text, em, 0, c.width*em, c.indent*em)
		if !slices.Equal(got, c.want) {
			t.Errorf("Break(%q, %g em, indent %g) = %q, want %q", c.text, c.width, c.indent, got, c.want)
		}
	}
	if got := face.MinWidth("第00001村 abc", em, 0); got != em*2.5 {
		t.Errorf("MinWidth = %g, want the width of 00001 (%g)", got, em*2.5)
	}
}

// writeDoc writes a two-page document and returns its path.
func writeDoc(t *testing.T) string {
	f := ukai(t)
	d := NewDoc(A4Width, A4Height)
	d.Title, d.Lang = "测试文档", "zh-CN"
	fl := NewFlow(d, 30*MM, 26*MM, 28*MM, 28*MM)
	face, bold := &Face{Fonts: []*Font{f}}, &Face{Fonts: []*Font{f}, Bold: true}
	body := Style{Face: face, Size: 15, Leading: 1.7, Align: Justify, Indent: 30}
	h := body
	h.Face, h.Align, h.Indent = bold, Center, 0
	p, y := fl.Paragraph(h, "关于督查情况的通报")
	d.Bookmark(nil, "标题", p, y)
	fl.Paragraph(body, strings.Repeat("法律顾问每月到村服务不少于一次，", 10))
	var rows [][]string
	for i := range 80 {
		rows = append(rows, []string{"第" + string(rune('A'+i%26)) + "村", "顾问", "本月无到村服务记录"})
	}
	st := Style{Face: face, Size: 10.5, Leading: 1.35}
	grey := Hex(0xf2f2f2)
	hd := st
	hd.Face, hd.Align = bold, Center
	fl.Table(&Table{Head: []string{"村", "法律顾问", "问题"}, Rows: rows, Body: st, Header: hd, Fill: &grey, Rule: 0.75, PadX: 3, PadY: 1.5})
	path := filepath.Join(t.TempDir(), "doc.pdf")
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := len(d.Pages()); n != 3 {
		t.Errorf("%d pages, want 3 (80 rows run onto a third page)", n)
	}
	return path
}

func TestDocumentTextExtracts(t *testing.T) {
	path := writeDoc(t)
	out, err := exec.Command(tool(t, "pdftotext"), path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), "")
	for _, want := range []string{"关于督查情况的通报", "法律顾问每月到村服务不少于一次，法律顾问", "第Z村顾问本月无到村服务记录"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%.300s", want, text)
		}
	}
	// the heading row repeats on every page
	if n := strings.Count(text, "村法律顾问问题"); n != 3 {
		t.Errorf("heading row printed %d times, want 3", n)
	}
	if !utf8.ValidString(string(out)) {
		t.Error("extracted text is not UTF-8")
	}
}

func TestDocumentFontsAndPages(t *testing.T) {
	path := writeDoc(t)
	out, err := exec.Command(tool(t, "pdffonts"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")[2:]
	if len(lines) != 1 || !strings.Contains(lines[0], "+UKaiCN") || !strings.Contains(lines[0], "CID TrueType") ||
		!strings.HasSuffix(strings.Join(strings.Fields(lines[0])[4:7], " "), "yes yes yes") {
		t.Errorf("fonts:\n%s\nwant one embedded subset CID TrueType UKaiCN with a ToUnicode map", out)
	}
	out, err = exec.Command(tool(t, "pdfinfo"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	for _, want := range []string{"Title:           测试文档", "Pages:           3", "595.28 x 841.89 pts (A4)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, out)
		}
	}
	checkPDF(t, path) // qpdf finds no syntax errors; poppler renders every page
}

// A row taller than a page is split across pages; no line is lost.
func TestTallRowSplits(t *testing.T) {
	f := ukai(t)
	d := NewDoc(A4Width, A4Height)
	fl := NewFlow(d, 30*MM, 26*MM, 28*MM, 28*MM)
	face := &Face{Fonts: []*Font{f}}
	st := Style{Face: face, Size: 10.5, Leading: 1.35}
	var long []string
	for i := range 120 {
		long = append(long, fmt.Sprintf("第%03d行", i))
	}
	fl.Table(&Table{Head: []string{"序号", "内容"}, Rows: [][]string{{"1", "短"}, {"2", strings.Join(long, "\n")}, {"3", "尾"}},
		Body: st, Header: st, Rule: 0.75, PadX: 3, PadY: 1.5})
	if n := len(d.Pages()); n != 3 {
		t.Errorf("%d pages, want 3", n)
	}
	path := filepath.Join(t.TempDir(), "tall.pdf")
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool(t, "pdftotext"), path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(long, "短", "尾") {
		if !strings.Contains(string(out), l) {
			t.Errorf("text lacks %q", l)
		}
	}
}

// A column holding a word wider than the page (a long code or URL) gets
// what the other columns leave; they keep room for their own words, so no
// cell's text runs into its neighbour's.
func TestTableLongWord(t *testing.T) {
	face := &Face{Fonts: []*Font{ukai(t)}}
	st := Style{Face: face, Size: 10.5, Leading: 1.35}
	tb := &Table{Head: []string{"村", "法律顾问", "督查事项", "问题", "整改期限"},
		Rows: [][]string{
			{"东风村", "张明", "每月到村服务不少于一次", strings.Repeat("A", 3000), "2018年6月12日"},
			{"李家坪村", "王芳", "法律便民服务卡信息完整", "https://example.com/" + strings.Repeat("x", 400) + " 未公布", "2018年6月19日"},
		},
		Body: st, Header: st, Rule: 0.75, PadX: 3, PadY: 1.5}
	const avail = 450.0
	ws := tb.widths(avail)
	sum := 0.0
	for _, w := range ws {
		sum += w
	}
	if sum < avail-0.01 || sum > avail+0.01 {
		t.Errorf("widths %v add up to %g, want %g", ws, sum, avail)
	}
	extra := 2*tb.PadX + tb.Rule
	for _, r := range append([][]string{tb.Head}, tb.Rows...) {
		for i, c := range r {
			lines := face.Break(c, st.Size, 0, ws[i]-extra, 0)
			for _, l := range lines {
				if w := face.Width(l, st.Size, 0); w > ws[i]-extra+0.01 {
					t.Errorf("column %d (%.1f pt) holds a line %.1f pt wide: %.20q", i, ws[i], w, l)
				}
			}
			// the short cells keep their words whole
			if i != 3 && i != 2 && len(lines) != 1 {
				t.Errorf("column %d (%.1f pt) breaks %q into %q", i, ws[i], c, lines)
			}
		}
	}
}

// Empty cells without padding or rules share the width alike (they made
// NaN widths, which wrote "NaN" into the content stream).
func TestTableEmpty(t *testing.T) {
	st := Style{Face: &Face{Fonts: []*Font{ukai(t)}}, Size: 10.5, Leading: 1.35}
	tb := &Table{Head: []string{"", ""}, Rows: [][]string{{"", ""}}, Body: st, Header: st}
	if ws := tb.widths(300); !slices.Equal(ws, []float64{150, 150}) {
		t.Errorf("widths = %v, want [150 150]", ws)
	}
}

func TestCapTo(t *testing.T) {
	for _, c := range []struct {
		ws    []float64
		total float64
		want  []float64
	}{
		{[]float64{10, 20, 1000, 30}, 160, []float64{10, 20, 100, 30}},
		{[]float64{10, 500, 1000}, 210, []float64{10, 100, 100}},
		{[]float64{100, 100, 100}, 150, []float64{50, 50, 50}},
		{[]float64{10, 20}, 100, []float64{10, 20}}, // they fit: unchanged
	} {
		if got := capTo(c.ws, c.total); !slices.Equal(got, c.want) {
			t.Errorf("capTo(%v, %g) = %v, want %v", c.ws, c.total, got, c.want)
		}
	}
}

// Text from Windows (CR LF), tabs and the invisible characters pasted from
// word processors and chat apps (zero-width space, byte-order mark, soft
// hyphen, direction marks) neither draw boxes nor take room.
func TestInvisibleCharacters(t *testing.T) {
	f := ukai(t)
	face := &Face{Fonts: []*Font{f}}
	em := 10.0
	got := face.Break("甲\r\n乙\t丙\u200b丁\u00ad\ufeff\r戊\u200e\x00\x07", em, 0, 20*em, 0)
	if want := []string{"甲", "乙 丙丁", "戊"}; !slices.Equal(got, want) {
		t.Errorf("Break = %q, want %q", got, want)
	}
	if a, b := face.Width("a\u200bb\ufeff\r", em, 0), face.Width("ab", em, 0); a != b {
		t.Errorf("invisible characters take room: %g, want %g", a, b)
	}
	if a, b := face.Width("a\tb", em, 0), face.Width("a b", em, 0); a != b {
		t.Errorf("a tab is %g wide, a space %g", a, b)
	}
	d := NewDoc(A4Width, A4Height)
	fl := NewFlow(d, 30*MM, 26*MM, 28*MM, 28*MM)
	fl.Paragraph(Style{Face: face, Size: 15, Leading: 1.7}, "甲\r\n乙\t丙\u200b丁\u00ad\ufeff\r戊\x07")
	fl.Page().Text(100, 100, face, 12, Black, 0, "己\u200b\r\n庚") // drawn directly, not through Break
	if _, ok := d.docFont(f).used[0]; ok {
		t.Error("glyph 0 (a box) drawn for an invisible character")
	}
}

// A justified paragraph stretches only the lines it broke itself: the line
// before a newline stays as set, like the last.
func TestJustifyStopsAtNewline(t *testing.T) {
	face := &Face{Fonts: []*Font{ukai(t)}}
	d := NewDoc(A4Width, A4Height)
	fl := NewFlow(d, 30*MM, 26*MM, 28*MM, 28*MM)
	fl.Paragraph(Style{Face: face, Size: 15, Leading: 1.7, Align: Justify}, "（一）\n（二）要求")
	if buf := string(fl.Page().buf); strings.Contains(buf, "Tc") {
		t.Errorf("a line ending at a newline is stretched:\n%s", buf)
	}
	fl.Paragraph(Style{Face: face, Size: 15, Leading: 1.7, Align: Justify}, strings.Repeat("法律顾问每月到村服务，", 8))
	if buf := string(fl.Page().buf); !strings.Contains(buf, "Tc") {
		t.Errorf("a broken line of a justified paragraph is not stretched:\n%s", buf)
	}
}

// A character no font has is drawn as a box (glyph 0) that carries the
// character as replacement text: the PDF stays valid and its text keeps it.
func TestMissingCharacterExtracts(t *testing.T) {
	f := ukai(t)
	for _, r := range "𠀀😀" {
		if _, ok := f.Glyph(r); ok {
			t.Fatalf("UKai has %q; the test needs a character it lacks", r)
		}
	}
	d := NewDoc(A4Width, A4Height)
	fl := NewFlow(d, 30*MM, 26*MM, 28*MM, 28*MM)
	fl.Paragraph(Style{Face: &Face{Fonts: []*Font{f}}, Size: 15, Leading: 1.7, Align: Justify},
		"村名𠀀𠀀村，顾问😀王芳。"+strings.Repeat("法律顾问每月到村服务。", 5))
	path := filepath.Join(t.TempDir(), "missing.pdf")
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool(t, "pdftotext"), path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	if text := strings.Join(strings.Fields(string(out)), ""); !strings.Contains(text, "村名𠀀𠀀村，顾问😀王芳。法律顾问") {
		t.Errorf("text lacks the missing characters:\n%s", out)
	}
	checkPDF(t, path)
}

// checkPDF has qpdf check the file's syntax and streams, and poppler render
// it, without complaint; skipped without them, except under CI.
func checkPDF(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command(tool(t, "pdftoppm"), "-r", "20", "-png", path, filepath.Join(t.TempDir(), "page")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("pdftoppm: %v\n%s", err, out)
	}
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but qpdf is missing (apt package qpdf)")
		}
		t.Log("qpdf not installed: the syntax check is skipped")
		return
	}
	if out, err := exec.Command(qpdf, "--check", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
}

// The subset's own cmap maps every used character, however many: a
// format 4 subtable holds about 8,000 segments, a document may use more
// distinct characters (the names of a province's villages and advisers),
// and characters beyond the BMP.
func TestSubsetCmapManyCharacters(t *testing.T) {
	f := ukai(t)
	// characters in a row (consecutive glyphs in UKai: a few segments), or
	// every other one (a segment each: too many for format 4)
	chars := func(n, step int) map[uint16]rune {
		used := map[uint16]rune{}
		for r := rune(0x4e00); r < 0xa000 && len(used) < n; r += rune(step) {
			if g, ok := f.Glyph(r); ok {
				used[g] = r
			}
		}
		return used
	}
	for _, sub := range []map[uint16]rune{chars(50, 1), chars(50, 2), chars(10000, 1), chars(10000, 2)} {
		data, err := f.Subset(sub)
		if err != nil {
			t.Fatal(err)
		}
		s, err := parseFont(bytes.NewReader(data), 0)
		if err != nil {
			t.Fatalf("%d characters: the subset does not parse: %v", len(sub), err)
		}
		missing := 0
		for g, r := range sub {
			if got, ok := s.Glyph(r); !ok || got != g {
				missing++
			}
		}
		if missing > 0 || len(s.cmap) != len(sub) {
			t.Errorf("%d characters: the subset's cmap has %d, %d of them wrong or missing", len(sub), len(s.cmap), missing)
		}
		// parseCmap reads to the table's end, as lenient readers do; strict
		// ones (FreeType's validator) trust each subtable's length field.
		tab := s.tables["cmap"]
		for i := range int(binary.BigEndian.Uint16(tab[2:])) {
			off := int(binary.BigEndian.Uint32(tab[4+8*i+4:]))
			var length, need int
			switch format := binary.BigEndian.Uint16(tab[off:]); format {
			case 4:
				length, need = int(binary.BigEndian.Uint16(tab[off+2:])), 16+8*int(binary.BigEndian.Uint16(tab[off+6:])/2)
			case 12:
				length, need = int(binary.BigEndian.Uint32(tab[off+4:])), 16+12*int(binary.BigEndian.Uint32(tab[off+12:]))
			default:
				t.Fatalf("cmap subtable format %d", format)
			}
			if length < need || off+length > len(tab) {
				t.Errorf("%d characters: cmap subtable %d says it is %d bytes long, needs %d (the table has %d from it)",
					len(sub), i, length, need, len(tab)-off)
			}
		}
	}
}

// A face of a wanted family that does not load (here one whose cmap maps
// GB2312 codes, not Unicode, as old Chinese fonts do) is passed over for
// the next candidate instead of ending the search with its error.
func TestFindFontSkipsFaceThatDoesNotLoad(t *testing.T) {
	f := ukai(t)
	g, _ := f.Glyph('督')
	sub, err := f.Subset(map[uint16]rune{g: '督'})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := readDir(bytes.NewReader(sub), 0)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][]byte{}
	for tag, loc := range dir {
		tables[tag] = sub[loc[0] : loc[0]+loc[1]]
	}
	cmap := cmapTable(map[uint16]rune{g: '督'})
	binary.BigEndian.PutUint16(cmap[6:], 3) // Windows PRC (GB2312) instead of Unicode
	tables["cmap"] = cmap
	family := utf16.Encode([]rune("Test Broken"))
	name := make([]byte, 18, 18+2*len(family))
	binary.BigEndian.PutUint16(name[2:], 1)  // one record
	binary.BigEndian.PutUint16(name[4:], 18) // strings after it
	for i, v := range []uint16{3, 1, 0x409, 1, uint16(2 * len(family)), 0} {
		binary.BigEndian.PutUint16(name[6+2*i:], v) // Windows, Unicode, en-US, family
	}
	for _, u := range family {
		name = binary.BigEndian.AppendUint16(name, u)
	}
	tables["name"] = name

	fonts := t.TempDir()
	if err := os.WriteFile(filepath.Join(fonts, "broken.ttf"), writeSfnt(tables), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.Path, filepath.Join(fonts, "ukai"+filepath.Ext(f.Path))); err != nil {
		t.Fatal(err)
	}
	faces := scan([]string{fonts})
	if got, err := findIn(faces, []string{"Test Broken"}); got != nil || err == nil || !strings.Contains(err.Error(), "cmap") {
		t.Errorf("findIn(Test Broken) = %v, %v; want no font and the cmap error", got, err)
	}
	got, err := findIn(faces, []string{"Test Broken", "AR PL UKai CN"})
	if err != nil || got == nil || got.PSName != f.PSName {
		t.Errorf("findIn(Test Broken, AR PL UKai CN) = %v, %v; want UKai", got, err)
	}
}
