package bulletin

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"ducha/internal/pdf"
)

// ErrNoFont means no TrueType CJK font was found to typeset a PDF with.
var ErrNoFont = errors.New("未找到可嵌入 PDF 的 TrueType 中文字体 (请安装 Debian 软件包 fonts-arphic-ukai 和 fonts-arphic-uming)")

// Families for each role of an official document (GB/T 9704: 仿宋 body,
// 黑体 first-level headings, 楷体 second-level, 宋体 red header), best
// first. Only TrueType (glyf) faces can be embedded, so Noto CJK (CFF) is
// not among them; the AR PL faces stand in for the Windows ones, as in the
// HTML's font-family lists.
var (
	fangsongFamilies = []string{"FangSong", "仿宋", "STFangsong", "华文仿宋", "FangSong_GB2312", "AR PL UKai CN", "AR PL UMing CN"}
	heiFamilies      = []string{"SimHei", "黑体", "STHeiti", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN"}
	kaiFamilies      = []string{"KaiTi", "楷体", "STKaiti", "AR PL UKai CN", "AR PL UMing CN"}
	songFamilies     = []string{"SimSun", "宋体", "STSong", "AR PL UMing CN", "AR PL UKai CN"}
)

// faces are the document's fonts, each with the others as fallbacks for
// characters it lacks.
type faces struct {
	body, bodyBold, hei, heiBold, kaiBold, songBold *pdf.Face
}

var (
	facesOnce sync.Once
	facesVal  *faces
	facesErr  error
)

func loadFaces() (*faces, error) {
	facesOnce.Do(func() {
		var all []*pdf.Font
		var loadErr error // of an installed face that does not load
		find := func(families []string) *pdf.Font {
			f, err := pdf.FindFont(families...)
			if err != nil && loadErr == nil {
				loadErr = err
			}
			if f != nil && !containsFont(all, f) {
				all = append(all, f)
			}
			return f
		}
		// a role without a face of its own is set in the body's
		body, hei, kai, song := find(fangsongFamilies), find(heiFamilies), find(kaiFamilies), find(songFamilies)
		if body == nil && loadErr != nil {
			facesErr = fmt.Errorf("%w: %w", ErrNoFont, loadErr)
			return
		}
		if body == nil {
			facesErr = ErrNoFont
			return
		}
		face := func(f *pdf.Font, bold bool) *pdf.Face {
			if f == nil {
				f = body
			}
			fonts := []*pdf.Font{f}
			for _, o := range all {
				if o != f {
					fonts = append(fonts, o)
				}
			}
			return &pdf.Face{Fonts: fonts, Bold: bold}
		}
		facesVal = &faces{body: face(body, false), bodyBold: face(body, true), hei: face(hei, false), heiBold: face(hei, true),
			kaiBold: face(kai, true), songBold: face(song, true)}
	})
	return facesVal, facesErr
}

// CanTypeset says whether WritePDF can run on this machine: nil, or
// ErrNoFont. It loads the fonts (once per process).
func CanTypeset() error {
	_, err := loadFaces()
	return err
}

func containsFont(fs []*pdf.Font, f *pdf.Font) bool {
	for _, o := range fs {
		if o == f {
			return true
		}
	}
	return false
}

// Page geometry and type sizes, as in the HTML's print stylesheet.
const (
	mm        = pdf.MM
	bodySize  = 15.0 // 三号 is 16 pt; the HTML uses 15 pt
	bodyLead  = 1.7
	tableSize = 10.5 // 五号
)

// typesetter holds the flow and the styles of one document.
type typesetter struct {
	*pdf.Flow
	f *faces
}

func (t *typesetter) style(face *pdf.Face, size float64) pdf.Style {
	return pdf.Style{Face: face, Size: size, Leading: bodyLead, Align: pdf.Justify}
}

func (t *typesetter) para(text string) {
	st := t.style(t.f.body, bodySize)
	st.Indent, st.After = 2*bodySize, 0.3*bodySize
	t.Paragraph(st, text)
}

func (t *typesetter) h1(text string) {
	st := t.style(t.f.heiBold, 20)
	st.Leading, st.Align, st.Before, st.After = 1.4, pdf.Center, 12, 12
	st.Keep = 2 * bodySize * bodyLead
	t.Paragraph(st, text)
}

func (t *typesetter) h2(text string) (*pdf.Page, float64) {
	st := t.style(t.f.heiBold, bodySize)
	st.Align, st.Indent, st.Before, st.After = pdf.Left, 2*bodySize, 0.8*bodySize, 0.3*bodySize
	st.Keep = 2 * bodySize * bodyLead
	return t.Paragraph(st, text)
}

func (t *typesetter) h3(text string) (*pdf.Page, float64) {
	st := t.style(t.f.kaiBold, bodySize)
	st.Align, st.Indent, st.Before, st.After = pdf.Left, 2*bodySize, 0.6*bodySize, 0.3*bodySize
	st.Keep = tableStart
	return t.Paragraph(st, text)
}

var headFill = pdf.Hex(0xf2f2f2) // th background

// tableStart is the height of a table's heading and first row, which a
// heading before it keeps on its page.
const tableStart = 3 * tableSize * 1.35 * 1.4

// caption is a table's title; keep is what must follow it on the page.
func (t *typesetter) caption(text string, keep float64) {
	st := t.style(t.f.bodyBold, 12)
	st.Align, st.Before, st.After, st.Keep = pdf.Center, 0.6*12, 0.3*12, keep
	t.Paragraph(st, text)
}

// table sets a ruled table; right lists the columns that hold numbers.
func (t *typesetter) table(head []string, rows [][]string, right ...int) {
	body := pdf.Style{Face: t.f.body, Size: tableSize, Leading: 1.35, Before: 0.3 * tableSize, After: 0.8 * tableSize}
	header := body
	header.Face, header.Align = t.f.bodyBold, pdf.Center
	aligns := make([]pdf.Align, len(head))
	for _, i := range right {
		aligns[i] = pdf.Right
	}
	t.Table(&pdf.Table{Head: head, Rows: rows, Body: body, Header: header, Aligns: aligns,
		Fill: &headFill, Rule: 0.75, PadX: 3, PadY: 1.5})
}

// redHead is the red header: the bureau's name and the document's kind in
// large red type, the issue number, and a red rule. A name too long for
// one line shrinks to fit it, but not below 五号 (10.5 pt): a longer one
// wraps.
func (t *typesetter) redHead(org, number string) {
	size := 30.0
	st := pdf.Style{Face: t.f.songBold, Size: size, Leading: 1.3, Color: pdf.Hex(0xdd0000), Align: pdf.Center, Spacing: 0.08 * size}
	if w := st.Face.Width(org, size, st.Spacing); w > t.Width() {
		st.Size = max(math.Floor(size*t.Width()/w*10)/10, tableSize)
		st.Spacing = 0.08 * st.Size
	}
	t.Paragraph(st, org)
	if number != "" {
		st := pdf.Style{Face: t.f.body, Size: bodySize, Leading: bodyLead, Align: pdf.Center, Before: 0.6 * bodySize, After: 0.2 * bodySize}
		t.Paragraph(st, number)
	}
	t.Block(0.2*bodySize, 1.875, 1.2*bodySize, func(p *pdf.Page, x, y float64) {
		p.Rect(x, y, t.Width(), 1.875, pdf.Hex(0xdd0000))
	})
}

// signature is the bureau and the date, right-aligned at the end.
func (t *typesetter) signature(bureau, date string) {
	st := t.style(t.f.body, bodySize)
	st.Align, st.Before = pdf.Right, 2*bodySize
	t.Paragraph(st, bureau+"\n"+date)
}

// chart draws a bar chart like BarChartSVG, scaled to the text width.
func (t *typesetter) chart(title string, bars []Bar, unit string) {
	g := newBarGeometry(bars)
	s := math.Min(t.Width()/barChartWidth, 0.75) // CSS px are 0.75 pt; shrink to fit
	t.Block(0.4*bodySize, barChartHeight*s, 0.4*bodySize, func(p *pdf.Page, x0, y0 float64) {
		x0 += (t.Width() - barChartWidth*s) / 2
		face := t.f.hei
		text := func(x, y, size float64, anchor pdf.Align, str string) {
			w := face.Width(str, size*s, 0)
			switch anchor {
			case pdf.Center:
				x -= w / s / 2
			case pdf.Right:
				x -= w / s
			}
			p.Text(x0+x*s, y0+y*s, face, size*s, pdf.Black, 0, str)
		}
		text(barChartWidth/2, 20, 15, pdf.Center, title)
		for _, tk := range g.ticks {
			p.Lines(0.5*s, pdf.Hex(0xcccccc), [4]float64{x0 + barLeft*s, y0 + tk.y*s, x0 + (barChartWidth-barRight)*s, y0 + tk.y*s})
			text(barLeft-4, tk.y+3, 10, pdf.Right, tk.label)
		}
		for i, b := range g.bars {
			p.Rect(x0+b.x*s, y0+b.y*s, b.w*s, b.h*s, pdf.Hex(0xcc0000))
			text(b.x+b.w/2, b.y-3, 10, pdf.Center, numText(bars[i].Value))
			text(b.x+b.w/2, barChartHeight-barBottom+16, 11, pdf.Center, bars[i].Label)
		}
		p.Lines(1*s, pdf.Black, [4]float64{x0 + barLeft*s, y0 + (barChartHeight-barBottom)*s, x0 + (barChartWidth-barRight)*s, y0 + (barChartHeight-barBottom)*s})
		if unit != "" {
			text(4, barTop-8, 10, pdf.Left, "单位："+unit)
		}
	})
}

// pageNumbers prints "— n —" under the text block of every page.
func (t *typesetter) pageNumbers() {
	for _, p := range t.Doc.Pages() {
		s := fmt.Sprintf("— %d —", p.Number())
		w := t.f.body.Width(s, 12, 0)
		p.Text((t.Doc.W-w)/2, t.Doc.H-t.Bottom+7*mm+10, t.f.body, 12, pdf.Black, 0, s)
	}
}

// WritePDF typesets the bulletin as an A4 official document: red header,
// 仿宋-like body (the AR PL faces where the Windows ones are missing),
// tables whose headings repeat on every page, charts, page numbers, and an
// outline of sections and townships. The fonts are embedded as subsets and
// the text extracts. It needs no browser and takes well under a second for
// 10,000 findings (issue #7); ErrNoFont when no TrueType CJK font is installed.
func (b *Bulletin) WritePDF(w io.Writer) error {
	fs, err := loadFaces()
	if err != nil {
		return err
	}
	doc := pdf.NewDoc(pdf.A4Width, pdf.A4Height)
	doc.Title, doc.Lang = b.Number.String()+" "+b.Headline(), "zh-CN"
	t := &typesetter{Flow: pdf.NewFlow(doc, 30*mm, 26*mm, 28*mm, 28*mm), f: fs}
	sec := b.sectionTitles()
	section := func(key string) *pdf.Item {
		p, y := t.h2(sec[key])
		return doc.Bookmark(nil, sec[key], p, y)
	}

	t.redHead(b.Bureau+"督查通报", b.Number.String())
	t.h1(b.Headline())
	if c := b.Corrects; c != nil {
		t.para(c.Text())
	}
	section("round")
	t.para(b.RoundText())
	problems := section("problems")
	if len(b.Problems) == 0 {
		t.para("本次督查未发现问题。")
	} else {
		t.caption("各乡镇问题统计", tableStart)
		t.table([]string{"乡镇", "问题数", "涉及村数", "涉及法律顾问"}, tallyRows(b.ByTownship()), 1, 2, 3)
		t.caption("各督查事项问题统计", tableStart)
		t.table([]string{"督查事项", "问题数", "涉及村数", "涉及法律顾问"}, tallyRows(b.ByRule()), 1, 2, 3)
		t.caption("问题清单", bodySize*bodyLead+0.9*bodySize+tableStart) // and the first township's heading
		for _, g := range b.ProblemsByTownship() {
			title := fmt.Sprintf("%s（%d个）", g.Township, len(g.Problems))
			p, y := t.h3(title)
			doc.Bookmark(problems, title, p, y)
			t.table(problemHead, problemRows(g.Problems))
		}
	}
	if e := b.Earlier; e != nil {
		section("earlier")
		t.para(e.Text())
		for _, l := range e.Lists() {
			if len(l.Items) > 0 {
				t.caption(fmt.Sprintf("%s（%d个）", l.Title, len(l.Items)), tableStart)
				t.table(earlierHead, earlierRows(l.Items))
			}
		}
	}
	if len(b.GoodExamples) > 0 {
		section("good")
		for _, g := range b.GoodExamples {
			t.para(g)
		}
	}
	if len(b.Requirements) > 0 {
		section("requirements")
		for i, r := range b.Requirements {
			t.para("（" + chineseOrdinal(i+1) + "）" + r)
		}
	}
	if len(b.Activity) > 0 || len(b.States) > 0 {
		section("stats")
		if len(b.Activity) > 0 {
			t.chart("各月工作记录数", b.Activity, "条")
		}
		if len(b.States) > 0 {
			t.chart("问题按状态统计", b.FindingsChart(), "个")
		}
	}
	t.signature(b.Bureau, DateText(b.Date))
	t.pageNumbers()
	_, err = doc.WriteTo(w)
	return err
}
