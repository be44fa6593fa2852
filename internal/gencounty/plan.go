package main

import (
	"time"

	"ducha/rules"
)

// The half year the activity records cover, and the day of the March training
// (参加培训: 2018-03-24..26; one record per adviser, dated the first day).
var (
	periodFrom  = day(time.January, 1)
	periodTo    = day(time.June, 30)
	trainingDay = day(time.March, 24)
)

// figures are the seed's totals for the first half of 2018: the records of
// each kind add up to exactly these counts (people, 人次, for consultations).
var figures = []struct {
	kind  rules.Kind
	total int
}{
	{rules.Lecture, 48},
	{rules.DocumentReview, 42},
	{rules.Consultation, 650},
	{rules.DocumentDrafting, 46},
	{rules.LegalAid, 6},
	{rules.Mediation, 39},
	{rules.LegalAffairs, 10},
	{rules.LegalOpinion, 18},
}

// recoveredYuan is the economic loss recovered (挽回经济损失), in yuan, spread
// over amountRecords records of the kinds that recover money.
const recoveredYuan = 250000

var amountRecords = map[rules.Kind]int{rules.Mediation: 6, rules.LegalAffairs: 4, rules.LegalAid: 3}

// lecturesPerQuarter splits the 48 lectures between the two quarters.
var lecturesPerQuarter = [2]int{20, 28}

// countyCode is the invented six-digit county part of the twelve-digit
// administrative village codes (4399 is no real prefecture).
const countyCode = "439901"

// townships of 云溪县 and their villages, in code order. Township codes
// follow the administrative convention: 1xx for 镇, 2xx for 乡.
var townships = []struct {
	name, code string
	workers    int // grassroots legal-service workers of its 法律服务所
	villages   []string
}{
	{"青山镇", "101", 2, []string{"岩口村", "竹林村", "杨柳村", "新民村", "红星村", "大坪村", "高峰村", "双河村", "茶园村", "狮子村"}},
	{"石门乡", "201", 1, []string{"柏树村", "枫木村", "金星村", "长冲村", "水井村", "坪上村", "花桥村", "石板村", "龙井村"}},
	{"白沙镇", "102", 2, []string{"凉水村", "向阳村", "田坝村", "张家湾村", "李家坪村", "王家寨村", "黄泥塘村", "桐木村", "杉树村"}},
	{"龙潭镇", "103", 2, []string{"青龙村", "白马村", "马头村", "鹿鸣村", "牛角村", "鸡公岭村", "燕子岩村", "梨树村", "桃花村"}},
	{"桃源乡", "202", 1, []string{"杏林村", "荷塘村", "莲花村", "梅溪村", "竹山村", "松坡村", "柑子园村", "板栗村"}},
	{"柳溪乡", "203", 2, []string{"油茶村", "蜂桶村", "瓦窑村", "石桥村", "木桥村", "铁炉村", "盐井村", "纸厂村", "油坊村"}},
	{"黄土岭乡", "204", 1, []string{"磨盘村", "仓下村", "庙前村", "祠堂村", "学堂村", "书院村", "官庄村", "民主村"}},
	{"马鞍山镇", "104", 2, []string{"团结村", "光明村", "和平村", "胜利村", "幸福村", "富民村", "新华村", "东方村", "上寨村"}},
	{"清水河乡", "205", 1, []string{"下寨村", "中寨村", "大湾村", "小湾村", "长岭村", "高岩村", "深溪村", "浅滩村"}},
	{"松林镇", "105", 2, []string{"三岔村", "四方村", "五里村", "六合村", "七星村", "八角村", "九龙村", "十里村", "百岁村"}},
	{"金竹乡", "206", 1, []string{"千丘村", "万福村", "凤凰村", "锦屏村", "云台村", "雾峰村", "雷公村", "星光村"}},
	{"红岩镇", "106", 1, []string{"月亮湾村", "太阳坪村", "晒谷坪村", "水口村", "山门村", "岭脚村", "坳上村", "冲口村"}},
}

// nonPoverty villages are served too, but are not poverty villages: their
// advisers log visits and law study only, so every record of the seed's
// kinds belongs to a poverty village.
var nonPoverty = []string{"新民村", "向阳村", "新华村", "三岔村"}

// Villages with a story of their own.
const (
	// The lazy lawyer serves exactly these two villages and skipped the
	// March training.
	lazyVillage1 = "燕子岩村" // no visit in May or June, phone consultations only
	lazyVillage2 = "鸡公岭村" // no record at all after 2018-05-22
	// The adviser of vacantVillage (his only village) left on 2018-05-31 and
	// nobody has been assigned since: 顾问未配备 on 2018-06-30.
	vacantVillage = "雷公村"
	// Handed over to another adviser mid-period; served without a gap.
	handover1 = "狮子村" // to 2018-03-31, new adviser from 2018-04-01
	handover2 = "祠堂村" // to 2018-04-15, new adviser from 2018-04-16
)

var (
	vacantUntil   = day(time.May, 31)
	handover1Last = day(time.March, 31)
	handover2Last = day(time.April, 15)
)

// special describes how a village is deliberately under-served.
type special struct {
	noVisit     []time.Month // months without a visit (phone consultations instead)
	silentFrom  time.Time    // first day of a stretch without any record (不作为)
	silentTo    time.Time    // last day of that stretch
	noLawStudy  []int        // quarters without law study; a lecture is held instead
	noEducation []int        // quarters with neither a lecture nor law study
	onlyVisits  []int        // quarters in which nothing but visits is logged
}

// specials are the deliberately under-served villages, by name.
var specials = map[string]special{
	"石板村":        {noVisit: []time.Month{time.February}},
	"油坊村":        {noVisit: []time.Month{time.March}},
	"庙前村":        {noVisit: []time.Month{time.April}},
	"梅溪村":        {noVisit: []time.Month{time.May}},
	"杉树村":        {noVisit: []time.Month{time.June}},
	"冲口村":        {noVisit: []time.Month{time.June}},
	lazyVillage1: {noVisit: []time.Month{time.May, time.June}},
	lazyVillage2: {silentFrom: day(time.May, 23), silentTo: periodTo},
	"高岩村":        {silentFrom: day(time.February, 27), silentTo: day(time.April, 8)},
	"长冲村":        {noEducation: []int{1}},
	"八角村":        {onlyVisits: []int{2}},
	"上寨村":        {onlyVisits: []int{2}},
	"竹林村":        {noLawStudy: []int{1}},
	"板栗村":        {noLawStudy: []int{2}},
	"九龙村":        {noLawStudy: []int{2}},
}

// Advisers with a story, chosen from the roster by rule (README names them).
const (
	incompleteCardOffice = "柳溪乡法律服务所" // its first worker's card has a phone only
	skipTrainingOffice   = "红岩镇法律服务所" // its first worker skipped the training
	skipTrainingLawyer   = 5          // so did the fifth lawyer (besides the lazy one)
)

var firms = []string{"云溪正源律师事务所", "云溪衡平律师事务所", "云溪信和律师事务所", "溪州明德律师事务所"}

// notes are the Chinese notes of each kind's records.
var notes = map[rules.Kind][]string{
	rules.Lecture: {
		"在村委会开展扶贫政策与法律知识讲座", "开展《土地管理法》专题法治讲座", "到村小学上法制课",
		"开展防范电信诈骗普法宣传", "开展婚姻家庭与继承法律知识讲座", "开展农村土地承包经营权确权法律讲座",
		"开展《人民调解法》宣讲", "开展扫黑除恶专项斗争法治宣传", "开展禁毒法治宣传", "开展农民工维权法律知识讲座",
	},
	rules.DocumentReview: {
		"修订村规民约", "审查土地流转合同", "审查村集体山林承包合同", "审查扶贫产业合作协议",
		"审查人民调解协议书", "审查村道建设施工合同", "审查光伏扶贫项目协议", "审查村集体鱼塘租赁合同",
	},
	rules.Consultation: {
		"为村民解答土地承包纠纷咨询", "解答赡养纠纷咨询", "解答婚姻家庭法律咨询", "解答农民工工资拖欠咨询",
		"解答宅基地纠纷咨询", "解答交通事故赔偿咨询", "解答低保及扶贫政策法律咨询", "解答民间借贷纠纷咨询",
		"解答工伤赔偿咨询", "解答相邻关系纠纷咨询", "解答林地承包合同咨询", "解答继承纠纷咨询",
	},
	rules.DocumentDrafting: {
		"代写民事起诉状", "代写离婚协议书", "代写赡养协议", "代写劳动仲裁申请书",
		"代写借款合同", "代写民事答辩状", "代写遗嘱", "代写土地流转协议",
	},
	rules.LegalAid: {
		"协助村民申请法律援助(交通事故赔偿)", "协助残疾村民申请法律援助", "协助申请法律援助(赡养纠纷)",
	},
	rules.Mediation: {
		"参与调解土地界址纠纷", "参与调解邻里纠纷", "参与调解婚姻家庭纠纷", "参与调解山林权属纠纷",
		"参与调解赡养纠纷", "参与调解宅基地纠纷", "参与调解灌溉用水纠纷",
	},
	rules.LegalAffairs: {
		"协助村委会处理征地拆迁补偿事务", "协助处理村集体资产清理事务", "协助处理林地征收补偿事务",
	},
	rules.LegalOpinion: {
		"就村集体土地流转出具法律意见书", "就扶贫产业项目合作出具法律意见书", "就村级债务清理出具法律意见书",
		"就村民信访事项出具法律意见书", "就征地补偿分配方案出具法律意见书",
	},
	rules.Visit: {
		"到村走访贫困户", "到村坐班接待群众", "到村开展矛盾纠纷排查", "入户走访了解法律需求", "到村服务，张贴法律便民服务卡",
	},
	rules.LawStudy: {
		"参加村两委会议，组织会议学法", "在村民代表大会上讲解相关法律", "在村支部会议上组织学习《村民委员会组织法》",
		"在村支部会议上组织学习扶贫政策法规",
	},
}

// amountNotes are the notes of records that recovered money.
var amountNotes = map[rules.Kind][]string{
	rules.Mediation:    {"参与调解劳务报酬纠纷，协助追回拖欠工资", "参与调解交通事故赔偿纠纷，协助获得赔偿", "参与调解买卖合同纠纷，协助追回货款"},
	rules.LegalAffairs: {"协助处理村民外出务工欠薪事务，追回工资", "协助处理扶贫项目工程款结算，追回欠款"},
	rules.LegalAid:     {"协助申请法律援助(农民工讨薪)，追回欠薪", "协助申请法律援助(工伤赔偿)，获得赔偿"},
}

const (
	phoneNote    = "电话解答村民法律咨询"
	trainingNote = "参加2018年精准脱贫村法律顾问专题培训(3月24日至26日)"
)

// Two rare records during the Spring Festival holiday (2018-02-15..21).
var springFestival = []struct {
	date  time.Time
	kind  rules.Kind
	count int
	note  string
}{
	{day(time.February, 18), rules.Mediation, 1, "春节期间参与调解赡养纠纷"},
	{day(time.February, 20), rules.Consultation, 5, "春节返乡务工人员咨询劳动合同与欠薪问题"},
}

// The official 2018 calendar: public holidays and the weekend days worked
// in exchange (调休).
var (
	holidays = dateSet(
		span(day(time.January, 1), day(time.January, 1)),
		span(day(time.February, 15), day(time.February, 21)),
		span(day(time.April, 5), day(time.April, 7)),
		span(day(time.April, 29), day(time.May, 1)),
		span(day(time.June, 18), day(time.June, 18)),
	)
	makeupDays = dateSet([]time.Time{day(time.February, 11), day(time.February, 24), day(time.April, 8), day(time.April, 28)})
)

func day(m time.Month, d int) time.Time { return time.Date(2018, m, d, 0, 0, 0, 0, time.UTC) }

func span(from, to time.Time) []time.Time {
	var out []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

func dateSet(spans ...[]time.Time) map[time.Time]bool {
	m := make(map[time.Time]bool)
	for _, s := range spans {
		for _, d := range s {
			m[d] = true
		}
	}
	return m
}

// workday reports whether d is a working day in 2018.
func workday(d time.Time) bool {
	if makeupDays[d] {
		return true
	}
	if holidays[d] {
		return false
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

// nextWorkday is d or the first working day after it.
func nextWorkday(d time.Time) time.Time {
	for !workday(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// quarter is 1 for January..March, 2 for April..June.
func quarter(d time.Time) int { return (int(d.Month())-1)/3 + 1 }

func quarterSpan(q int) (time.Time, time.Time) {
	from := day(time.Month(3*q-2), 1)
	return from, from.AddDate(0, 3, -1)
}
