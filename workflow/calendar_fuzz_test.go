package workflow

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseCalendar feeds arbitrary holiday files to the calendar parser:
// nothing may panic; every refusal is a list of *CalendarError at
// FILE:LINE:COL; an accepted year gives a calendar whose working-day
// arithmetic agrees with itself: adding n working days lands on a working
// day n working days later.
// Run: go test ./workflow -run '^$' -fuzz FuzzParseCalendar -fuzztime 30s
func FuzzParseCalendar(f *testing.F) {
	files, _ := filepath.Glob("holidays/*.txt")
	for _, p := range files {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("year: 2030\nholidays:\n  - 2030-02-15..2030-12-21 春节\n"))
	f.Add([]byte("year: 2030\nholidays:\n  - 2030-02-30 春节\nworkdays:\n  - 2030-02-01 春节\n"))
	f.Add([]byte("\ufeffyear: 2030\r\nholidays:\r\n  - 2030-10-01..2030-10-07 国庆节\r\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		y, err := ParseCalendar("f.txt", bytes.NewReader(src))
		if err != nil {
			var ce *CalendarError
			if !errors.As(err, &ce) {
				t.Fatalf("refusal %T %v is not a CalendarError", err, err)
			}
			if ce.File != "f.txt" || ce.Line < 1 || ce.Col < 1 || ce.Msg == "" {
				t.Fatalf("refusal without a position: %#v", ce)
			}
			return
		}
		if y == nil || y.Year < 1 {
			t.Fatalf("accepted a year without a year: %#v", y)
		}
		c := NewCalendar(y)
		start := time.Date(y.Year, 1, 1, 0, 0, 0, 0, time.UTC)
		for d := start; d.Year() == y.Year; d = d.AddDate(0, 0, 7) {
			for _, n := range []int{1, 5, 10} {
				e := c.AddWorkdays(d, n)
				if !c.IsWorkday(e) || !e.After(d) {
					t.Fatalf("AddWorkdays(%s, %d) = %s, not a later working day", d.Format(time.DateOnly), n, e.Format(time.DateOnly))
				}
				if got := c.WorkdaysBetween(d, e); got != n {
					t.Fatalf("WorkdaysBetween(%s, %s) = %d, want %d", d.Format(time.DateOnly), e.Format(time.DateOnly), got, n)
				}
			}
		}
	})
}
