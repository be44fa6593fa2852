package rules

import (
	"fmt"
	"strings"
	"time"
)

// dateLayout is how civil dates are written in files, flags and messages.
const dateLayout = "2006-01-02"

// Period is the span a round inspects, both ends inclusive civil dates
// (00:00 UTC, as elsewhere in ducha). Rule windows are anchored at its end.
type Period struct {
	From, To time.Time
}

// ParsePeriod reads "2018-01-01..2018-06-30".
func ParsePeriod(s string) (Period, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "..")
	if !ok {
		return Period{}, fmt.Errorf("期间 %q 无效: 应为 开始日期..结束日期, 如 2018-01-01..2018-06-30", s)
	}
	from, err1 := time.Parse(dateLayout, strings.TrimSpace(a))
	to, err2 := time.Parse(dateLayout, strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return Period{}, fmt.Errorf("期间 %q 无效: 日期应为 YYYY-MM-DD", s)
	}
	if to.Before(from) {
		return Period{}, fmt.Errorf("期间 %q 无效: 结束日期早于开始日期", s)
	}
	return Period{From: from, To: to}, nil
}

func (p Period) String() string {
	return p.From.Format(dateLayout) + ".." + p.To.Format(dateLayout)
}

// DateRange is an inclusive range of civil dates.
type DateRange struct {
	From, To time.Time
}

// Contains reports whether the civil date d lies in the range.
func (r DateRange) Contains(d time.Time) bool {
	return !d.Before(r.From) && !d.After(r.To)
}

func (r DateRange) String() string {
	return r.From.Format(dateLayout) + ".." + r.To.Format(dateLayout)
}

// civil truncates t to its civil date at 00:00 UTC (dates in ducha carry no zone).
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// MarshalText writes the range as "2018-04-01..2018-06-30".
func (r DateRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
