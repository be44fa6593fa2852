package rules

import (
	"testing"
	"time"
)

func d(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }

func TestWindowRange(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no zoneinfo")
	}
	for _, tc := range []struct {
		w        string
		end      time.Time
		from, to time.Time
	}{
		{"month", d(2018, 1, 31), d(2018, 1, 1), d(2018, 1, 31)},
		{"month", d(2018, 2, 1), d(2018, 2, 1), d(2018, 2, 1)},
		{"month", d(2020, 2, 29), d(2020, 2, 1), d(2020, 2, 29)},
		{"quarter", d(2018, 3, 31), d(2018, 1, 1), d(2018, 3, 31)},
		{"quarter", d(2018, 4, 1), d(2018, 4, 1), d(2018, 4, 1)},
		{"quarter", d(2018, 6, 30), d(2018, 4, 1), d(2018, 6, 30)},
		{"quarter", d(2018, 8, 15), d(2018, 7, 1), d(2018, 8, 15)},
		{"quarter", d(2018, 12, 31), d(2018, 10, 1), d(2018, 12, 31)},
		{"half_year", d(2018, 6, 30), d(2018, 1, 1), d(2018, 6, 30)},
		{"half_year", d(2018, 7, 1), d(2018, 7, 1), d(2018, 7, 1)},
		{"half_year", d(2018, 12, 31), d(2018, 7, 1), d(2018, 12, 31)},
		{"year", d(2018, 12, 31), d(2018, 1, 1), d(2018, 12, 31)},
		{"year", d(2019, 1, 1), d(2019, 1, 1), d(2019, 1, 1)},
		{"30d", d(2018, 6, 30), d(2018, 6, 1), d(2018, 6, 30)},
		{"30d", d(2018, 3, 1), d(2018, 1, 31), d(2018, 3, 1)},
		{"1d", d(2018, 6, 30), d(2018, 6, 30), d(2018, 6, 30)},
		{"7天", d(2018, 1, 3), d(2017, 12, 28), d(2018, 1, 3)},
		// An end given as an instant in Asia/Shanghai: its civil date there
		// decides, not the UTC date (2018-03-31 23:30 in Shanghai is still Q1;
		// 2018-04-01 00:30 is Q2 although it is 03-31 in UTC).
		{"quarter", time.Date(2018, 3, 31, 23, 30, 0, 0, shanghai), d(2018, 1, 1), d(2018, 3, 31)},
		{"quarter", time.Date(2018, 4, 1, 0, 30, 0, 0, shanghai), d(2018, 4, 1), d(2018, 4, 1)},
		{"month", time.Date(2018, 2, 1, 0, 0, 0, 0, shanghai), d(2018, 2, 1), d(2018, 2, 1)},
	} {
		w, err := ParseWindow(tc.w)
		if err != nil {
			t.Fatal(err)
		}
		r := w.Range(tc.end)
		if !r.From.Equal(tc.from) || !r.To.Equal(tc.to) {
			t.Errorf("%s ending %s = %s, want %s..%s", tc.w, tc.end, r, tc.from.Format(dateLayout), tc.to.Format(dateLayout))
		}
		if !r.Contains(tc.end.In(time.UTC)) && tc.end.Location() == time.UTC {
			t.Errorf("%s: period end %s not inside its own window", tc.w, tc.end)
		}
		if r.Contains(r.From.AddDate(0, 0, -1)) || r.Contains(r.To.AddDate(0, 0, 1)) {
			t.Errorf("%s: range %s contains a day outside it", tc.w, r)
		}
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]string{"month": "month", "季度": "quarter", " half_year ": "half_year", "年": "year", "30d": "30d", "90天": "90d", "3660d": "3660d"} {
		w, err := ParseWindow(in)
		if err != nil || w.String() != want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %s", in, w, err, want)
		}
	}
	for _, in := range []string{"", "week", "0d", "-3d", "3661d", "d", "30", "30dd", "1e3d"} {
		if w, err := ParseWindow(in); err == nil {
			t.Errorf("ParseWindow(%q) = %v, want an error", in, w)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]Duration{
		"10 workdays": {10, true}, "1 workday": {1, true}, "10 工作日": {10, true}, "10个工作日": {10, true},
		"5 working days": {5, true}, "7d": {7, false}, "7 days": {7, false}, "7天": {7, false}, "366d": {366, false},
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		again, err := ParseDuration(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %v via %q = %v, %v", got, got.String(), again, err)
		}
	}
	for _, in := range []string{"", "7", "0d", "367d", "ten days", "7 weeks", "-1d", "99999999999999999999d"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseSeverityAndPeriod(t *testing.T) {
	for in, want := range map[string]Severity{"一般": General, "general": General, "较重": Serious, "SERIOUS": Serious, "严重": Severe} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseSeverity("critical"); err == nil {
		t.Error("ParseSeverity(critical) succeeded")
	}
	p, err := ParsePeriod("2018-01-01..2018-06-30")
	if err != nil || !p.From.Equal(d(2018, 1, 1)) || !p.To.Equal(d(2018, 6, 30)) || p.String() != "2018-01-01..2018-06-30" {
		t.Errorf("ParsePeriod = %v, %v", p, err)
	}
	for _, in := range []string{"2018-01-01", "2018-06-30..2018-01-01", "2018-1-1..2018-06-30", "..", "2018-02-30..2018-03-01"} {
		if _, err := ParsePeriod(in); err == nil {
			t.Errorf("ParsePeriod(%q) succeeded", in)
		}
	}
}
