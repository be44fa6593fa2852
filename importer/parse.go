package importer

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"ducha/workflow"
)

// Cell parsers. Each returns a Chinese message saying what was expected
// when the text is wrong; the caller adds file, row and column.

const dateForms = "应为 2018-03-24、2018/3/24 或 2018年3月24日"

var (
	dateRE   = regexp.MustCompile(`^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?$`)
	dateCNRE = regexp.MustCompile(`^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$`)
	serialRE = regexp.MustCompile(`^\d+(?:\.\d+)?$`)
)

// parseDate reads a civil date. serials allows Excel serial day numbers
// (XLSX date cells read raw).
func parseDate(s string, serials bool) (time.Time, error) {
	var y, mo, d int
	iso, matched := numericDate(s)
	if matched {
		y, mo, d = iso[0], iso[1], iso[2] // the usual forms, without the regular expressions (a fifth of an import's CPU)
	} else {
		m := dateRE.FindStringSubmatch(s)
		if m == nil {
			m = dateCNRE.FindStringSubmatch(s)
		}
		if matched = m != nil; matched {
			y, _ = strconv.Atoi(m[1])
			mo, _ = strconv.Atoi(m[2])
			d, _ = strconv.Atoi(m[3])
		}
	}
	if matched {
		t := workflow.Date(y, time.Month(mo), d)
		if y < 1900 || t.Year() != y || t.Month() != time.Month(mo) || t.Day() != d {
			return time.Time{}, fmt.Errorf("日期 %q 不存在", s)
		}
		return t, nil
	}
	if serials && serialRE.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		// 1 is 1900-01-01, 2958465 is 9999-12-31.
		if f >= 1 && f < 2958466 {
			t, err := excelize.ExcelDateToTime(math.Floor(f), false)
			if err == nil {
				return workflow.Date(t.Date()), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("无法识别的日期 %q; %s", s, dateForms)
}

// numericDate reads the forms 2018-03-24, 2018/3/24 and 2018.3.24 (four
// digits, then one or two and one or two, each after one of - / .), which
// dateRE also matches, as year, month and day.
func numericDate(s string) ([3]int, bool) {
	var out [3]int
	i := 0
	for f, width := range [3]int{4, 2, 2} {
		if f > 0 {
			if i >= len(s) || s[i] != '-' && s[i] != '/' && s[i] != '.' {
				return [3]int{}, false
			}
			i++
		}
		start := i
		for i < len(s) && i-start < width && s[i] >= '0' && s[i] <= '9' {
			out[f] = out[f]*10 + int(s[i]-'0')
			i++
		}
		if i == start || f == 0 && i-start != 4 {
			return [3]int{}, false
		}
	}
	return out, i == len(s)
}

// yuanNoise are the separators an amount may carry (built once: a
// Replacer's setup costs more than its use).
var yuanNoise = strings.NewReplacer(",", "", "，", "", " ", "")

// parseYuan reads an amount of yuan into fen, exactly: "1234.5" is 123450.
// Thousands separators and a trailing 元 are allowed; more than two decimals
// are not, except floating-point noise of a spreadsheet number.
func parseYuan(s string) (int64, error) {
	t := s
	if strings.ContainsAny(t, ",， ") {
		t = yuanNoise.Replace(t)
	}
	t = strings.TrimSuffix(t, "元")
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("金额 %q 不能为负数", s)
	}
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" && frac != "" {
		whole = "0"
	}
	if !allDigits(whole) || !allDigits(frac) && frac != "" || len(whole) > 13 {
		return 0, fmt.Errorf("无法识别的金额 %q; 应为以元为单位的数字, 如 1234.5", s)
	}
	if len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, fmt.Errorf("金额 %q 的小数超过两位 (最小单位是分)", s)
		}
		frac = frac[:2]
	}
	frac += strings.Repeat("0", 2-len(frac))
	yuan, _ := strconv.ParseInt(whole, 10, 64)
	fen, _ := strconv.ParseInt(frac, 10, 64)
	return yuan*100 + fen, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// parseCount reads a non-negative whole number.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && strings.HasPrefix(s, "-"), err == nil && n < 0:
		return 0, fmt.Errorf("数量 %q 不能为负数", s)
	case err != nil:
		return 0, fmt.Errorf("无法识别的数量 %q; 应为不小于 0 的整数", s)
	}
	return n, nil
}

// parseBool reads 是/否, true/false, 1/0 (and yes/no, y/n).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "是", "true", "1", "yes", "y":
		return true, nil
	case "否", "false", "0", "no", "n":
		return false, nil
	}
	return false, fmt.Errorf("无法识别的值 %q; 应为 是/否、true/false 或 1/0", s)
}
