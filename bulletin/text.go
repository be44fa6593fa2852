package bulletin

import (
	"fmt"
	"strings"

	"ducha/rules"
)

// phrases say each kind's total the way the seed's summary does.
var phrases = []struct {
	kind rules.Kind
	text string // with %d for the count
}{
	{rules.Lecture, "开设法治讲座教育普法活动%d次"},
	{rules.DocumentReview, "帮助修订村规民约、审查合同、协议书、调解书%d次"},
	{rules.Consultation, "解答法律咨询%d人次"},
	{rules.DocumentDrafting, "代写法律文书%d件"},
	{rules.LegalAid, "申请法律援助%d次"},
	{rules.Mediation, "参与人民调解%d次"},
	{rules.LegalAffairs, "协助处理涉法事务%d次"},
	{rules.LegalOpinion, "出具法律意见书%d次"},
}

// further kinds the seed does not list; said in a second sentence when nonzero.
var furtherPhrases = []struct {
	kind rules.Kind
	text string
}{
	{rules.Visit, "到村服务%d次"},
	{rules.Training, "参加培训%d次"},
	{rules.LawStudy, "在村两委会议中组织学法%d次"},
}

// Achievements is the summary's main paragraph in the seed's words:
// "截止到2018年6月30日，全县精准脱贫村法律顾问共开设法治讲座教育普法活动48次，…".
func (s *Summary) Achievements() string {
	var parts []string
	for _, p := range phrases {
		parts = append(parts, fmt.Sprintf(p.text, s.Totals.Count(p.kind)))
	}
	parts = append(parts, "协助挽回经济损失"+YuanText(s.Totals.AmountFen))
	text := fmt.Sprintf("截止到%s，%s精准脱贫村法律顾问共%s。", DateText(s.To), s.scopeName(), strings.Join(parts, "，"))
	var more []string
	for _, p := range furtherPhrases {
		if n := s.Totals.Count(p.kind); n > 0 {
			more = append(more, fmt.Sprintf(p.text, n))
		}
	}
	if len(more) > 0 {
		text += "此外，法律顾问" + strings.Join(more, "，") + "。"
	}
	return text
}

// Overview says what the figures cover.
func (s *Summary) Overview() string {
	return fmt.Sprintf("统计期间为%s至%s，范围为%s%d个村，期间聘任法律顾问%d名，共有工作记录%d条。",
		DateText(s.From), DateText(s.To), s.scopeName(), s.Villages, s.Advisers, s.Records)
}

// InspectionText is the paragraph on rounds and findings; empty while
// neither section is filled.
func (s *Summary) InspectionText() string {
	var parts []string
	if r := s.Rounds; r != nil {
		parts = append(parts, fmt.Sprintf("开展督查%d次(定期督查%d次、不定期随机抽查%d次、专项督查%d次)，督查村%d村次",
			r.Total, r.Periodic, r.Random, r.Manual, r.Villages))
	}
	if f := s.Findings; f != nil {
		parts = append(parts, fmt.Sprintf("发现问题%d个，已整改销号%d个，整改率%.1f%%", f.Total(), f.N("signed_off"), f.Rate()))
		if n := f.N("interview"); n > 0 {
			parts = append(parts, fmt.Sprintf("约谈%d人次", n))
		}
		if n := f.N("accountability"); n > 0 {
			parts = append(parts, fmt.Sprintf("问责%d人次", n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "期间共" + strings.Join(parts, "，") + "。"
}

// columns of the per-township and per-month tables: short headings.
var columns = []struct {
	kind  rules.Kind
	title string
}{
	{rules.Lecture, "讲座"}, {rules.DocumentReview, "审查"}, {rules.Consultation, "咨询(人次)"},
	{rules.DocumentDrafting, "文书(件)"}, {rules.LegalAid, "援助"}, {rules.Mediation, "调解"},
	{rules.LegalAffairs, "涉法事务"}, {rules.LegalOpinion, "意见书"}, {rules.Visit, "到村"},
	{rules.Training, "培训"}, {rules.LawStudy, "学法"},
}

// tableHead is the heading row of a totals table after its first column.
func tableHead() []string {
	h := make([]string, 0, len(columns)+1)
	for _, c := range columns {
		h = append(h, c.title)
	}
	return append(h, "挽回损失(元)")
}

// tableCells is a totals row's cells after its first column.
func tableCells(t Totals) []string {
	c := make([]string, 0, len(columns)+1)
	for _, col := range columns {
		c = append(c, fmt.Sprint(t.Count(col.kind)))
	}
	return append(c, YuanValue(t.AmountFen))
}

// kindRows is the per-kind list: label, total, unit.
func (s *Summary) kindRows() [][3]string {
	var rows [][3]string
	for _, k := range rules.Kinds() {
		rows = append(rows, [3]string{k.Label(), fmt.Sprint(s.Totals.Count(k)), k.Unit()})
	}
	return append(rows, [3]string{"挽回经济损失", YuanValue(s.Totals.AmountFen), "元"})
}

// EarlierText is the paragraph on earlier findings.
func (e *Earlier) Text() string {
	return fmt.Sprintf("对前期督查发现的问题，已整改销号%d个，逾期未整改%d个，约谈法律顾问%d人次，问责%d人次。",
		len(e.SignedOff), len(e.Overdue), len(e.Interviewed), len(e.Accountable))
}

// RoundText is the paragraph describing the inspection.
func (b *Bulletin) RoundText() string {
	r := b.Round
	var s strings.Builder
	fmt.Fprintf(&s, "%s，%s对%s精准脱贫村法律顾问工作开展了%s", DateText(r.Opened), b.Bureau, r.Scope, r.KindLabel())
	if !r.PeriodFrom.IsZero() {
		fmt.Fprintf(&s, "，督查期间为%s至%s", DateText(r.PeriodFrom), DateText(r.PeriodTo))
	}
	if r.Method != "" {
		fmt.Fprintf(&s, "，督查采取%s的方式", r.Method)
	}
	s.WriteString("。")
	if r.Sample != "" {
		s.WriteString(r.Sample)
		if r.Seed != "" {
			fmt.Fprintf(&s, "（随机种子 %s，可复核）", r.Seed)
		}
		s.WriteString("。")
	}
	fmt.Fprintf(&s, "本次共督查%d个村，对照督查工作清单%d项内容逐项检查，发现问题%d个", r.Villages, r.Rules, len(b.Problems))
	if len(b.Problems) > 0 {
		ts := b.ByTownship()
		fmt.Fprintf(&s, "，涉及%d个乡镇、%d名法律顾问", len(ts), b.advisersNamed())
	}
	s.WriteString("。")
	return s.String()
}

func (b *Bulletin) advisersNamed() int {
	m := map[string]bool{}
	for _, p := range b.Problems {
		m[p.Adviser] = true
	}
	return len(m)
}

// CorrectionText is the paragraph of a 更正 bulletin.
func (c *Correction) Text() string {
	return fmt.Sprintf("我局%s督查通报中有误，现予更正。更正原因：%s。相关内容以本通报为准。", c.Number, strings.TrimRight(c.Reason, "。"))
}
