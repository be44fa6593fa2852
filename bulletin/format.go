package bulletin

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateText is a civil date in formal Chinese: "2018年6月30日".
func DateText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// periodText names a period: "2018年上半年", "2018年3月", or "2018年1月1日至2018年6月30日".
func periodText(from, to time.Time) string {
	if from.IsZero() || to.IsZero() {
		return ""
	}
	y := from.Year()
	first := from.Day() == 1
	last := to.AddDate(0, 0, 1).Day() == 1
	if first && last && to.Year() == y {
		switch {
		case from.Month() == 1 && to.Month() == 12:
			return fmt.Sprintf("%d年", y)
		case from.Month() == 1 && to.Month() == 6:
			return fmt.Sprintf("%d年上半年", y)
		case from.Month() == 7 && to.Month() == 12:
			return fmt.Sprintf("%d年下半年", y)
		case from.Month() == to.Month():
			return fmt.Sprintf("%d年%d月", y, int(from.Month()))
		case (from.Month()-1)%3 == 0 && to.Month() == from.Month()+2:
			return fmt.Sprintf("%d年第%s季度", y, []string{"一", "二", "三", "四"}[(from.Month()-1)/3])
		}
	}
	return DateText(from) + "至" + DateText(to)
}

// YuanText is an amount in fen in formal Chinese: "25万元", "3.5万元", "800元", "12.5元".
func YuanText(fen int64) string {
	if fen >= 1_000_000 { // ten thousand yuan and more: in 万
		return trimDecimal(fen, 6) + "万元"
	}
	return trimDecimal(fen, 2) + "元"
}

// YuanValue is an amount in fen as a plain decimal number of yuan: "250000", "12.5".
func YuanValue(fen int64) string { return trimDecimal(fen, 2) }

// trimDecimal writes v / 10^scale without trailing zeros.
func trimDecimal(v int64, scale int) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= scale {
		s = "0" + s
	}
	whole, frac := s[:len(s)-scale], strings.TrimRight(s[len(s)-scale:], "0")
	if neg {
		whole = "-" + whole
	}
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// numText formats a count, without float noise.
func numText(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
