package bulletin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// normalise drops trailing spaces and blank lines, so golden files compare
// layout-independent content.
func normalise(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, " \t\r"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "golden", name)
	norm := normalise(got)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(norm), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./bulletin -update` to create it)", err)
	}
	if norm != string(want) {
		gl, wl := strings.Split(norm, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run `go test ./bulletin -update` if the change is intended)", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", name, len(gl), len(wl))
	}
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"bulletin.md", func(b *bytes.Buffer) error { return fixedBulletin().WriteMarkdown(b) }},
		{"bulletin.html", func(b *bytes.Buffer) error { return fixedBulletin().WriteHTML(b) }},
		{"summary.md", func(b *bytes.Buffer) error { return fixedSummary().WriteMarkdown(b) }},
		{"summary.html", func(b *bytes.Buffer) error { return fixedSummary().WriteHTML(b) }},
		{"cards.html", func(b *bytes.Buffer) error { return WriteCardsHTML(b, DefaultBureau, fixedCards(3)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, b.Bytes())
		})
	}
}

func fixedCards(n int) []Card {
	var cs []Card
	for i := range n {
		cs = append(cs, Card{Township: "城关镇", Village: fmt.Sprintf("第%d村", i+1), Adviser: "张明", AdviserKind: "律师",
			Firm: "正义律师事务所", Services: DefaultServices, Phone: "138-0000-0000", QQ: "10001", WeChat: "zhangming",
			Email: "zm@example.com"})
	}
	return cs
}

// The seed's third section, word for word where the figures agree.
func TestAchievementsSentence(t *testing.T) {
	got := fixedSummary().Achievements()
	want := "截止到2018年6月30日，全县精准脱贫村法律顾问共开设法治讲座教育普法活动48次，帮助修订村规民约、审查合同、协议书、调解书42次，" +
		"解答法律咨询650人次，代写法律文书46件，申请法律援助6次，参与人民调解39次，协助处理涉法事务10次，出具法律意见书18次，协助挽回经济损失25万元。"
	if !strings.HasPrefix(got, want) {
		t.Errorf("achievements =\n%s\nwant prefix\n%s", got, want)
	}
}

func TestHTMLStructure(t *testing.T) {
	var b bytes.Buffer
	bl := fixedBulletin()
	if err := bl.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{
		`<p class="org">**县司法局督查通报</p>`,
		`<p class="number">2018年第5期</p>`,
		`<hr class="red">`, `@page { size: A4;`, `"FangSong", "STFangsong", "AR PL UKai CN", "Noto Serif CJK SC", serif`,
		`<table class="by-township">`, `<table class="by-rule">`, `<svg class="chart"`,
		`第二季度未开展法治讲座 | 台账缺失`, // escaped only as HTML needs
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(h, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("HTML contains %q: documents must be self-contained", bad)
		}
	}
	// Text is escaped.
	bl.Problems[0].Message = `<b>粗体</b>`
	b.Reset()
	bl.WriteHTML(&b)
	if strings.Contains(b.String(), "<b>粗体") || !strings.Contains(b.String(), "&lt;b&gt;粗体") {
		t.Error("problem message not escaped")
	}
}

func TestBulletinJSONRoundTrip(t *testing.T) {
	b := fixedBulletin()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Bulletin
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	var m1, m2 bytes.Buffer
	b.WriteMarkdown(&m1)
	back.WriteMarkdown(&m2)
	if m1.String() != m2.String() {
		t.Error("a bulletin read back from its JSON renders differently")
	}
	s := fixedSummary()
	data, _ = json.Marshal(s)
	var sb Summary
	if err := json.Unmarshal(data, &sb); err != nil {
		t.Fatal(err)
	}
	m1.Reset()
	m2.Reset()
	s.WriteMarkdown(&m1)
	sb.WriteMarkdown(&m2)
	if m1.String() != m2.String() {
		t.Error("a summary read back from its JSON renders differently")
	}
}

func TestNumbers(t *testing.T) {
	for in, want := range map[string]Number{"2018年第5期": {2018, 5}, "2018-12": {2018, 12}, "2019/1": {2019, 1}} {
		got, err := ParseNumber(in)
		if err != nil || got != want {
			t.Errorf("ParseNumber(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"2018年第0期", "2018", "第5期", "2018年第5", "18-5"} {
		if _, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) accepted", bad)
		}
	}
	if s := (Number{2018, 5}).String(); s != "2018年第5期" {
		t.Errorf("String = %s", s)
	}
	for fen, want := range map[int64]string{25_000_000: "25万元", 25_350_000: "25.35万元", 80_000: "800元", 1_250: "12.5元", 0: "0元"} {
		if got := YuanText(fen); got != want {
			t.Errorf("YuanText(%d) = %s, want %s", fen, got, want)
		}
	}
}

func TestRank(t *testing.T) {
	mk := func(code string, lectures int64) Score {
		var tt Totals
		tt.Add("lecture", lectures, 0)
		return Score{Code: code, Totals: tt}
	}
	got := Rank([]Score{mk("B", 2), mk("A", 2), mk("C", 3), mk("D", 1), mk("E", 0)}, DefaultFormula, 2)
	var s []string
	for _, r := range got {
		s = append(s, fmt.Sprintf("%d%s%v", r.Rank, r.Code, r.Points))
	}
	if strings.Join(s, " ") != "1C15 2A10 2B10" {
		t.Errorf("ranking = %v (ties share a rank, by code; top 2 keeps the tie)", s)
	}
}

func TestXLSXLedger(t *testing.T) {
	var buf bytes.Buffer
	if err := fixedBulletin().WriteXLSX(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, ",") != "本期问题,前期问题整改" {
		t.Fatalf("sheets = %v", got)
	}
	rows, err := f.GetRows("本期问题")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2+3 || rows[1][0] != "序号" || rows[2][2] != "城关镇" || rows[2][9] != "2018年6月19日" || rows[2][10] != "整改中" {
		t.Fatalf("rows = %q", rows)
	}
	// "=…" stays a string: no formula anywhere.
	cell := "H5"
	if v, _ := f.GetCellValue("本期问题", cell); v != "=服务卡未公布微信号" {
		t.Errorf("%s = %q", cell, v)
	}
	if ff, _ := f.GetCellFormula("本期问题", cell); ff != "" {
		t.Errorf("%s has formula %q", cell, ff)
	}
	if typ, _ := f.GetCellType("本期问题", cell); typ == excelize.CellTypeFormula {
		t.Errorf("%s is a formula cell", cell)
	}
	earlier, _ := f.GetRows("前期问题整改")
	if len(earlier) != 2+3 || !strings.Contains(earlier[2][11], "销号") {
		t.Errorf("earlier rows = %q", earlier)
	}
}

// printer finds Chromium and pdftotext, skipping without them except under CI.
func printer(t testing.TB) *Printer {
	t.Helper()
	p, err := FindPrinter()
	if err == nil {
		_, err = exec.LookPath("pdftotext")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but PDF tools are missing (apt packages chromium, poppler-utils, fonts-noto-cjk): %v", err)
		}
		t.Skipf("PDF test skipped: %v (install chromium and poppler-utils)", err)
	}
	return p
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

var spaces = regexp.MustCompile(`\s+`)

func TestPDF(t *testing.T) {
	p := printer(t)
	defer p.Close()
	ctx := context.Background()
	var html bytes.Buffer
	fixedBulletin().WriteHTML(&html)
	var sum bytes.Buffer
	fixedSummary().WriteHTML(&sum)
	var cards bytes.Buffer
	WriteCardsHTML(&cards, DefaultBureau, fixedCards(9))
	for _, c := range []struct {
		name  string
		html  []byte
		wants []string
	}{
		{"bulletin", html.Bytes(), []string{"督查通报", "2018年第5期", "李家坪村", "王芳", "每季度开展法治讲座"}},
		{"summary", sum.Bytes(), []string{"工作统计", "法治讲座教育普法活动48次", "650人次", "25万元", "邓承展"}},
		{"cards", cards.Bytes(), []string{"法律便民服务卡", "第9村", "zhangming", "138-0000-0000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pdf, err := p.PDF(ctx, c.html)
			if err != nil {
				t.Fatal(err)
			}
			text := spaces.ReplaceAllString(pdfText(t, pdf), "")
			for _, w := range c.wants {
				if !strings.Contains(text, w) {
					t.Errorf("PDF text lacks %q:\n%.600s", w, text)
				}
			}
		})
	}
}

// Sections whose data is missing are left out, and numbered on.
func TestOptionalSections(t *testing.T) {
	s := fixedSummary()
	s.Rounds, s.Findings = nil, nil
	var b bytes.Buffer
	if err := s.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "督查与整改") || !strings.Contains(b.String(), "## 四、优秀法律顾问排名") {
		t.Errorf("summary without inspections:\n%s", b.String())
	}
	bl := fixedBulletin()
	bl.Earlier, bl.GoodExamples, bl.Activity, bl.States = nil, nil, nil, nil
	bl.Corrects = &Correction{Number: Number{2018, 4}, Reason: "城关镇东风村的法律顾问姓名有误。"}
	b.Reset()
	if err := bl.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"## 关于更正2018年第4期督查通报的通报", "我局2018年第4期督查通报中有误，现予更正。更正原因：城关镇东风村的法律顾问姓名有误。",
		"### 三、下一步工作要求"} {
		if !strings.Contains(md, want) {
			t.Errorf("correction lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "前期问题整改情况") || strings.Contains(md, "典型做法") || strings.Contains(md, "附：统计") {
		t.Errorf("empty sections printed:\n%s", md)
	}
}

// typesets skips the test where WritePDF cannot run (no TrueType CJK font)
// or poppler-utils is missing, except under CI.
func typesets(t *testing.T) {
	t.Helper()
	err := CanTypeset()
	if err == nil {
		_, err = exec.LookPath("pdftotext")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but PDF typesetting cannot run (apt packages fonts-arphic-ukai, fonts-arphic-uming, poppler-utils): %v", err)
		}
		t.Skipf("PDF test skipped: %v", err)
	}
}

func writePDF(t *testing.T, b *Bulletin) string {
	t.Helper()
	var buf bytes.Buffer
	if err := b.WritePDF(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bulletin.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func poppler(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// The typeset bulletin carries every section of the HTML, as text that
// extracts, in embedded CJK fonts, on A4 pages that render.
func TestWritePDF(t *testing.T) {
	typesets(t)
	path := writePDF(t, fixedBulletin())
	text := spaces.ReplaceAllString(poppler(t, "pdftotext", path, "-"), "")
	for _, want := range []string{
		"**县司法局督查通报", "2018年第5期", "关于2018年5月精准脱贫村法律顾问工作不定期随机抽查情况的通报",
		"一、督查基本情况", "随机种子5eed0c0ffee，可复核", "二、发现的问题",
		"各乡镇问题统计乡镇问题数涉及村数涉及法律顾问城关镇221", "各督查事项问题统计",
		"城关镇（2个）", "河口乡（1个）", "李家坪村", "王芳", "每季度开展法治讲座", "较重", "第二季度未开展法治讲座|", "台账缺失",
		"三、前期问题整改情况", "已整改销号（1个）", "4月13日销号", "四、典型做法", "五、下一步工作要求",
		"（二）各司法所要加强日常督导", "六、附：统计", "各月工作记录数", "问题按状态统计", "已销号",
		"**县司法局2018年6月8日", "—1—", "—3—",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	info := poppler(t, "pdfinfo", path)
	for _, want := range []string{"2018年第5期 关于2018年5月", "Pages:           3", "595.28 x 841.89 pts (A4)"} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
	fonts := strings.Split(strings.TrimSpace(poppler(t, "pdffonts", path)), "\n")[2:]
	if len(fonts) == 0 {
		t.Error("no fonts in the PDF")
	}
	for _, l := range fonts {
		if f := strings.Fields(l); !strings.Contains(l, "CID TrueType") || strings.Join(f[len(f)-5:len(f)-2], " ") != "yes yes yes" {
			t.Errorf("font not an embedded subset with a ToUnicode map: %s", l)
		}
	}
	if out := poppler(t, "pdftoppm", "-r", "30", "-png", path, filepath.Join(t.TempDir(), "page")); out != "" {
		t.Errorf("pdftoppm complains:\n%s", out)
	}
}

// Every finding of a long bulletin is in its PDF, its table heading on
// every page of the list.
func TestWritePDFKeepsEveryFinding(t *testing.T) {
	typesets(t)
	const n = 2000
	b := bigBulletin(n)
	path := writePDF(t, b)
	text := poppler(t, "pdftotext", path, "-")
	for _, f := range b.Problems {
		if !strings.Contains(text, f.Village) {
			t.Fatalf("PDF lacks %s (finding %d)", f.Village, f.ID)
		}
	}
	pages := strings.Count(text, "\f")
	if heads := strings.Count(spaces.ReplaceAllString(text, ""), "村法律顾问督查事项严重程度问题整改期限"); heads < pages-2 {
		t.Errorf("the list's heading row printed %d times on %d pages", heads, pages)
	}
}

// A correction without findings, earlier findings or charts prints only
// the sections it has; a long bureau name shrinks to fit the red header.
func TestWritePDFOptionalSections(t *testing.T) {
	typesets(t)
	b := fixedBulletin()
	b.Problems, b.Earlier, b.GoodExamples, b.Activity, b.States = nil, nil, nil, nil, nil
	b.Corrects = &Correction{Number: Number{2018, 4}, Reason: "城关镇东风村的法律顾问姓名有误。"}
	b.Bureau = "某某省某某市某某县司法局法律顾问工作领导小组办公室"
	path := writePDF(t, b)
	raw := poppler(t, "pdftotext", path, "-")
	text := spaces.ReplaceAllString(raw, "")
	for _, want := range []string{"关于更正2018年第4期督查通报的通报", "更正原因：城关镇东风村的法律顾问姓名有误。",
		"二、发现的问题本次督查未发现问题。", "三、下一步工作要求"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(raw, b.Bureau+"督查通报\n") {
		t.Errorf("the red header is not one line:\n%.300s", raw)
	}
	for _, bad := range []string{"前期问题整改情况", "典型做法", "附：统计", "各乡镇问题统计"} {
		if strings.Contains(text, bad) {
			t.Errorf("empty section %q printed", bad)
		}
	}
}

// Bulletins typeset concurrently share the loaded fonts (run with -race).
func TestWritePDFConcurrent(t *testing.T) {
	typesets(t)
	want := writePDF(t, fixedBulletin())
	wantBytes, _ := os.ReadFile(want)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var buf bytes.Buffer
			err := fixedBulletin().WritePDF(&buf)
			if err == nil && !bytes.Equal(buf.Bytes(), wantBytes) {
				err = fmt.Errorf("concurrent output differs (%d bytes, want %d)", buf.Len(), len(wantBytes))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Text from users and imports is set as it is, whatever it holds: markup
// and PDF syntax print literally, CR LF and tabs are line breaks and
// spaces, invisible characters vanish, a character no font has keeps its
// text, a word wider than the page breaks, and a bureau name too long for
// the red header wraps rather than shrinking to nothing. The file stays
// valid.
func TestWritePDFHostileText(t *testing.T) {
	typesets(t)
	b := fixedBulletin()
	b.Bureau = strings.Repeat("某", 120) + "司法局"
	b.Problems[0].Message = `<script>alert("x")</script> &amp; \(x) %PDF endobj` + "\r\n" + strings.Repeat("A", 3000)
	b.Problems[0].Village = "𠀀村"
	b.Problems[1].Adviser = "王\u200b芳\ufeff"
	b.Requirements = append(b.Requirements, "第一行\r\n第二行\t完", "")
	b.GoodExamples = append(b.GoodExamples, "")
	path := writePDF(t, b)
	text := spaces.ReplaceAllString(poppler(t, "pdftotext", path, "-"), "")
	for _, want := range []string{`<script>alert("x")</script>&amp;`, `\(x)%PDFendobj`,
		"𠀀村", "王芳", "（三）第一行第二行完（四）", b.Bureau + "督查通报"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%.2000s", want, text)
		}
	}
	if n := strings.Count(text, "A"); n < 3000 {
		t.Errorf("%d of the 3,000 letters of the long word in the text", n)
	}
	// the red header's words are at least 五号 (10.5 pt) high
	head := regexp.MustCompile(`<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">某`)
	for _, m := range head.FindAllStringSubmatch(poppler(t, "pdftotext", "-bbox", "-l", "1", path, "-"), -1) {
		var y0, y1 float64
		fmt.Sscan(m[1], &y0)
		fmt.Sscan(m[2], &y1)
		if y1-y0 < 10 {
			t.Errorf("red header set %.1f pt high", y1-y0)
		}
	}
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but qpdf is missing (apt package qpdf)")
		}
		t.Skip("qpdf not installed: the syntax check is skipped")
	}
	if out := poppler(t, qpdf, "--check", path); !strings.Contains(out, "No syntax or stream encoding errors") {
		t.Errorf("qpdf --check:\n%s", out)
	}
}
