package workflow

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAddWorkdays(t *testing.T) {
	c := DefaultCalendar()
	cases := []struct {
		from string
		n    int
		want string
	}{
		// Spring Festival 2018: 2/15-2/21 off, Sunday 2/11 and Saturday 2/24 worked.
		{"2018-02-09", 1, "2018-02-11"}, // Friday -> the make-up Sunday
		{"2018-02-10", 1, "2018-02-11"},
		{"2018-02-11", 1, "2018-02-12"},
		{"2018-02-12", 2, "2018-02-14"},
		{"2018-02-12", 3, "2018-02-22"}, // skips the whole holiday
		{"2018-02-12", 5, "2018-02-24"}, // the make-up Saturday
		{"2018-02-12", 6, "2018-02-26"},
		{"2018-02-15", 1, "2018-02-22"}, // from inside the holiday
		{"2018-02-14", 10, "2018-03-06"},
		// National Day 2018: 10/1-10/7 off, 9/29 and 9/30 worked.
		{"2018-09-28", 1, "2018-09-29"},
		{"2018-09-28", 2, "2018-09-30"},
		{"2018-09-28", 3, "2018-10-08"},
		{"2018-09-30", 10, "2018-10-19"},
		// Year crossover: 2018-12-29 (Sat) worked, 12-30..2019-01-01 off.
		{"2018-12-28", 1, "2018-12-29"},
		{"2018-12-29", 1, "2019-01-02"},
		{"2018-12-27", 3, "2019-01-02"},
		{"2019-12-31", 1, "2020-01-02"}, // 2020-01-01 off
		{"2025-12-31", 1, "2026-01-04"}, // 2026: 1/1-1/3 off, Sunday 1/4 worked
		{"2025-12-31", 2, "2026-01-05"},
		// 2020: Spring Festival extended to 2/2, so Saturday 2/1 was not worked.
		{"2020-01-23", 1, "2020-02-03"},
		{"2020-01-18", 1, "2020-01-19"},
		// n = 0 is the date itself, working day or not.
		{"2018-02-16", 0, "2018-02-16"},
		{"2018-02-11", 0, "2018-02-11"},
		// n < 0: the |n|-th working day before.
		{"2018-02-22", -1, "2018-02-14"},
		{"2018-02-12", -1, "2018-02-11"},
		{"2018-02-11", -1, "2018-02-09"},
		{"2019-01-02", -1, "2018-12-29"},
		{"2019-01-02", -2, "2018-12-28"},
		{"2026-01-05", -1, "2026-01-04"},
		{"2026-01-05", -2, "2025-12-31"},
		// Long spans cross several years.
		{"2018-01-01", 250, "2018-12-29"},
		{"2018-01-01", 251, "2019-01-02"},
		{"2018-12-31", 250 + 249, "2020-12-31"},
	}
	for _, tc := range cases {
		got := c.AddWorkdays(day(tc.from), tc.n)
		if got.Format(time.DateOnly) != tc.want {
			t.Errorf("AddWorkdays(%s, %d) = %s, want %s", tc.from, tc.n, got.Format(time.DateOnly), tc.want)
		}
		if got.Location() != time.UTC || got.Hour() != 0 {
			t.Errorf("AddWorkdays(%s, %d) = %v, want a civil date at 00:00 UTC", tc.from, tc.n, got)
		}
		if b := c.WorkdaysBetween(day(tc.from), got); b != tc.n {
			t.Errorf("WorkdaysBetween(%s, %s) = %d, want %d", tc.from, tc.want, b, tc.n)
		}
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("covered years only, yet warnings %q", w)
	}
}

func TestIsWorkday(t *testing.T) {
	c := DefaultCalendar()
	for s, want := range map[string]bool{
		"2018-02-11": true,  // make-up Sunday
		"2018-02-24": true,  // make-up Saturday
		"2018-02-15": false, // 除夕
		"2018-02-21": false,
		"2018-02-22": true,
		"2018-02-17": false, // an ordinary Saturday inside the holiday
		"2018-03-03": false, // an ordinary Saturday
		"2018-03-05": true,
		"2018-12-31": false, // Monday, off for New Year 2019
		"2019-01-01": false,
		"2020-02-01": false, // the cancelled make-up Saturday
		"2024-02-09": true,  // 除夕 2024 was not a statutory day off
		"2025-01-28": false, // 除夕 2025 is
		"2026-10-10": true,
	} {
		if got := c.IsWorkday(day(s)); got != want {
			t.Errorf("IsWorkday(%s) = %v, want %v", s, got, want)
		}
	}
	// The clock time is ignored: the date fields are the civil date.
	if c.IsWorkday(time.Date(2018, 2, 11, 23, 59, 0, 0, Shanghai)) != true {
		t.Errorf("IsWorkday(2018-02-11 23:59 +0800) = false")
	}
}

// TestWorkdaysPerYear checks each year's total against the figure worked out
// by hand (Mondays to Fridays, minus weekdays off, plus make-up days), and
// each file against the statutory number of days off: 11 until 2024, 13 from
// 2025. Weekdays off minus make-up days equals that number, since a
// statutory day on a weekend is given back on a weekday and every other
// weekday off is paid back by a make-up day. 2020 is 2 more: the extension
// of the Spring Festival took Friday 1/31 off and cancelled the make-up
// Saturday 2/1.
func TestWorkdaysPerYear(t *testing.T) {
	c := DefaultCalendar()
	want := map[int]int{2018: 250, 2019: 250, 2020: 249, 2021: 250, 2022: 249, 2023: 249, 2024: 251, 2025: 248, 2026: 248}
	for y := 2018; y <= 2026; y++ {
		if got := c.WorkdaysIn(y); got != want[y] {
			t.Errorf("WorkdaysIn(%d) = %d, want %d", y, got, want[y])
		}
		if got := c.WorkdaysBetween(Date(y-1, 12, 31), Date(y, 12, 31)); got != want[y] {
			t.Errorf("WorkdaysBetween over %d = %d, want %d", y, got, want[y])
		}
		statutory := 11
		if y >= 2025 {
			statutory = 13
		}
		if y == 2020 {
			statutory += 2
		}
		off := 0
		yr := c.Year(y)
		for _, h := range yr.Holidays {
			for d := h.From; !d.After(h.To); d = d.AddDate(0, 0, 1) {
				if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
					off++
				}
			}
		}
		if got := off - len(yr.Makeups); got != statutory {
			t.Errorf("%d: %d weekdays off - %d make-up days = %d, want %d statutory days", y, off, len(yr.Makeups), got, statutory)
		}
	}
}

func TestEmbeddedFiles(t *testing.T) {
	c := DefaultCalendar()
	if got := fmt.Sprint(c.Years()); got != "[2018 2019 2020 2021 2022 2023 2024 2025 2026]" {
		t.Fatalf("embedded years %s", got)
	}
	for _, y := range EmbeddedYears() {
		if want := fmt.Sprintf("holidays/%d.txt", y.Year); y.File != want {
			t.Errorf("year %d is in %s, want %s", y.Year, y.File, want)
		}
		if y.Source == "" {
			t.Errorf("%s: no source", y.File)
		}
		for _, m := range y.Makeups {
			if wd := m.Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
				t.Errorf("%s:%d: make-up day %s is a %v", y.File, m.Line, m.Date.Format(time.DateOnly), wd)
			}
		}
		names := map[string]bool{}
		for _, h := range y.Holidays {
			for _, n := range strings.Split(h.Name, "、") {
				names[n] = true
			}
			if h.Days() > 10 {
				t.Errorf("%s:%d: %s lasts %d days", y.File, h.Line, h.Name, h.Days())
			}
		}
		for _, n := range []string{"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"} {
			if !names[n] {
				t.Errorf("%s: no %s", y.File, n)
			}
		}
		mustBeOff := map[string]string{"国庆节": "10-01 10-02 10-03", "劳动节": "05-01", "元旦": "01-01"}
		for name, days := range mustBeOff {
			for _, md := range strings.Fields(days) {
				d := day(fmt.Sprintf("%d-%s", y.Year, md))
				h, ok := y.Holiday(d)
				if !ok || !strings.Contains(h.Name, name) {
					t.Errorf("%s: %s is not part of %s", y.File, d.Format(time.DateOnly), name)
				}
			}
		}
		// 春节 lasts 7 to 10 days and includes a day in late January or February.
		for _, h := range y.Holidays {
			if h.Name == "春节" && (h.Days() < 7 || h.From.Month() > time.February) {
				t.Errorf("%s:%d: implausible 春节 %s..%s", y.File, h.Line, h.From.Format(time.DateOnly), h.To.Format(time.DateOnly))
			}
		}
	}
	// The New Year crossover is split between the two years' files.
	if h, ok := c.Year(2018).Holiday(Date(2018, 12, 31)); !ok || h.Name != "元旦" {
		t.Errorf("2018-12-31 should be 元旦 of 2019, got %+v", h)
	}
	if m, ok := c.Year(2018).Makeup(Date(2018, 12, 29)); !ok || m.Name != "元旦" {
		t.Errorf("2018-12-29 should be a make-up day for 元旦, got %+v", m)
	}
}

func TestMissingYear(t *testing.T) {
	c := DefaultCalendar()
	if c.Covers(2030) || !c.Covers(2026) {
		t.Fatalf("Covers wrong")
	}
	// n = 0 and computations inside covered years touch nothing.
	c.AddWorkdays(Date(2030, 1, 1), 0)
	c.WorkdaysBetween(Date(2025, 12, 31), Date(2026, 12, 31))
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings too early: %q", w)
	}
	// 2030-10-01 is a Tuesday: weekends only, National Day is not known.
	if got := c.AddWorkdays(Date(2030, 9, 30), 1); !got.Equal(Date(2030, 10, 1)) {
		t.Errorf("AddWorkdays(2030-09-30, 1) = %v", got)
	}
	if got := c.AddWorkdays(Date(2030, 10, 4), 1); !got.Equal(Date(2030, 10, 7)) {
		t.Errorf("AddWorkdays(2030-10-04 Fri, 1) = %v", got)
	}
	if !c.IsWorkday(Date(2030, 10, 1)) || c.IsWorkday(Date(2030, 10, 5)) {
		t.Errorf("IsWorkday in 2030 should follow weekends only")
	}
	if got := c.WorkdaysIn(2030); got != 261 {
		t.Errorf("WorkdaysIn(2030) = %d, want 261", got)
	}
	// From the last covered day into the next year.
	if got := c.AddWorkdays(Date(2026, 12, 31), 1); !got.Equal(Date(2027, 1, 1)) {
		t.Errorf("AddWorkdays(2026-12-31, 1) = %v", got)
	}
	want := []string{MissingYearWarning(2027), MissingYearWarning(2030)}
	if got := c.Warnings(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Warnings() = %q, want %q (each year once)", got, want)
	}
	if !strings.Contains(want[1], "2030") || !strings.Contains(want[1], "只按周末") {
		t.Errorf("warning %q does not say the year and what was done", want[1])
	}
	// Each calendar keeps its own record.
	if w := DefaultCalendar().Warnings(); len(w) != 0 {
		t.Errorf("a new calendar inherited warnings %q", w)
	}
}

// reference is the obvious day-by-day definition of a working day, read from
// the year files directly.
func reference(years map[int]*Year, d time.Time) bool {
	if y := years[d.Year()]; y != nil {
		if _, ok := y.Makeup(d); ok {
			return true
		}
		if _, ok := y.Holiday(d); ok {
			return false
		}
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

func TestCalendarMatchesReference(t *testing.T) {
	c := DefaultCalendar()
	years := map[int]*Year{}
	for _, y := range EmbeddedYears() {
		years[y.Year] = y
	}
	rapid.Check(t, func(t *rapid.T) {
		d := Date(2016, 1, 1).AddDate(0, 0, rapid.IntRange(0, 14*366).Draw(t, "offset"))
		n := rapid.IntRange(-300, 300).Draw(t, "n")
		if c.IsWorkday(d) != reference(years, d) {
			t.Fatalf("IsWorkday(%s) = %v", d.Format(time.DateOnly), c.IsWorkday(d))
		}
		got := c.AddWorkdays(d, n)
		// Walk day by day.
		want, step, left := d, 1, n
		if n < 0 {
			step, left = -1, -n
		}
		for left > 0 {
			want = want.AddDate(0, 0, step)
			if reference(years, want) {
				left--
			}
		}
		if !got.Equal(want) {
			t.Fatalf("AddWorkdays(%s, %d) = %s, want %s", d.Format(time.DateOnly), n, got.Format(time.DateOnly), want.Format(time.DateOnly))
		}
		// Going back from a day off, the first working day before it is -1
		// away, yet (got, d] holds no working day.
		wantBetween := n
		if n < 0 && !reference(years, d) {
			wantBetween = n + 1
		}
		if b := c.WorkdaysBetween(d, got); b != wantBetween {
			t.Fatalf("WorkdaysBetween(%s, %s) = %d, want %d", d.Format(time.DateOnly), got.Format(time.DateOnly), b, wantBetween)
		}
		e := Date(2016, 1, 1).AddDate(0, 0, rapid.IntRange(0, 14*366).Draw(t, "other"))
		if c.WorkdaysBetween(d, e) != -c.WorkdaysBetween(e, d) {
			t.Fatalf("WorkdaysBetween not antisymmetric for %s, %s", d.Format(time.DateOnly), e.Format(time.DateOnly))
		}
	})
}

func TestAddWorkdaysAllocs(t *testing.T) {
	c := DefaultCalendar()
	c.AddWorkdays(Date(2029, 12, 1), 100) // note the missing years once
	d := Date(2018, 2, 9)
	if a := testing.AllocsPerRun(100, func() {
		c.AddWorkdays(d, 10)
		c.AddWorkdays(d, -10)
		c.AddWorkdays(Date(2029, 12, 1), 100)
		c.WorkdaysBetween(d, Date(2019, 3, 1))
		c.IsWorkday(d)
	}); a != 0 {
		t.Errorf("%v allocations per run, want 0", a)
	}
}

func BenchmarkAddWorkdays(b *testing.B) {
	c := DefaultCalendar()
	days := make([]time.Time, 3000) // 2018-01-01 .. 2026-03-18
	for i := range days {
		days[i] = Date(2018, 1, 1+i)
	}
	for i := 0; b.Loop(); i++ {
		c.AddWorkdays(days[i%len(days)], 10)
	}
}

func TestNewCalendarOverride(t *testing.T) {
	local, err := ParseCalendar("local.txt", strings.NewReader("year: 2018\nholidays:\n  - 2018-03-05 本地假日\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCalendar(append(EmbeddedYears(), local)...)
	if c.IsWorkday(Date(2018, 3, 5)) || !c.IsWorkday(Date(2018, 2, 15)) {
		t.Errorf("a later file for 2018 should replace the embedded one")
	}
	if c.Year(2018) != local || !c.Covers(2019) {
		t.Errorf("other years should stay")
	}
}

func TestParseCalendarErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // each a FILE:LINE:COL prefix plus words of the message
	}{
		{"unknown key", "year: 2018\nholiday:\n", []string{`f.txt:2:1: 未知的键 "holiday"`}},
		{"bad date", "year: 2018\nholidays:\n  - 2018-02-30 春节\n", []string{`f.txt:3:5: 日期 "2018-02-30" 无效`}},
		{"bad range end", "year: 2018\nholidays:\n  - 2018-02-15..2018-2-21 春节\n", []string{`f.txt:3:17: 日期 "2018-2-21" 无效`}},
		{"range backwards", "year: 2018\nholidays:\n  - 2018-02-21..2018-02-15 春节\n", []string{"f.txt:3:17: 区间结束日"}},
		{"range too long", "year: 2018\nholidays:\n  - 2018-02-15..2018-12-21 春节\n", []string{"f.txt:3:17: 放假区间"}},
		{"other year", "year: 2018\nworkdays:\n  - 2019-02-02 春节\n", []string{"f.txt:3:5: 日期 2019-02-02 不在本文件的年份 2018 内"}},
		{"make-up on a weekday", "year: 2018\nworkdays:\n  - 2018-02-12 春节\n", []string{"f.txt:3:5: 2018-02-12 是星期一; 调休上班日应是星期六或星期日"}},
		{"make-up range", "year: 2018\nworkdays:\n  - 2018-02-10..2018-02-11 春节\n", []string{"f.txt:3:5: 调休上班日只能是单独一天"}},
		{"overlap", "year: 2018\nholidays:\n  - 2018-02-15..2018-02-21 春节\nworkdays:\n  - 2018-02-18 春节 # a Sunday\n", []string{"f.txt:5:5: 放假日与调休上班日重叠 (见第 3 行)"}},
		{"overlap reversed", "year: 2018\nworkdays:\n  - 2018-02-18 春节\nholidays:\n  - 2018-02-15..2018-02-21 春节\n", []string{"f.txt:5:5: 放假日与调休上班日重叠 (见第 3 行)"}},
		{"holidays overlap", "year: 2018\nholidays:\n  - 2018-02-15..2018-02-21 春节\n  - 2018-02-21 春节\n", []string{"f.txt:4:5: 放假区间与第 3 行的放假区间重叠"}},
		{"duplicate make-up", "year: 2018\nworkdays:\n  - 2018-02-11 春节\n  - 2018-02-11 春节\n", []string{"f.txt:4:5: 调休上班日 2018-02-11 重复 (第 3 行已有)"}},
		{"missing name", "year: 2018\nholidays:\n  - 2018-02-15\n", []string{"f.txt:3:15: 缺少名称"}},
		{"missing year", "holidays:\n  - 2018-01-01 元旦\n", []string{"f.txt:1:1: year: 必须写在最前面", "f.txt:1:1: 缺少 year:"}},
		{"bad year", "year: 18\n", []string{`f.txt:1:7: 年份 "18" 无效`}},
		{"duplicate key", "year: 2018\nyear: 2018\n", []string{"f.txt:2:1: year: 重复 (第 1 行已有)"}},
		{"value after section", "year: 2018\nholidays: 2018-01-01\n", []string{"f.txt:2:11: holidays: 后面不应有内容"}},
		{"item without dash", "year: 2018\nholidays:\n  2018-01-01 元旦\n", []string{`f.txt:3:3: 缩进行应以 "- " 开头`}},
		{"item without section", "year: 2018\n  - 2018-01-01 元旦\n", []string{"f.txt:2:3: 条目前缺少 holidays: 或 workdays:"}},
		{"not a key", "year: 2018\n2018-01-01 元旦\n", []string{`f.txt:2:1: 应为 "键: 值"`}},
		{"several", "year: 2018\nholidays:\n  - 2018-13-01 x\n  - 2018-02-15 春节\nworkdays:\n  - 2018-02-12 春节\n", []string{"f.txt:3:5:", "f.txt:6:5:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y, err := ParseCalendar("f.txt", strings.NewReader(tc.src))
			if err == nil {
				t.Fatalf("no error; parsed %+v", y)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("errors:\n%v\nwant %d", err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d = %q, want prefix %q", i, lines[i], w)
				}
			}
			var ce *CalendarError
			if !errors.As(err, &ce) || !ce.BadInput() {
				t.Errorf("error %T is not a *CalendarError with BadInput", err)
			}
		})
	}
}

func TestParseCalendarAccepts(t *testing.T) {
	src := "\ufeff# comment\r\nyear: 2018   # the year\r\nsource: 通知#1\r\n\r\nholidays:\r\n\t- 2018-02-15..2018-02-21   春节  # seven days\r\nworkdays:\r\n  -   2018-02-24 春节\r\n  - 2018-02-11 春节\r\n"
	y, err := ParseCalendar("ok.txt", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if y.Year != 2018 || y.Source != "通知#1" || len(y.Holidays) != 1 || len(y.Makeups) != 2 {
		t.Fatalf("parsed %+v", y)
	}
	h := y.Holidays[0]
	if h.Name != "春节" || h.Days() != 7 || h.Line != 6 || !h.From.Equal(Date(2018, 2, 15)) {
		t.Errorf("holiday %+v", h)
	}
	if !y.Makeups[0].Date.Equal(Date(2018, 2, 11)) || y.Makeups[0].Line != 9 {
		t.Errorf("make-up days not sorted: %+v", y.Makeups)
	}
	// A year with no entries is valid: weekends only, but covered.
	if _, err := ParseCalendar("empty.txt", strings.NewReader("year: 2031\nholidays:\nworkdays:\n")); err != nil {
		t.Errorf("empty year: %v", err)
	}
}
