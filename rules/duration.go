package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Duration is a rectification deadline as written in the checklist: N
// working days (工作日, counted by the workflow's holiday calendar) or N
// calendar days.
type Duration struct {
	N        int
	Workdays bool
}

// MaxDurationDays bounds deadlines: more than a year is a typo.
const MaxDurationDays = 366

var durationRE = regexp.MustCompile(`^(\d+)\s*(workdays?|working\s*days?|工作日|个工作日|d|days?|天|日|自然日)$`)

// ParseDuration reads "10 workdays", "10 工作日", "7d", "7 days", "7天".
func ParseDuration(s string) (Duration, error) {
	m := durationRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return Duration{}, fmt.Errorf("期限 %q 无效: 应为如 \"10 workdays\"/\"10 工作日\" 或 \"7d\"/\"7天\"", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 || n > MaxDurationDays {
		return Duration{}, fmt.Errorf("期限 %q 无效: 天数应在 1 至 %d 之间", s, MaxDurationDays)
	}
	work := strings.HasPrefix(m[2], "work") || strings.Contains(m[2], "工作日")
	return Duration{N: n, Workdays: work}, nil
}

// String is the duration as written in files: "10 workdays" or "7d".
func (d Duration) String() string {
	if d.Workdays {
		return fmt.Sprintf("%d workdays", d.N)
	}
	return fmt.Sprintf("%dd", d.N)
}

// Label is the Chinese form: "10个工作日", "7天".
func (d Duration) Label() string {
	if d.Workdays {
		return fmt.Sprintf("%d个工作日", d.N)
	}
	return fmt.Sprintf("%d天", d.N)
}

// MarshalText writes the duration as in files ("10 workdays", "7d").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
