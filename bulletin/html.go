package bulletin

import (
	"bufio"
	"embed"
	"html/template"
	"io"
)

//go:embed templates/*.html
var templateFS embed.FS

var funcs = template.FuncMap{
	"date":    DateText,
	"yuan":    YuanText,
	"ordinal": chineseOrdinal,
	"num":     numText,
	"chart":   BarChartSVG,
	"inc":     func(i int) int { return i + 1 },
}

// templates holds one template set per document, each with the shared layout.
var templates = func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	m := map[string]*template.Template{}
	for _, name := range []string{"bulletin.html", "summary.html", "cards.html"} {
		m[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name))
	}
	return m
}()

func render(w io.Writer, name string, data any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := templates[name].ExecuteTemplate(bw, "layout.html", data); err != nil {
		return err
	}
	return bw.Flush()
}

// page is what the layout prints around a document's body.
type page struct {
	Title  string // <title>
	Bureau string // red header, first line
	Kind   string // red header, second word: 督查通报, 工作统计
	Number string // issue number under the header; may be empty
	Date   string
	Body   any // the document
}

type bulletinView struct {
	*Bulletin
	Sec map[string]string
}

// WriteHTML writes the bulletin as a self-contained HTML document laid out
// like an official one: red header, A4 pages, 仿宋-like body face, SVG charts.
func (b *Bulletin) WriteHTML(w io.Writer) error {
	return render(w, "bulletin.html", page{
		Title: b.Number.String() + " " + b.Headline(), Bureau: b.Bureau, Kind: "督查通报",
		Number: b.Number.String(), Date: DateText(b.Date),
		Body: bulletinView{b, b.sectionTitles()},
	})
}

type summaryView struct {
	*Summary
	Sections []summarySection
}

// WriteHTML writes the summary in the same document layout, with charts.
func (s *Summary) WriteHTML(w io.Writer) error {
	return render(w, "summary.html", page{
		Title: s.Bureau + s.Title(), Bureau: s.Bureau, Kind: "工作统计",
		Date: DateText(s.To), Body: summaryView{s, s.sections()},
	})
}

// sectionView exposes a summary section to the template.
func (s summarySection) Title() string    { return s.title }
func (s summarySection) Text() string     { return s.text }
func (s summarySection) Formula() string  { return s.formula }
func (s summarySection) Head() []string   { return s.head }
func (s summarySection) Rows() [][]string { return s.rows }
func (s summarySection) Chart() []Bar     { return s.chart }
func (s summarySection) Unit() string     { return s.unit }
