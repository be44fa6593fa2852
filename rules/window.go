package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// WindowKind is the shape of a rule's window.
type WindowKind string

const (
	Month    WindowKind = "month"     // calendar month containing the period end
	Quarter  WindowKind = "quarter"   // calendar quarter containing the period end
	HalfYear WindowKind = "half_year" // calendar half-year containing the period end
	Year     WindowKind = "year"      // calendar year containing the period end
	Rolling  WindowKind = "days"      // the N days ending on the period end ("30d")
)

// Window is the stretch of time a rule looks at. It is always anchored at the
// END of the inspected period:
//
//   - a calendar window (month, quarter, half_year, year) runs from the first
//     day of the calendar period that contains the period end up to and
//     including the period end. It is NOT clipped to the period start: a
//     quarterly rule in a round over June looks at April–June. A calendar
//     rule is checked only when the period ends on its window's last day
//     (see Complete): a round over 1–20 May checks no monthly rule.
//   - a rolling window "Nd" is the N days ending on the period end, inclusive:
//     "30d" ending 2018-06-30 is 2018-06-01..2018-06-30.
type Window struct {
	Kind WindowKind
	Days int // for Rolling
}

// MaxRollingDays bounds rolling windows (and so the database scan).
const MaxRollingDays = 3660

// ParseWindow reads month, quarter, half_year, year (or 月, 季度, 半年, 年)
// and rolling windows "30d" / "30天".
func ParseWindow(s string) (Window, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "month", "月", "每月":
		return Window{Kind: Month}, nil
	case "quarter", "季度", "每季度":
		return Window{Kind: Quarter}, nil
	case "half_year", "半年", "每半年":
		return Window{Kind: HalfYear}, nil
	case "year", "年", "每年":
		return Window{Kind: Year}, nil
	}
	num := strings.TrimSuffix(strings.TrimSuffix(t, "d"), "天")
	if num != t {
		n, err := strconv.Atoi(strings.TrimSpace(num))
		if err == nil && n >= 1 && n <= MaxRollingDays {
			return Window{Kind: Rolling, Days: n}, nil
		}
	}
	return Window{}, fmt.Errorf("窗口 %q 无效: 应为 month, quarter, half_year, year 或滚动天数如 30d (1 至 %d 天)", s, MaxRollingDays)
}

// String is the window as written in files: "quarter", "30d".
func (w Window) String() string {
	if w.Kind == Rolling {
		return strconv.Itoa(w.Days) + "d"
	}
	return string(w.Kind)
}

// Label is the window's Chinese name: 本月, 本季度, 近30天.
func (w Window) Label() string {
	switch w.Kind {
	case Month:
		return "本月"
	case Quarter:
		return "本季度"
	case HalfYear:
		return "本半年"
	case Year:
		return "本年度"
	}
	return fmt.Sprintf("近%d天", w.Days)
}

// Range is the window's dates for a period ending on end (a civil date).
// Complete reports whether the window is over on end: a rolling window
// always is; a calendar window only when end is its last day. A rule whose
// window is not complete is not checked (a quarter's lecture cannot be
// missed in its first month), so a monthly round checks quarterly rules
// only in March, June, September and December.
func (w Window) Complete(end time.Time) bool {
	next := civil(end).AddDate(0, 0, 1)
	if w.Kind == Rolling {
		return true
	}
	if next.Day() != 1 {
		return false
	}
	m := int(next.Month()) - 1
	switch w.Kind {
	case Quarter:
		return m%3 == 0
	case HalfYear:
		return m%6 == 0
	case Year:
		return m == 0
	}
	return true
}

func (w Window) Range(end time.Time) DateRange {
	end = civil(end)
	y, m, _ := end.Date()
	var from time.Time
	switch w.Kind {
	case Month:
		from = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case Quarter:
		from = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
	case HalfYear:
		from = time.Date(y, m-(m-1)%6, 1, 0, 0, 0, 0, time.UTC)
	case Year:
		from = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		from = end.AddDate(0, 0, 1-w.Days)
	}
	return DateRange{From: from, To: end}
}
