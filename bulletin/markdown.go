package bulletin

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// mdw writes Markdown, remembering the first error.
type mdw struct {
	w   *bufio.Writer
	err error
}

func (m *mdw) line(parts ...string) {
	for _, p := range parts {
		m.w.WriteString(p)
	}
	m.w.WriteByte('\n')
}

func (m *mdw) para(s string) {
	if s != "" {
		m.line(s)
		m.line()
	}
}

func (m *mdw) table(head []string, rows [][]string) {
	m.row(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	m.row(sep)
	for _, r := range rows {
		m.row(r)
	}
	m.line()
}

func (m *mdw) row(cells []string) {
	m.w.WriteString("|")
	for _, c := range cells {
		m.w.WriteString(" ")
		m.w.WriteString(mdCell(c))
		m.w.WriteString(" |")
	}
	m.w.WriteByte('\n')
}

func (m *mdw) flush() error { return m.w.Flush() }

var mdCellEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

func mdCell(s string) string { return mdCellEscaper.Replace(s) }

// WriteMarkdown writes the bulletin as Markdown.
func (b *Bulletin) WriteMarkdown(w io.Writer) error {
	m := &mdw{w: bufio.NewWriter(w)}
	m.line("# ", b.Bureau, "督查通报")
	m.line()
	m.line("**", b.Number.String(), "**　", b.Bureau, "　", DateText(b.Date))
	m.line()
	m.line("## ", b.Headline())
	m.line()
	if c := b.Corrects; c != nil {
		m.para(c.Text())
	}
	sec := b.sectionTitles()
	section := func(key string) {
		m.line("### ", sec[key])
		m.line()
	}
	section("round")
	m.para(b.RoundText())

	section("problems")
	if len(b.Problems) == 0 {
		m.para("本次督查未发现问题。")
	} else {
		m.line("**各乡镇问题统计**")
		m.line()
		m.table([]string{"乡镇", "问题数", "涉及村数", "涉及法律顾问"}, tallyRows(b.ByTownship()))
		m.line("**各督查事项问题统计**")
		m.line()
		m.table([]string{"督查事项", "问题数", "涉及村数", "涉及法律顾问"}, tallyRows(b.ByRule()))
		m.line("**问题清单**")
		m.line()
		for _, g := range b.ProblemsByTownship() {
			m.line("#### ", g.Township, "（", fmt.Sprint(len(g.Problems)), "个）")
			m.line()
			m.table(problemHead, problemRows(g.Problems))
		}
	}
	if e := b.Earlier; e != nil {
		section("earlier")
		m.para(e.Text())
		for _, l := range e.Lists() {
			if len(l.Items) == 0 {
				continue
			}
			m.line("**", l.Title, "（", fmt.Sprint(len(l.Items)), "个）**")
			m.line()
			m.table(earlierHead, earlierRows(l.Items))
		}
	}
	if len(b.GoodExamples) > 0 {
		section("good")
		for _, g := range b.GoodExamples {
			m.para(g)
		}
	}
	if len(b.Requirements) > 0 {
		section("requirements")
		for i, r := range b.Requirements {
			m.para(fmt.Sprintf("（%s）%s", chineseOrdinal(i+1), r))
		}
	}
	if len(b.Activity) > 0 || len(b.States) > 0 {
		section("stats")
		if len(b.Activity) > 0 {
			m.line("**各月工作记录数**")
			m.line()
			m.table([]string{"月份", "记录数"}, barRows(b.Activity))
		}
		if len(b.States) > 0 {
			m.line("**问题按状态统计**")
			m.line()
			m.table([]string{"状态", "问题数"}, barRows(b.FindingsChart()))
		}
	}
	m.line(b.Bureau)
	m.line()
	m.line(DateText(b.Date))
	return m.flush()
}

// sectionTitles numbers the sections the bulletin has: key → "二、发现的问题".
func (b *Bulletin) sectionTitles() map[string]string {
	all := []struct {
		key, title string
		on         bool
	}{
		{"round", "督查基本情况", true},
		{"problems", "发现的问题", true},
		{"earlier", "前期问题整改情况", b.Earlier != nil},
		{"good", "典型做法", len(b.GoodExamples) > 0},
		{"requirements", "下一步工作要求", len(b.Requirements) > 0},
		{"stats", "附：统计", len(b.Activity) > 0 || len(b.States) > 0},
	}
	m := map[string]string{}
	n := 0
	for _, s := range all {
		if s.on {
			n++
			m[s.key] = chineseOrdinal(n) + "、" + s.title
		}
	}
	return m
}

var problemHead = []string{"村", "法律顾问", "督查事项", "严重程度", "问题", "整改期限"}

func problemRows(ps []Finding) [][]string {
	rows := make([][]string, len(ps))
	for i, p := range ps {
		rows[i] = []string{p.Village, p.Adviser, p.Rule, p.Severity, p.Message, DateText(p.Deadline)}
	}
	return rows
}

var earlierHead = []string{"乡镇", "村", "法律顾问", "督查事项", "发现日期", "情况"}

func earlierRows(fs []Finding) [][]string {
	rows := make([][]string, len(fs))
	for i, f := range fs {
		rows[i] = []string{f.Township, f.Village, f.Adviser, f.Rule, DateText(f.Found), f.History}
	}
	return rows
}

// EarlierList is one list of earlier findings under its heading.
type EarlierList struct {
	Title string
	Items []Finding
}

// Lists are the four lists in print order.
func (e *Earlier) Lists() []EarlierList {
	return []EarlierList{
		{"已整改销号", e.SignedOff}, {"逾期未整改", e.Overdue},
		{"约谈", e.Interviewed}, {"问责", e.Accountable},
	}
}

func tallyRows(ts []Tally) [][]string {
	rows := make([][]string, len(ts))
	for i, t := range ts {
		rows[i] = []string{t.Name, fmt.Sprint(t.Problems), fmt.Sprint(t.Villages), fmt.Sprint(t.Advisers)}
	}
	return rows
}

func barRows(bs []Bar) [][]string {
	rows := make([][]string, len(bs))
	for i, b := range bs {
		rows[i] = []string{b.Label, numText(b.Value)}
	}
	return rows
}

// WriteMarkdown writes the summary as Markdown.
func (s *Summary) WriteMarkdown(w io.Writer) error {
	m := &mdw{w: bufio.NewWriter(w)}
	m.line("# ", s.Bureau, s.Title())
	m.line()
	m.para(s.Overview())
	for i, sec := range s.sections() {
		m.line("## ", chineseOrdinal(i+1), "、", sec.title)
		m.line()
		m.para(sec.text)
		if sec.formula != "" {
			m.para("计分公式：" + sec.formula + "。同分者名次相同，按顾问编号排列。")
		}
		if sec.head != nil {
			m.table(sec.head, sec.rows)
		}
	}
	return m.flush()
}

// summarySection is one section of the summary, shared by the renderers.
type summarySection struct {
	title   string
	text    string
	formula string
	head    []string
	rows    [][]string
	chart   []Bar // drawn by the HTML renderer
	unit    string
}

func (s *Summary) sections() []summarySection {
	var secs []summarySection
	kinds := summarySection{title: "主要成效", text: s.Achievements(), head: []string{"类别", "数量", "单位"}}
	for _, r := range s.kindRows() {
		kinds.rows = append(kinds.rows, r[:])
	}
	secs = append(secs, kinds)

	towns := summarySection{title: "各乡镇情况", head: append([]string{"乡镇", "村数", "记录数"}, tableHead()...)}
	for _, r := range s.Townships {
		towns.rows = append(towns.rows, append([]string{r.Name, fmt.Sprint(r.Villages), fmt.Sprint(r.Records)}, tableCells(r.Totals)...))
	}
	secs = append(secs, towns)

	months := summarySection{title: "各月情况", head: append([]string{"月份", "记录数"}, tableHead()...),
		chart: s.ActivityChart(), unit: "条"}
	for _, r := range s.Months {
		months.rows = append(months.rows, append([]string{r.Name, fmt.Sprint(r.Records)}, tableCells(r.Totals)...))
	}
	secs = append(secs, months)

	if t := s.InspectionText(); t != "" {
		insp := summarySection{title: "督查与整改", text: t}
		if f := s.Findings; f != nil {
			insp.head = []string{"状态", "问题数"}
			insp.rows = barRows(s.FindingsChart())
			insp.chart, insp.unit = s.FindingsChart(), "个"
		}
		secs = append(secs, insp)
	}

	rank := summarySection{title: "优秀法律顾问排名", formula: FormulaText(s.Formula),
		head: []string{"名次", "法律顾问", "执业机构", "服务村数", "分值"}}
	if len(s.Ranking) == 0 {
		rank.text = "本期间无可计分的工作记录。"
	}
	for _, r := range s.Ranking {
		rank.rows = append(rank.rows, []string{fmt.Sprint(r.Rank), r.Name, r.Firm, fmt.Sprint(r.Villages), numText(r.Points)})
	}
	secs = append(secs, rank)
	return secs
}

// WriteDrillMarkdown lists the records behind a number.
func WriteDrillMarkdown(w io.Writer, title string, recs []Record) error {
	m := &mdw{w: bufio.NewWriter(w)}
	m.line("# ", title)
	m.line()
	var count, fen int64
	rows := make([][]string, len(recs))
	for i, r := range recs {
		count += r.Count
		fen += r.AmountFen
		rows[i] = []string{DateText(r.Date), r.Township, r.Village, r.Adviser, r.Kind.Label(), fmt.Sprint(r.Count), YuanValue(r.AmountFen), r.Note}
	}
	m.para(fmt.Sprintf("共%d条记录，数量合计%d，挽回经济损失合计%s元。", len(recs), count, YuanValue(fen)))
	m.table([]string{"日期", "乡镇", "村", "法律顾问", "类别", "数量", "挽回损失(元)", "备注"}, rows)
	return m.flush()
}

// chineseOrdinal is 一, 二, … 九十九 for section numbers.
func chineseOrdinal(n int) string {
	digits := []string{"", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	switch {
	case n <= 0 || n >= 100:
		return fmt.Sprint(n)
	case n < 10:
		return digits[n]
	case n < 20:
		return "十" + digits[n%10]
	default:
		return digits[n/10] + "十" + digits[n%10]
	}
}
