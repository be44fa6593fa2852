package workflow

import (
	"testing"
	"time"
)

func TestPeriodFor(t *testing.T) {
	at := time.Date(2018, 4, 1, 9, 0, 0, 0, Shanghai)
	cases := map[string][2]string{
		"previous_month":     {"2018-03-01", "2018-03-31"},
		"previous_quarter":   {"2018-01-01", "2018-03-31"},
		"previous_half_year": {"2017-07-01", "2017-12-31"},
		"previous_year":      {"2017-01-01", "2017-12-31"},
		"month_to_date":      {"2018-03-01", "2018-03-31"}, // fired on the 1st: the month just ended
		"last_30d":           {"2018-03-02", "2018-03-31"},
	}
	for name, want := range cases {
		from, to, err := PeriodFor(name, at)
		if err != nil || from.Format("2006-01-02") != want[0] || to.Format("2006-01-02") != want[1] {
			t.Errorf("PeriodFor(%s) = %s..%s, %v; want %s..%s", name, from.Format("2006-01-02"), to.Format("2006-01-02"), err, want[0], want[1])
		}
	}
	// 23:30 UTC on 31 March is already 1 April in Asia/Shanghai.
	from, _, _ := PeriodFor("previous_month", time.Date(2018, 3, 31, 23, 30, 0, 0, time.UTC))
	if from != Date(2018, 3, 1) {
		t.Errorf("period taken in UTC, not Asia/Shanghai: from %s", from)
	}
	from, to, _ := PeriodFor("month_to_date", time.Date(2018, 5, 17, 10, 0, 0, 0, Shanghai))
	if from != Date(2018, 5, 1) || to != Date(2018, 5, 16) {
		t.Errorf("month_to_date on 5/17 = %s..%s", from, to)
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]string{"": "all", "all": "all", "township=青山镇, 石门乡": "township=青山镇,石门乡", "sample=20%": "sample=20%", "sample=15": "sample=15"} {
		s, err := ParseScope(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseScope(%q) = %v, %v; want %s", in, s, err, want)
		}
	}
	for _, bad := range []string{"township=", "village=1", "sample=0"} {
		if _, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) accepted", bad)
		}
	}
}
