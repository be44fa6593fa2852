package importer

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestParseYuan(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1234.5": 123450, "1234.56": 123456, "0.1": 10, ".5": 50, "12.": 1200,
		"250,000": 25000000, "1,234.50元": 123450, "7.000": 700, "1234567890123": 123456789012300,
	} {
		if got, err := parseYuan(in); err != nil || got != want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "1.234", "abc", "1.2.3", ".", "1e3", "12345678901234", "一百"} {
		if got, err := parseYuan(in); err == nil {
			t.Errorf("parseYuan(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, c := range []struct {
		in      string
		serials bool
		want    string
	}{
		{"2018-03-24", false, "2018-03-24"},
		{"2018/3/4", false, "2018-03-04"},
		{"2018.3.24", false, "2018-03-24"},
		{"2018年3月24日", false, "2018-03-24"},
		{"2018 年 3 月 24 日", false, "2018-03-24"},
		{"2018/3/24 0:00", false, "2018-03-24"},
		{"2018-03-24T00:00:00Z", false, "2018-03-24"},
		{"2016-02-29", false, "2016-02-29"},
		{"43183", true, "2018-03-24"},
		{"43183.99", true, "2018-03-24"},
		{"60", true, "1900-02-28"}, // Excel's phantom 1900-02-29 is serial 60
		{"61", true, "1900-03-01"},
	} {
		got, err := parseDate(c.in, c.serials)
		if err != nil || got.Format("2006-01-02") != c.want {
			t.Errorf("parseDate(%q, %v) = %v, %v; want %s", c.in, c.serials, got, err, c.want)
		}
	}
	for _, c := range []struct {
		in      string
		serials bool
	}{
		{"2018-02-30", false}, {"2017-02-29", false}, {"2018-13-01", false}, {"2018-00-10", false},
		{"2018年2月30日", false}, {"43183", false}, {"0", true}, {"-5", true}, {"3/24/2018", false},
		{"24.03.2018", false}, {"", false}, {"0001-01-01", false},
	} {
		if got, err := parseDate(c.in, c.serials); err == nil {
			t.Errorf("parseDate(%q, %v) = %v, want an error", c.in, c.serials, got)
		}
	}
}

func TestIsUTF8(t *testing.T) {
	// Three-byte runes cut by the 64 KiB buffer at every offset.
	for pad := range 3 {
		s := strings.Repeat("a", pad) + strings.Repeat("法律顾问", 20000)
		gbk, _ := simplifiedchinese.GB18030.NewEncoder().String(s)
		for _, c := range []struct {
			name string
			data string
			want bool
		}{
			{"utf8", s, true},
			{"gb18030", gbk, false},
			{"utf8 then a bad byte", s + "\xff", false},
			{"utf8 cut mid-rune at the end", s[:len(s)-1], false},
		} {
			for _, r := range []func(string) io.Reader{
				func(s string) io.Reader { return strings.NewReader(s) },
				func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
				func(s string) io.Reader { return iotest.HalfReader(bytes.NewReader([]byte(s))) },
			} {
				got, err := isUTF8(r(c.data))
				if err != nil || got != c.want {
					t.Errorf("pad %d %s: isUTF8 = %v, %v; want %v", pad, c.name, got, err, c.want)
				}
			}
		}
	}
}

func TestColName(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := colName(i); got != want {
			t.Errorf("colName(%d) = %q, want %q", i, got, want)
		}
	}
}

// TestNumericDateFastPath holds the fast path for the numeric forms to the
// regular expression it stands in for.
func TestNumericDateFastPath(t *testing.T) {
	var cases []string
	for _, sep := range []string{"-", "/", ".", " ", "年"} {
		for _, y := range []string{"2018", "0000", "201", "20180", "２018"} {
			for _, m := range []string{"3", "03", "12", "00", "123", "", "x"} {
				for _, d := range []string{"24", "1", "01", "30", "", "245"} {
					cases = append(cases, y+sep+m+sep+d, y+sep+m+"/"+d, y+"-"+m+sep+d+" 10:30", y+sep+m+sep+d+"x")
				}
			}
		}
	}
	for _, s := range cases {
		got, ok := numericDate(s)
		m := dateRE.FindStringSubmatch(s)
		if ok && m == nil || !ok && m != nil && !strings.ContainsAny(s, " T") {
			t.Errorf("%q: fast path %v, expression %v", s, ok, m != nil)
			continue
		}
		if ok {
			y, _ := strconv.Atoi(m[1])
			mo, _ := strconv.Atoi(m[2])
			d, _ := strconv.Atoi(m[3])
			if got != [3]int{y, mo, d} {
				t.Errorf("%q: fast path %v, expression %d-%d-%d", s, got, y, mo, d)
			}
		}
	}
	if _, err := parseDate("0000-00-00", false); err == nil || !strings.Contains(err.Error(), "不存在") {
		t.Errorf("0000-00-00: %v", err)
	}
}
