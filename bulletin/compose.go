package bulletin

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"ducha/rules"
	"ducha/workflow"
)

// RoundInput is what a round's bulletin is composed from: the round, the
// problems it found (new findings and repeats recorded on open ones), the
// findings of earlier rounds as they stand, and the period's ranking for
// the good examples.
type RoundInput struct {
	Bureau   string
	Date     time.Time // civil date of publication
	Round    *workflow.Round
	Problems []*workflow.Finding
	Earlier  []*workflow.Finding
	Ranking  []Score // best advisers of the period, best first
	States   []StateCount
}

// FromRound composes the bulletin of a round: what was inspected and how,
// the problems by township and rule with the advisers named, how earlier
// problems were rectified, good examples (the best-ranked advisers of the
// period with no problem in this round), and what is required next.
func FromRound(in RoundInput) *Bulletin {
	r := in.Round
	b := &Bulletin{
		Bureau: in.Bureau, Date: in.Date, States: in.States,
		Round: Round{
			ID: r.ID, Kind: r.Kind, Opened: r.OpenedAt, PeriodFrom: r.From, PeriodTo: r.To,
			Method:   "系统比对法律顾问工作台账 (到村服务、法治讲座、法律咨询等工作记录) 与督查工作清单",
			Scope:    workflow.ScopeLabel(r.Scope),
			Villages: r.Villages, Rules: len(r.Rules),
		},
	}
	if d := r.Draw; d != nil {
		b.Round.Sample = fmt.Sprintf("%s, 由督查开启前登记承诺值 (SHA-256 %s) 的随机种子决定, 任何人可用 ducha round verify %d 复核",
			workflow.ScopeLabel(r.Scope), d.Commitment, r.ID)
		b.Round.Seed = d.Seed
		if len(d.Excluded) > 0 {
			b.Round.Sample += fmt.Sprintf("; 近期已被抽查的 %d 个村不再抽取", len(d.Excluded))
		}
	}
	named := map[string]bool{}
	for _, f := range in.Problems {
		b.Problems = append(b.Problems, finding(f))
		named[f.Adviser] = true
	}
	if len(in.Earlier) > 0 {
		e := &Earlier{}
		for _, f := range in.Earlier {
			switch f.State {
			case workflow.SignedOff:
				e.SignedOff = append(e.SignedOff, finding(f))
			case workflow.Overdue:
				e.Overdue = append(e.Overdue, finding(f))
			case workflow.Interview:
				e.Interviewed = append(e.Interviewed, finding(f))
			case workflow.Accountability:
				e.Accountable = append(e.Accountable, finding(f))
			}
		}
		b.Earlier = e
	}
	for _, s := range in.Ranking {
		if named[s.Code] || len(b.GoodExamples) == 3 {
			continue
		}
		b.GoodExamples = append(b.GoodExamples, goodExample(s, r))
	}
	b.Requirements = requirements(b)
	return b
}

func finding(f *workflow.Finding) Finding {
	out := Finding{
		ID: f.ID, Township: f.Township, Village: f.VillageName, Adviser: f.AdviserName, Rule: f.RuleTitle,
		Severity: f.Severity.Label(), Message: f.Message, Found: workflow.CivilDate(f.CreatedAt), State: string(f.State),
	}
	if out.Adviser == "" {
		out.Adviser = "(未配备)"
	}
	if f.Deadline != nil {
		out.Deadline = *f.Deadline
	}
	if f.RepeatCount > 0 {
		out.History = fmt.Sprintf("再次发现 %d 次", f.RepeatCount)
	}
	return out
}

func goodExample(s Score, r *workflow.Round) string {
	var parts []string
	for _, k := range []struct {
		kind  rules.Kind
		label string
	}{{rules.Lecture, "开展法治讲座"}, {rules.Consultation, "解答法律咨询"}, {rules.Mediation, "参与人民调解"},
		{rules.DocumentReview, "审查合同、协议"}, {rules.Visit, "到村服务"}} {
		if n := s.Totals.Count(k.kind); n > 0 {
			parts = append(parts, fmt.Sprintf("%s%d%s", k.label, n, k.kind.Unit()))
		}
	}
	who := s.Name
	if s.Firm != "" {
		who = s.Firm + s.Name
	}
	text := fmt.Sprintf("%s服务 %d 个村, %s 至 %s 期间%s", who, s.Villages,
		r.From.Format("1月2日"), r.To.Format("1月2日"), strings.Join(parts, "、"))
	if s.Totals.AmountFen > 0 {
		text += fmt.Sprintf(", 协助挽回经济损失 %.2f 万元", float64(s.Totals.AmountFen)/1e6)
	}
	return text + ", 工作扎实, 予以通报表扬。"
}

func requirements(b *Bulletin) []string {
	var out []string
	if len(b.Problems) > 0 {
		out = append(out, fmt.Sprintf("本期通报的 %d 个问题, 相关法律顾问须在整改期限内完成整改, 并通过系统提交整改报告和佐证材料; 逾期未整改的, 将依规约谈直至问责。", len(b.Problems)))
		towns := map[string]bool{}
		for _, p := range b.Problems {
			towns[p.Township] = true
		}
		var names []string
		for t := range towns {
			names = append(names, t)
		}
		sort.Strings(names)
		out = append(out, fmt.Sprintf("%s司法所要加强日常督导, 对本辖区问题的整改情况逐一实地核实。", strings.Join(names, "、")))
	} else {
		out = append(out, "本期督查未发现问题, 各法律顾问要保持良好势头, 继续做好到村服务。")
	}
	out = append(out, "各法律顾问要及时、完整登记工作台账, 按时开展法治讲座和到村服务, 保持法律便民服务卡信息完整, 确保群众找得到、问得着。")
	return out
}
