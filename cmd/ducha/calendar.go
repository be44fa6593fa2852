package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ducha/workflow"
)

const calendarUsage = "show YEAR | add DATE N  [--json] [--calendar FILE]…"

func init() {
	register(&command{
		name:    "calendar",
		usage:   calendarUsage,
		summary: "节假日安排与工作日: 列出某年的放假和调休上班日, 或计算 N 个工作日之后的日期",
		run:     runCalendar,
	})
}

// calFiles is a repeatable string flag.
type calFiles []string

func (f *calFiles) String() string     { return strings.Join(*f, ",") }
func (f *calFiles) Set(s string) error { *f = append(*f, s); return nil }

// calNegative matches an argument such as -3, which the flag package would
// otherwise take for a flag.
var calNegative = regexp.MustCompile(`^-[0-9]+$`)

const calNegMark = "\x00"

func runCalendar(e *Env, args []string) error {
	fs := newFlags(e, "calendar", calendarUsage)
	asJSON := fs.Bool("json", false, "输出 JSON")
	var files calFiles
	fs.Var(&files, "calendar", "额外的节假日安排文件 (格式见 workflow/holidays/README.md), 可重复; 同一年的文件取代内置文件")
	marked := make([]string, len(args))
	for i, a := range args {
		if calNegative.MatchString(a) {
			a = calNegMark + a
		}
		marked[i] = a
	}
	pos, err := parseFlags(fs, marked)
	if err != nil {
		return err
	}
	for i, p := range pos {
		pos[i] = strings.TrimPrefix(p, calNegMark)
	}
	if len(pos) == 0 {
		return usagef("缺少子命令: ducha calendar %s", calendarUsage)
	}
	cal, err := calendarWith(e, files)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "show":
		if len(pos) != 2 {
			return usagef("用法: ducha calendar show YEAR [--json]")
		}
		year, err := strconv.Atoi(pos[1])
		if err != nil || len(pos[1]) != 4 || year < 1000 {
			return usagef("年份 %q 无效: 应为四位数的年份, 例如 2018", pos[1])
		}
		return calendarShow(e, cal, year, *asJSON)
	case "add":
		if len(pos) != 3 {
			return usagef("用法: ducha calendar add DATE N [--json]  (例如 ducha calendar add 2018-02-09 10)")
		}
		d, err := time.Parse(time.DateOnly, pos[1])
		if err != nil {
			return usagef("日期 %q 无效: 应为 YYYY-MM-DD 格式的日期, 例如 2018-02-09", pos[1])
		}
		n, err := strconv.Atoi(pos[2])
		if err != nil || n > 100000 || n < -100000 {
			return usagef("工作日数 %q 无效: 应为整数 (可为负数, 表示之前的工作日), 绝对值不超过 100000", pos[2])
		}
		return calendarAdd(e, cal, d, n, *asJSON)
	}
	return usagef("未知的子命令 %q: ducha calendar %s", pos[0], calendarUsage)
}

// calendarWith is the configured calendar (embedded files plus the config's
// `calendars:`) with files layered on top: a file for a year already present
// replaces it; two of files for one year are an error.
func calendarWith(e *Env, files []string) (*workflow.Calendar, error) {
	base, err := e.Calendar()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return base, nil
	}
	var years []*workflow.Year
	for _, y := range base.Years() {
		years = append(years, base.Year(y))
	}
	seen := map[int]string{}
	for _, f := range files {
		y, err := workflow.ReadCalendarFile(f)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[y.Year]; dup {
			return nil, usagef("节假日安排文件 %s 和 %s 都是 %d 年的; 每年只能给一个文件", prev, f, y.Year)
		}
		seen[y.Year] = f
		years = append(years, y)
	}
	return workflow.NewCalendar(years...), nil
}

func calWeekday(d time.Time) string { return workflow.WeekdayLabel(d.Weekday()) }

func calYMD(d time.Time) string { return d.Format(time.DateOnly) }

// calDayNote says what the calendar makes of civil date d: "春节放假",
// "春节调休上班", "周末" or "".
func calDayNote(cal *workflow.Calendar, d time.Time) string {
	if y := cal.Year(d.Year()); y != nil {
		if m, ok := y.Makeup(d); ok {
			return m.Name + "调休上班"
		}
		if h, ok := y.Holiday(d); ok {
			return h.Name + "放假"
		}
	}
	if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		return "周末"
	}
	return ""
}

// calWarn prints the calendar's warnings to stderr.
func calWarn(e *Env, cal *workflow.Calendar) []string {
	ws := cal.Warnings()
	for _, w := range ws {
		fmt.Fprintf(e.Stderr, "ducha calendar: 警告: %s\n", w)
	}
	if ws == nil {
		ws = []string{}
	}
	return ws
}

type jsonHoliday struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Name        string `json:"name"`
	Days        int    `json:"days"`
	WeekdaysOff int    `json:"weekdays_off"`
}

type jsonMakeup struct {
	Date    string `json:"date"`
	Weekday string `json:"weekday"`
	Name    string `json:"name"`
}

type jsonYear struct {
	Year        int           `json:"year"`
	Covered     bool          `json:"covered"`
	File        string        `json:"file,omitempty"`
	Source      string        `json:"source,omitempty"`
	Holidays    []jsonHoliday `json:"holidays"`
	Workdays    []jsonMakeup  `json:"workdays"`
	Weekdays    int           `json:"weekdays"`
	WorkingDays int           `json:"working_days"`
	Warnings    []string      `json:"warnings"`
}

func calendarShow(e *Env, cal *workflow.Calendar, year int, asJSON bool) error {
	out := jsonYear{Year: year, Covered: cal.Covers(year), Holidays: []jsonHoliday{}, Workdays: []jsonMakeup{}}
	weekendsOnly := workflow.NewCalendar()
	out.Weekdays = weekendsOnly.WorkdaysIn(year)
	out.WorkingDays = cal.WorkdaysIn(year)
	weekdaysOff := 0
	if y := cal.Year(year); y != nil {
		out.File, out.Source = y.File, y.Source
		for _, h := range y.Holidays {
			off := weekendsOnly.WorkdaysBetween(h.From.AddDate(0, 0, -1), h.To)
			weekdaysOff += off
			out.Holidays = append(out.Holidays, jsonHoliday{calYMD(h.From), calYMD(h.To), h.Name, h.Days(), off})
		}
		for _, m := range y.Makeups {
			out.Workdays = append(out.Workdays, jsonMakeup{calYMD(m.Date), calWeekday(m.Date), m.Name})
		}
	}
	out.Warnings = calWarn(e, cal)
	if asJSON {
		return calendarJSON(e.Stdout, out)
	}
	w := e.Stdout
	y := cal.Year(year)
	if y == nil {
		fmt.Fprintln(w, workflow.MissingYearWarning(year))
		fmt.Fprintf(w, "全年工作日 %d 天 (星期一至星期五)\n", out.WorkingDays)
		return nil
	}
	fmt.Fprintf(w, "%d 年节假日安排\n", year)
	fmt.Fprintf(w, "依据: %s (%s)\n", y.Source, y.File)
	fmt.Fprintln(w, "\n放假:")
	for _, h := range y.Holidays {
		fmt.Fprintf(w, "  %s %s 放假 %d 天%s\n", calPad(calHolidayDates(h), 24), h.Name, h.Days(), calCrossYear(cal, h))
	}
	fmt.Fprintln(w, "\n调休上班:")
	if len(y.Makeups) == 0 {
		fmt.Fprintln(w, "  (无)")
	}
	for _, m := range y.Makeups {
		fmt.Fprintf(w, "  %s (%s) %s调休上班\n", calYMD(m.Date), calWeekday(m.Date), m.Name)
	}
	fmt.Fprintf(w, "\n全年工作日 %d 天 (星期一至星期五 %d 天, 其中放假 %d 天; 调休上班 %d 天)\n",
		out.WorkingDays, out.Weekdays, weekdaysOff, len(y.Makeups))
	return nil
}

func calHolidayDates(h workflow.Holiday) string {
	if h.From.Equal(h.To) {
		return fmt.Sprintf("%s (%s)", calYMD(h.From), calWeekday(h.From))
	}
	return calYMD(h.From) + " 至 " + calYMD(h.To)
}

// calCrossYear describes a New Year holiday split between two loaded years:
// " (连同 2019 年共 3 天: 2018-12-30 至 2019-01-01)".
func calCrossYear(cal *workflow.Calendar, h workflow.Holiday) string {
	from, to := h.From, h.To
	if from.Month() == time.January && from.Day() == 1 {
		if y := cal.Year(from.Year() - 1); y != nil {
			if p, ok := y.Holiday(from.AddDate(0, 0, -1)); ok && p.Name == h.Name {
				from = p.From
			}
		}
	}
	if to.Month() == time.December && to.Day() == 31 {
		if y := cal.Year(to.Year() + 1); y != nil {
			if n, ok := y.Holiday(to.AddDate(0, 0, 1)); ok && n.Name == h.Name {
				to = n.To
			}
		}
	}
	if from.Equal(h.From) && to.Equal(h.To) {
		return ""
	}
	other := from.Year()
	if other == h.From.Year() {
		other = to.Year()
	}
	days := int(to.Sub(from).Hours()/24) + 1
	return fmt.Sprintf(" (连同 %d 年共 %d 天: %s 至 %s)", other, days, calYMD(from), calYMD(to))
}

// calPad pads s with spaces to w terminal columns (CJK characters take two).
func calPad(s string, w int) string {
	n := 0
	for _, r := range s {
		if r >= 0x2E80 {
			n += 2
		} else {
			n++
		}
	}
	if n >= w {
		return s
	}
	return s + strings.Repeat(" ", w-n)
}

type jsonAdd struct {
	Date     string   `json:"date"`
	N        int      `json:"n"`
	Result   string   `json:"result"`
	Weekday  string   `json:"weekday"`
	Workday  bool     `json:"workday"`
	Note     string   `json:"note,omitempty"`
	Warnings []string `json:"warnings"`
}

func calendarAdd(e *Env, cal *workflow.Calendar, d time.Time, n int, asJSON bool) error {
	r := cal.AddWorkdays(d, n)
	out := jsonAdd{Date: calYMD(d), N: n, Result: calYMD(r), Weekday: calWeekday(r), Workday: cal.IsWorkday(r), Note: calDayNote(cal, r)}
	out.Warnings = calWarn(e, cal)
	if asJSON {
		return calendarJSON(e.Stdout, out)
	}
	var what string
	switch {
	case n > 0:
		what = fmt.Sprintf("%s (%s) 之后第 %d 个工作日", out.Date, calWeekday(d), n)
	case n < 0:
		what = fmt.Sprintf("%s (%s) 之前第 %d 个工作日", out.Date, calWeekday(d), -n)
	default:
		what = "当天"
		if !out.Workday {
			what += ", 不是工作日"
		}
	}
	if out.Note != "" && out.Note != "周末" {
		what += "; " + out.Note
	}
	fmt.Fprintf(e.Stdout, "%s %s (%s)\n", out.Result, out.Weekday, what)
	return nil
}

func calendarJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
