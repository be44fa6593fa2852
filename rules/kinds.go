package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is an activity kind: one kind of work an adviser logs (工作记录类别).
// The codes are stable identifiers used in files, the database and
// expressions; the labels are what users read.
type Kind string

// The activity kinds of the programme, in the order the seed's summary lists them.
const (
	Lecture          Kind = "lecture"           // 法治讲座/普法活动
	DocumentReview   Kind = "document_review"   // 修订村规民约、审查合同/协议书/调解书
	Consultation     Kind = "consultation"      // 法律咨询 (counts people, 人次)
	DocumentDrafting Kind = "document_drafting" // 代写法律文书
	LegalAid         Kind = "legal_aid"         // 申请法律援助
	Mediation        Kind = "mediation"         // 参与人民调解
	LegalAffairs     Kind = "legal_affairs"     // 协助处理涉法事务
	LegalOpinion     Kind = "legal_opinion"     // 出具法律意见书
	Visit            Kind = "visit"             // 到村服务
	Training         Kind = "training"          // 参加培训
	LawStudy         Kind = "law_study"         // 村两委会议学法
)

type kindInfo struct {
	kind    Kind
	label   string   // the Chinese name shown to users
	unit    string   // the unit of its count in summaries: 次, 人次, 件
	aliases []string // other names accepted in files and expressions
}

var kindTable = []kindInfo{
	{Lecture, "法治讲座", "次", []string{"讲座", "普法活动", "法制讲座", "法治讲座教育普法活动", "法制课"}},
	{DocumentReview, "审查合同", "次", []string{"修订村规民约", "审查合同协议", "审查协议书", "审查调解书", "合同审查"}},
	{Consultation, "法律咨询", "人次", []string{"解答法律咨询", "咨询"}},
	{DocumentDrafting, "代写法律文书", "件", []string{"代写文书", "法律文书"}},
	{LegalAid, "申请法律援助", "次", []string{"法律援助"}},
	{Mediation, "人民调解", "次", []string{"参与人民调解", "调解"}},
	{LegalAffairs, "协助处理涉法事务", "次", []string{"涉法事务"}},
	{LegalOpinion, "出具法律意见书", "次", []string{"法律意见书"}},
	{Visit, "到村服务", "次", []string{"走访", "驻村服务", "到村"}},
	{Training, "参加培训", "次", []string{"培训"}},
	{LawStudy, "会议学法", "次", []string{"村两委会议学法", "村支部会议学法", "学法"}},
}

var kindByName = func() map[string]Kind {
	m := make(map[string]Kind)
	for _, k := range kindTable {
		m[string(k.kind)] = k.kind
		m[k.label] = k.kind
		for _, a := range k.aliases {
			m[a] = k.kind
		}
	}
	return m
}()

// Kinds returns every activity kind in display order.
func Kinds() []Kind {
	out := make([]Kind, len(kindTable))
	for i, k := range kindTable {
		out[i] = k.kind
	}
	return out
}

// ParseKind accepts a kind by its code, its Chinese label or an alias.
func ParseKind(s string) (Kind, error) {
	if k, ok := kindByName[strings.TrimSpace(s)]; ok {
		return k, nil
	}
	if k, ok := kindByName[strings.ToLower(strings.TrimSpace(s))]; ok {
		return k, nil
	}
	return "", fmt.Errorf("未知的工作记录类别 %q (应为 %s)", s, KindChoices())
}

// KindChoices lists the accepted codes with their labels, for error messages.
func KindChoices() string {
	parts := make([]string, len(kindTable))
	for i, k := range kindTable {
		parts[i] = string(k.kind) + "/" + k.label
	}
	return strings.Join(parts, ", ")
}

// Label is the kind's Chinese name.
func (k Kind) Label() string {
	for _, i := range kindTable {
		if i.kind == k {
			return i.label
		}
	}
	return string(k)
}

// Unit is the unit of the kind's count: 次, 人次 or 件.
func (k Kind) Unit() string {
	for _, i := range kindTable {
		if i.kind == k {
			return i.unit
		}
	}
	return "次"
}

// Valid reports whether k is a known kind code.
func (k Kind) Valid() bool {
	_, ok := kindByName[string(k)]
	return ok && kindByName[string(k)] == k
}

// NumKinds is how many activity kinds there are (len(Kinds())).
const NumKinds = 11

// kindIndex maps each kind code to its position in kindTable.
var kindIndex = func() map[string]int {
	if len(kindTable) != NumKinds {
		panic("rules: NumKinds does not match the kind table")
	}
	m := make(map[string]int, NumKinds)
	for i, k := range kindTable {
		m[string(k.kind)] = i
	}
	return m
}()

// Index is k's position in Kinds() (0 ≤ Index < NumKinds), or -1 when k is
// not a kind code.
func (k Kind) Index() int {
	if i, ok := kindIndex[string(k)]; ok {
		return i
	}
	return -1
}

// KindIndexOf is Kind(b).Index() without converting b to a string.
func KindIndexOf(b []byte) int {
	if i, ok := kindIndex[string(b)]; ok { // no allocation: the compiler's map[string(b)] form
		return i
	}
	return -1
}

// SortKinds sorts kinds into display order.
func SortKinds(ks []Kind) {
	sort.Slice(ks, func(a, b int) bool { return ks[a].Index() < ks[b].Index() })
}
