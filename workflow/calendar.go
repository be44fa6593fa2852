package workflow

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The State Council's holiday arrangements, one file per year; the format is
// documented in holidays/README.md.
//
//go:embed holidays/*.txt
var holidayFiles embed.FS

// Holiday is a run of consecutive days off (放假) as announced, weekends
// included: "2018-02-15 至 2018-02-21 春节".
type Holiday struct {
	From, To time.Time // civil dates, inclusive
	Name     string
	Line     int // line in its file
}

// Days is the number of days in the run.
func (h Holiday) Days() int { return dayNumber(h.To) - dayNumber(h.From) + 1 }

// MakeupDay is a Saturday or Sunday worked in exchange for a weekday off
// (调休上班).
type MakeupDay struct {
	Date time.Time // civil date
	Name string    // the holiday it belongs to
	Line int       // line in its file
}

// Year is one year's calendar file: the days off and the make-up working days
// that fall in that year, whichever year's notice announced them (the New
// Year holiday often starts in December).
type Year struct {
	Year     int
	Source   string // the notices it follows
	File     string
	Holidays []Holiday   // sorted by date
	Makeups  []MakeupDay // sorted by date
}

// Holiday returns the holiday run containing civil date d.
func (y *Year) Holiday(d time.Time) (Holiday, bool) {
	x := dayNumber(d)
	for _, h := range y.Holidays {
		if dayNumber(h.From) <= x && x <= dayNumber(h.To) {
			return h, true
		}
	}
	return Holiday{}, false
}

// Makeup returns the make-up working day on civil date d.
func (y *Year) Makeup(d time.Time) (MakeupDay, bool) {
	x := dayNumber(d)
	for _, m := range y.Makeups {
		if dayNumber(m.Date) == x {
			return m, true
		}
	}
	return MakeupDay{}, false
}

// Calendar answers working-day questions in the bureaus' calendar: Monday to
// Friday, minus the State Council's holidays, plus its make-up working days
// (调休上班). Years without a file count weekends only; each such year is
// noted once and reported by Warnings. A Calendar is safe for concurrent use.
//
// All dates are civil dates: the year, month and day of the time.Time as
// given (as made by Date or CivilDate); the clock time is ignored.
type Calendar struct {
	base  int          // year of tables[0]
	years []*yearTable // by year - base; nil where no file

	mu      sync.Mutex
	missing map[int]bool
}

// yearTable is a year with a file, precomputed.
type yearTable struct {
	data *Year
	span span
}

// span is one calendar year as day numbers, and its working days.
type span struct {
	first int      // day number of 1 January
	days  int      // 365 or 366
	cum   []uint16 // cum[i]: working days among days 0..i of the year; nil: weekends only
}

// count is the number of working days among days 0..i of the year (i >= -1).
func (s span) count(i int) int {
	if i < 0 {
		return 0
	}
	if s.cum != nil {
		return int(s.cum[i])
	}
	return weekdaysBefore(s.first+i+1) - weekdaysBefore(s.first)
}

// NewCalendar builds a calendar from year files. A later file for the same
// year replaces an earlier one, so user files given after the embedded ones
// override them.
func NewCalendar(years ...*Year) *Calendar {
	c := &Calendar{}
	if len(years) == 0 {
		return c
	}
	lo, hi := years[0].Year, years[0].Year
	for _, y := range years {
		lo, hi = min(lo, y.Year), max(hi, y.Year)
	}
	c.base, c.years = lo, make([]*yearTable, hi-lo+1)
	for _, y := range years {
		c.years[y.Year-lo] = newYearTable(y)
	}
	return c
}

// table returns the file's table for year, or nil.
func (c *Calendar) table(year int) *yearTable {
	if i := year - c.base; i >= 0 && i < len(c.years) {
		return c.years[i]
	}
	return nil
}

func newYearTable(y *Year) *yearTable {
	first := dayNumber(Date(y.Year, 1, 1))
	days := dayNumber(Date(y.Year+1, 1, 1)) - first
	work := make([]bool, days)
	for i := range work {
		work[i] = isWeekday(first + i)
	}
	for _, h := range y.Holidays {
		for x := dayNumber(h.From); x <= dayNumber(h.To); x++ {
			work[x-first] = false
		}
	}
	for _, m := range y.Makeups {
		work[dayNumber(m.Date)-first] = true
	}
	cum := make([]uint16, days)
	n := uint16(0)
	for i, w := range work {
		if w {
			n++
		}
		cum[i] = n
	}
	return &yearTable{data: y, span: span{first: first, days: days, cum: cum}}
}

var embedded = sync.OnceValues(func() ([]*Year, error) {
	names, err := fs.Glob(holidayFiles, "holidays/*.txt")
	if err != nil {
		return nil, err
	}
	var years []*Year
	for _, name := range names {
		f, err := holidayFiles.Open(name)
		if err != nil {
			return nil, err
		}
		y, err := ParseCalendar(name, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		years = append(years, y)
	}
	return years, nil
})

// EmbeddedYears returns the year files built into ducha, in year order.
// They are shared: do not modify them.
func EmbeddedYears() []*Year {
	years, err := embedded()
	if err != nil {
		panic("workflow: embedded holiday calendar: " + err.Error()) // a build defect; tests parse every file
	}
	return slices.Clone(years)
}

// DefaultCalendar returns a new calendar of the embedded year files (with
// its own record of warnings).
func DefaultCalendar() *Calendar { return NewCalendar(EmbeddedYears()...) }

// Covers reports whether a file for year is loaded.
func (c *Calendar) Covers(year int) bool { return c.table(year) != nil }

// Year returns the loaded file for year, or nil.
func (c *Calendar) Year(year int) *Year {
	if t := c.table(year); t != nil {
		return t.data
	}
	return nil
}

// Years returns the covered years in order.
func (c *Calendar) Years() []int {
	var ys []int
	for _, t := range c.years {
		if t != nil {
			ys = append(ys, t.data.Year)
		}
	}
	return ys
}

// MissingYears returns, in order, the years without a file that some
// computation on this calendar has touched (and so counted weekends only).
func (c *Calendar) MissingYears() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ys := make([]int, 0, len(c.missing))
	for y := range c.missing {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Warnings says, once per year, which computations counted weekends only
// because no calendar file covers that year.
func (c *Calendar) Warnings() []string {
	var ws []string
	for _, y := range c.MissingYears() {
		ws = append(ws, MissingYearWarning(y))
	}
	return ws
}

// MissingYearWarning is the warning for a year without a calendar file.
func MissingYearWarning(year int) string {
	return fmt.Sprintf("没有 %d 年的节假日安排文件: 只按周末计算工作日", year)
}

// span returns year y, noting it when no file covers it.
func (c *Calendar) span(y int) span {
	if t := c.table(y); t != nil {
		return t.span
	}
	c.mu.Lock()
	if !c.missing[y] {
		if c.missing == nil {
			c.missing = make(map[int]bool)
		}
		c.missing[y] = true
	}
	c.mu.Unlock()
	first := daysFromCivil(y, 1, 1)
	return span{first: first, days: daysFromCivil(y+1, 1, 1) - first}
}

// IsWorkday reports whether civil date d is a working day.
func (c *Calendar) IsWorkday(d time.Time) bool {
	y, x := civil(d)
	s := c.span(y)
	i := x - s.first
	return s.count(i)-s.count(i-1) == 1
}

// AddWorkdays returns the date n working days after civil date d: the n-th
// working day after d for n > 0, d itself for n = 0, and the |n|-th working
// day before d for n < 0 (so a reminder "2 working days before the
// deadline" is AddWorkdays(deadline, -2)). WorkdaysBetween(d, result) is n,
// except for n < 0 from a day off, where (result, d] holds one working day
// fewer. It does not allocate once the years it crosses have been noted.
func (c *Calendar) AddWorkdays(d time.Time, n int) time.Time {
	y, x := civil(d)
	if n == 0 {
		return dateOf(x)
	}
	if n > 0 {
		s := c.span(y)
		if x == s.first+s.days-1 { // 31 December: start in the next year
			y++
			s = c.span(y)
		}
		for {
			i := x - s.first // -1 when x is the last day of the year before
			last := s.days - 1
			have := s.count(i)
			if avail := s.count(last) - have; n > avail {
				n -= avail
				x = s.first + last
				y++
				s = c.span(y)
				continue
			}
			// Each day adds at most one working day: the n-th is at i+n or later.
			target := have + n
			j := i + n + sort.Search(last-i-n+1, func(k int) bool { return s.count(i+n+k) >= target })
			return dateOf(s.first + j)
		}
	}
	n = -n
	s := c.span(y)
	if x == s.first { // 1 January: start in the year before
		y--
		s = c.span(y)
	}
	for {
		i := x - s.first // s.days when x is 1 January of the year after
		avail := s.count(i - 1)
		if n > avail {
			n -= avail
			x = s.first
			y--
			s = c.span(y)
			continue
		}
		target := avail - n + 1
		j := sort.Search(i-n+1, func(k int) bool { return s.count(k) >= target })
		return dateOf(s.first + j)
	}
}

// WorkdaysBetween returns the number of working days in (a, b] for civil
// dates a <= b, and minus the number in (b, a] when b < a.
func (c *Calendar) WorkdaysBetween(a, b time.Time) int {
	ya, x := civil(a)
	_, y := civil(b)
	sign := 1
	if y < x {
		ya, x, y, sign = b.Year(), y, x, -1
	}
	n := 0
	s := c.span(ya)
	for x < y {
		if x == s.first+s.days-1 {
			ya++
			s = c.span(ya)
		}
		i := x - s.first
		j := min(y-s.first, s.days-1)
		n += s.count(j) - s.count(i)
		x = s.first + j
	}
	return sign * n
}

// WorkdaysIn returns the number of working days in year.
func (c *Calendar) WorkdaysIn(year int) int {
	s := c.span(year)
	return s.count(s.days - 1)
}

// Day numbers: days since 1970-01-01 (a Thursday).

// civil returns the year and day number of civil date d.
func civil(d time.Time) (year, x int) {
	y, m, dd := d.Date()
	return y, daysFromCivil(y, m, dd)
}

func dayNumber(d time.Time) int {
	_, x := civil(d)
	return x
}

// daysFromCivil is the day number of y-m-d in the proleptic Gregorian
// calendar (H. Hinnant's days_from_civil).
func daysFromCivil(y int, m time.Month, d int) int {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	doy := (153*((int(m)+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func dateOf(x int) time.Time { return time.Unix(int64(x)*86400, 0).UTC() }

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// isWeekday reports whether day number x is Monday to Friday.
func isWeekday(x int) bool {
	wd := floorMod(x+4, 7) // 0 Sunday .. 6 Saturday
	return wd != 0 && wd != 6
}

func floorMod(a, b int) int {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// weekdaysBefore counts Mondays to Fridays among day numbers < x, relative
// to day 0 (negative for x < 0).
func weekdaysBefore(x int) int {
	// Residue r of a day number mod 7 is weekday (r+4)%7: Thu Fri Sat Sun Mon Tue Wed.
	prefix := [8]int{0, 1, 2, 2, 2, 3, 4, 5}
	q := floorDiv(x, 7)
	return 5*q + prefix[x-7*q]
}

// WeekdayLabel is the Chinese name of a weekday: 星期一 … 星期日.
func WeekdayLabel(w time.Weekday) string {
	return [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}[w]
}

// CalendarError is a mistake in a calendar file, at FILE:LINE:COL (columns
// count characters from 1).
type CalendarError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *CalendarError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// BadInput marks the error as the user's input (exit code 2).
func (e *CalendarError) BadInput() bool { return true }

// ReadCalendarFile parses the calendar file at path.
func ReadCalendarFile(path string) (*Year, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &CalendarError{File: path, Line: 1, Col: 1, Msg: fmt.Sprintf("无法打开节假日安排文件: %v", errors.Unwrap(err))}
	}
	defer f.Close()
	return ParseCalendar(path, f)
}

// maxHoliday bounds a holiday run, to catch typos such as 2018-02-15..2018-12-21.
const maxHoliday = 31

// ParseCalendar reads one year's calendar file (format in holidays/README.md);
// name is the file name used in errors. Every mistake is reported (up to 20),
// each as a *CalendarError at FILE:LINE:COL, joined.
func ParseCalendar(name string, r io.Reader) (*Year, error) {
	p := &calParser{name: name, y: &Year{File: name}}
	sc := bufio.NewScanner(r)
	no := 0
	for sc.Scan() {
		no++
		text := sc.Text()
		if no == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		p.line(no, strings.TrimSuffix(text, "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, &CalendarError{File: name, Line: no + 1, Col: 1, Msg: fmt.Sprintf("读取失败: %v", err)}
	}
	p.finish()
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *CalendarError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		errs := make([]error, 0, 20)
		for _, e := range p.errs[:min(len(p.errs), 20)] {
			errs = append(errs, e)
		}
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(p.y.Holidays, func(a, b Holiday) int { return a.From.Compare(b.From) })
	slices.SortFunc(p.y.Makeups, func(a, b MakeupDay) int { return a.Date.Compare(b.Date) })
	return p.y, nil
}

type calParser struct {
	name    string
	y       *Year
	errs    []*CalendarError
	seen    map[string]int // key -> line
	section string         // "holidays" or "workdays"
	entries []calEntry
}

// calEntry is a holiday run or a make-up day, where it was written.
type calEntry struct {
	line, col int
	from, to  int // day numbers
	makeup    bool
}

func (p *calParser) errorf(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &CalendarError{File: p.name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// col is the 1-based character column of byte offset off in text.
func col(text string, off int) int { return utf8.RuneCountInString(text[:off]) + 1 }

// stripComment cuts a '#' comment that starts the line or follows a space.
func stripComment(text string) string {
	for i := 0; i < len(text); i++ {
		if text[i] == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t') {
			return text[:i]
		}
	}
	return text
}

func (p *calParser) line(no int, raw string) {
	text := strings.TrimRight(stripComment(raw), " \t")
	body := strings.TrimLeft(text, " \t")
	if body == "" {
		return
	}
	if len(body) == len(text) {
		p.key(no, text)
		return
	}
	p.item(no, text, len(text)-len(body))
}

func (p *calParser) key(no int, text string) {
	i := strings.IndexByte(text, ':')
	if i < 0 {
		p.errorf(no, 1, "应为 \"键: 值\" (year:, source:, holidays:, workdays:), 或以 \"- \" 开头的缩进条目")
		return
	}
	key := text[:i]
	vOff := i + 1
	for vOff < len(text) && (text[vOff] == ' ' || text[vOff] == '\t') {
		vOff++
	}
	value := text[vOff:]
	switch key {
	case "year", "source", "holidays", "workdays":
	default:
		p.errorf(no, 1, "未知的键 %q; 可用的键: year, source, holidays, workdays", key)
		return
	}
	if prev, dup := p.seen[key]; dup {
		p.errorf(no, 1, "%s: 重复 (第 %d 行已有)", key, prev)
		return
	}
	if p.seen == nil {
		p.seen = map[string]int{}
	}
	p.seen[key] = no
	if key != "year" && p.seen["year"] == 0 {
		p.errorf(no, 1, "year: 必须写在最前面 (例如 year: 2018)")
	}
	p.section = ""
	switch key {
	case "year":
		y, err := strconv.Atoi(value)
		if err != nil || len(value) != 4 || y < 1900 {
			p.errorf(no, col(text, vOff), "年份 %q 无效: 应为四位数的年份, 例如 2018", value)
			return
		}
		p.y.Year = y
	case "source":
		if value == "" {
			p.errorf(no, col(text, vOff), "source: 缺少内容 (所依据的通知)")
		}
		p.y.Source = value
	case "holidays", "workdays":
		if value != "" {
			p.errorf(no, col(text, vOff), "%s: 后面不应有内容; 条目写在下面的缩进行, 以 \"- \" 开头", key)
		}
		p.section = key
	}
}

func (p *calParser) item(no int, text string, indent int) {
	if !strings.HasPrefix(text[indent:], "- ") {
		p.errorf(no, indent+1, "缩进行应以 \"- \" 开头, 例如 \"  - 2018-02-15..2018-02-21 春节\"")
		return
	}
	if p.section == "" {
		p.errorf(no, indent+1, "条目前缺少 holidays: 或 workdays:")
		return
	}
	off := indent + 2
	for off < len(text) && (text[off] == ' ' || text[off] == '\t') {
		off++
	}
	end := off
	for end < len(text) && text[end] != ' ' && text[end] != '\t' {
		end++
	}
	spec := text[off:end]
	name := strings.TrimSpace(text[end:])
	if spec == "" {
		p.errorf(no, col(text, off), "缺少日期")
		return
	}
	fromS, toS, isRange := strings.Cut(spec, "..")
	from, ok := p.date(no, col(text, off), fromS)
	if !ok {
		return
	}
	to := from
	if isRange {
		if p.section == "workdays" {
			p.errorf(no, col(text, off), "调休上班日只能是单独一天, 不能是 %q 这样的区间", spec)
			return
		}
		toCol := col(text, off+len(fromS)+2)
		if to, ok = p.date(no, toCol, toS); !ok {
			return
		}
		switch {
		case to < from:
			p.errorf(no, toCol, "区间结束日 %s 早于开始日 %s", toS, fromS)
			return
		case to-from+1 > maxHoliday:
			p.errorf(no, toCol, "放假区间 %s 长达 %d 天; 一次放假最多 %d 天, 请检查日期", spec, to-from+1, maxHoliday)
			return
		}
	}
	if name == "" {
		p.errorf(no, col(text, end), "缺少名称, 例如 \"%s 春节\"", spec)
		return
	}
	e := calEntry{line: no, col: col(text, off), from: from, to: to, makeup: p.section == "workdays"}
	if e.makeup {
		if isWeekday(from) {
			p.errorf(no, e.col, "%s 是%s; 调休上班日应是星期六或星期日", fromS, WeekdayLabel(dateOf(from).Weekday()))
			return
		}
		p.y.Makeups = append(p.y.Makeups, MakeupDay{Date: dateOf(from), Name: name, Line: no})
	} else {
		p.y.Holidays = append(p.y.Holidays, Holiday{From: dateOf(from), To: dateOf(to), Name: name, Line: no})
	}
	p.entries = append(p.entries, e)
}

// date parses a YYYY-MM-DD date of the file's year.
func (p *calParser) date(no, c int, s string) (int, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		p.errorf(no, c, "日期 %q 无效: 应为 YYYY-MM-DD 格式的日期, 例如 2018-02-15", s)
		return 0, false
	}
	if p.y.Year != 0 && t.Year() != p.y.Year {
		p.errorf(no, c, "日期 %s 不在本文件的年份 %d 内; 每个文件只写本年的日期", s, p.y.Year)
		return 0, false
	}
	return dayNumber(t), true
}

func (p *calParser) finish() {
	if p.seen["year"] == 0 {
		p.errorf(1, 1, "缺少 year: 行 (例如 year: 2018)")
	}
	for i, e := range p.entries {
	earlier:
		for _, o := range p.entries[:i] {
			if e.from > o.to || o.from > e.to {
				continue
			}
			switch {
			case e.makeup && o.makeup:
				p.errorf(e.line, e.col, "调休上班日 %s 重复 (第 %d 行已有)", dateOf(e.from).Format(time.DateOnly), o.line)
			case !e.makeup && !o.makeup:
				p.errorf(e.line, e.col, "放假区间与第 %d 行的放假区间重叠", o.line)
			default:
				p.errorf(e.line, e.col, "放假日与调休上班日重叠 (见第 %d 行)", o.line)
			}
			break earlier
		}
	}
}
