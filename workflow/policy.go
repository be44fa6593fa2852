package workflow

import "fmt"

// Policy is the escalation policy (the `policy:` section of the config
// file). Zero counts switch a rule off. DefaultPolicy() documents the defaults.
type Policy struct {
	// Deadlines is the rectification period per severity, used when a rule
	// gives no rectify_within and the actor gives no --deadline-days.
	Deadlines map[Severity]Within `yaml:"deadlines"`
	// RemindBefore: one reminder (催办) this many working days before each
	// deadline. 0: no reminders.
	RemindBefore int `yaml:"remind_before_workdays"`
	// SummonWhenOverdue: summon the adviser to an interview once the
	// finding is overdue.
	SummonWhenOverdue bool `yaml:"summon_when_overdue"`
	// SummonAfterRejections: summon after this many rejected rectification
	// reports. 0: never.
	SummonAfterRejections int `yaml:"summon_after_rejections"`
	// SummonSevere: summon at once when a severe (严重) finding is ordered.
	SummonSevere bool `yaml:"summon_severe"`
	// EscalateAfterInterview: hold the adviser accountable when the finding
	// is still overdue this many working days after the interview. 0: never.
	EscalateAfterInterview int `yaml:"escalate_after_interview_workdays"`
	// RepeatFindings within RepeatDays: an adviser with at least this many
	// findings discovered within the last RepeatDays days is held
	// accountable on each of them that is overdue or in interview. 0: never.
	RepeatFindings int `yaml:"repeat_offender_findings"`
	RepeatDays     int `yaml:"repeat_offender_days"`
	// YellowWithin: an ordered finding due within this many working days
	// shows yellow.
	YellowWithin int `yaml:"yellow_within_workdays"`
	// Automatic summons: the interview takes place this many working days
	// after the summons, at SummonHour, at SummonPlace, by SummonInterviewer.
	SummonAfterWorkdays int    `yaml:"summon_after_workdays"`
	SummonHour          int    `yaml:"summon_hour"`
	SummonPlace         string `yaml:"summon_place"`
	SummonInterviewer   string `yaml:"summon_interviewer"`
	// Measure recorded by automatic escalations; one of Measures.
	Measure string `yaml:"measure"`
}

// DefaultPolicy is the policy used when the config file says nothing.
func DefaultPolicy() Policy {
	return Policy{
		Deadlines: map[Severity]Within{
			General: {N: 10, Workdays: true},
			Serious: {N: 7, Workdays: true},
			Severe:  {N: 5, Workdays: true},
		},
		RemindBefore:           2,
		SummonWhenOverdue:      true,
		SummonAfterRejections:  2,
		SummonSevere:           true,
		EscalateAfterInterview: 5,
		RepeatFindings:         3,
		RepeatDays:             90,
		YellowWithin:           3,
		SummonAfterWorkdays:    2,
		SummonHour:             9,
		SummonPlace:            "县司法局",
		SummonInterviewer:      "县司法局督查室",
		Measure:                "通报批评",
	}
}

// DeadlineFor is the default rectification period for a severity (10
// working days when the policy names none).
func (p Policy) DeadlineFor(s Severity) Within {
	if w, ok := p.Deadlines[s]; ok && w.N > 0 {
		return w
	}
	return Within{N: 10, Workdays: true}
}

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	for s, w := range p.Deadlines {
		if w.N <= 0 {
			return fmt.Errorf("policy.deadlines.%s: 期限应为正数", s)
		}
	}
	for name, v := range map[string]int{
		"remind_before_workdays": p.RemindBefore, "summon_after_rejections": p.SummonAfterRejections,
		"escalate_after_interview_workdays": p.EscalateAfterInterview, "repeat_offender_findings": p.RepeatFindings,
		"repeat_offender_days": p.RepeatDays, "yellow_within_workdays": p.YellowWithin,
		"summon_after_workdays": p.SummonAfterWorkdays,
	} {
		if v < 0 {
			return fmt.Errorf("policy.%s: 不能为负数", name)
		}
	}
	if p.SummonHour < 0 || p.SummonHour > 23 {
		return fmt.Errorf("policy.summon_hour: 应在 0..23 之间")
	}
	if p.Measure != "" {
		ok := false
		for _, m := range Measures {
			ok = ok || m == p.Measure
		}
		if !ok {
			return fmt.Errorf("policy.measure: %q 不是问责措施之一", p.Measure)
		}
	}
	return nil
}
