package rules

import (
	"fmt"
	"strings"
)

// Severity grades a finding.
type Severity string

const (
	General Severity = "general" // 一般
	Serious Severity = "serious" // 较重
	Severe  Severity = "severe"  // 严重
)

// ParseSeverity accepts general/serious/severe or 一般/较重/严重.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "general", "一般":
		return General, nil
	case "serious", "较重":
		return Serious, nil
	case "severe", "严重":
		return Severe, nil
	}
	return "", fmt.Errorf("严重程度 %q 无效: 应为 一般/general, 较重/serious 或 严重/severe", s)
}

// Label is the severity's Chinese name.
func (s Severity) Label() string {
	switch s {
	case General:
		return "一般"
	case Serious:
		return "较重"
	case Severe:
		return "严重"
	}
	return string(s)
}

// Rank orders severities: general 1, serious 2, severe 3.
func (s Severity) Rank() int {
	switch s {
	case General:
		return 1
	case Serious:
		return 2
	case Severe:
		return 3
	}
	return 0
}
