package bulletin

import (
	"fmt"
	"time"

	"ducha/rules"
)

func d(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }

// fixedBulletin is the bulletin the golden files are made from.
func fixedBulletin() *Bulletin {
	return &Bulletin{
		Number: Number{2018, 5},
		Bureau: DefaultBureau,
		Date:   d(2018, 6, 8),
		Round: Round{
			ID: 12, Kind: "random", Opened: d(2018, 6, 5),
			PeriodFrom: d(2018, 5, 1), PeriodTo: d(2018, 5, 31),
			Method: "查阅工作台账、电话回访村干部和群众",
			Scope:  "全县", Sample: "按乡镇分层随机抽取20%的村", Seed: "5eed0c0ffee",
			Villages: 6, Rules: 8,
		},
		Problems: []Finding{
			{ID: 101, Township: "城关镇", Village: "东风村", Adviser: "张明", Rule: "每月到村服务不少于一次",
				Severity: "一般", Message: "5月无到村服务记录", Found: d(2018, 6, 5), Deadline: d(2018, 6, 19), State: "ordered"},
			{ID: 102, Township: "河口乡", Village: "李家坪村", Adviser: "王芳", Rule: "每季度开展法治讲座",
				Severity: "较重", Message: "第二季度未开展法治讲座 | 台账缺失", Found: d(2018, 6, 5), Deadline: d(2018, 6, 19), State: "ordered"},
			{ID: 103, Township: "城关镇", Village: "向阳村", Adviser: "张明", Rule: "法律便民服务卡信息完整",
				Severity: "一般", Message: "=服务卡未公布微信号", Found: d(2018, 6, 5), Deadline: d(2018, 6, 12), State: "ordered"},
		},
		Earlier: &Earlier{
			SignedOff: []Finding{{ID: 77, Township: "河口乡", Village: "石门村", Adviser: "刘强", Rule: "每月到村服务不少于一次",
				Found: d(2018, 4, 3), State: "signed_off", History: "4月3日发现，4月9日反馈整改，4月12日司法所核实，4月13日销号"}},
			Overdue: []Finding{{ID: 80, Township: "城关镇", Village: "东风村", Adviser: "张明", Rule: "工作台账及时录入",
				Found: d(2018, 5, 2), State: "overdue", History: "5月2日发现，5月16日逾期未反馈"}},
			Interviewed: []Finding{{ID: 80, Township: "城关镇", Village: "东风村", Adviser: "张明", Rule: "工作台账及时录入",
				Found: d(2018, 5, 2), State: "interview", History: "5月21日县司法局约谈"}},
		},
		GoodExamples: []string{"河口乡石门村法律顾问刘强在村民议事会议中增加学法内容，半年内开展法治讲座5次，群众反映良好。"},
		Requirements: []string{"被通报的法律顾问须在整改期限内完成整改，并通过系统提交整改报告及佐证材料。",
			"各司法所要加强日常督导，对整改情况逐一核实。"},
		Activity: []Bar{{"1月", 35}, {"2月", 20}, {"3月", 52}, {"4月", 48}, {"5月", 41}},
		States:   []StateCount{{State: "ordered", N: 3}, {State: "overdue", N: 1}, {State: "signed_off", N: 6}, {State: "interview", N: 1}},
	}
}

// fixedSummary is the summary the golden files are made from: the seed's
// first-half figures.
func fixedSummary() *Summary {
	tot := func(vals ...int64) Totals {
		var t Totals
		for i, k := range []rules.Kind{rules.Lecture, rules.DocumentReview, rules.Consultation, rules.DocumentDrafting,
			rules.LegalAid, rules.Mediation, rules.LegalAffairs, rules.LegalOpinion, rules.Visit} {
			t.Add(k, vals[i], 0)
		}
		t.AmountFen = vals[9]
		return t
	}
	s := &Summary{
		Bureau: DefaultBureau, From: d(2018, 1, 1), To: d(2018, 6, 30),
		Villages: 12, Advisers: 8, Records: 300,
		Totals: tot(48, 42, 650, 46, 6, 39, 10, 18, 120, 25_000_000),
		Townships: []Row{
			{Name: "城关镇", Villages: 7, Advisers: 5, Records: 180, Totals: tot(30, 25, 400, 26, 4, 20, 6, 10, 70, 15_000_000)},
			{Name: "河口乡", Villages: 5, Advisers: 3, Records: 120, Totals: tot(18, 17, 250, 20, 2, 19, 4, 8, 50, 10_000_000)},
		},
		Formula: DefaultFormula,
	}
	for i := 1; i <= 6; i++ {
		s.Months = append(s.Months, Row{Name: fmt.Sprintf("2018-%02d", i), Records: int64(40 + i*3),
			Totals: tot(8, 7, 100+int64(i), 7, 1, 6, 1, 3, 20, int64(i)*1_000_000)})
	}
	var scores []Score
	for i, n := range []string{"邓承展", "王芳", "张明", "刘强"} {
		scores = append(scores, Score{Code: fmt.Sprintf("A%02d", i+1), Name: n, Firm: "某某律师事务所", Villages: 2,
			Totals: tot(int64(5-i), 3, 40, 2, 0, int64(i%2), 0, 1, 10, 2_500_000)})
	}
	s.Ranking = Rank(scores, DefaultFormula, RankingTop)
	s.Rounds = &RoundStats{Total: 9, Periodic: 6, Random: 3, Villages: 40}
	s.Findings = &FindingStats{States: []StateCount{{State: "signed_off", N: 20}, {State: "ordered", N: 4}, {State: "dismissed", N: 1}}}
	return s
}
