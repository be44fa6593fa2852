package importer

import (
	"fmt"
	"strings"

	"ducha/store"
)

// field is one column a file of some kind may have.
type field struct {
	name     string   // English header, also the name store.ImportOptions.Columns uses
	label    string   // Chinese header
	aliases  []string // other accepted headers
	required bool
}

// fields lists each kind's columns in the order the documentation gives.
var fields = map[store.ImportTable][]field{
	store.ImportVillages: {
		{"code", "村代码", []string{"村编码", "村编号", "代码"}, true},
		{"name", "村名", []string{"村名称", "村庄名称", "名称"}, true},
		{"township", "乡镇", []string{"乡镇名称", "所属乡镇", "乡(镇)"}, true},
		{"poverty", "是否贫困村", []string{"贫困村", "精准脱贫村"}, false},
	},
	store.ImportAdvisers: {
		{"code", "顾问编号", []string{"编号", "法律顾问编号"}, true},
		{"name", "姓名", []string{"顾问姓名", "法律顾问"}, true},
		{"kind", "类别", []string{"类型", "顾问类别"}, true},
		{"firm", "执业机构", []string{"律师事务所", "法律服务所", "所在单位"}, false},
		{"phone", "电话", []string{"联系电话", "手机", "手机号"}, false},
		{"qq", "QQ", []string{"qq号"}, false},
		{"wechat", "微信", []string{"微信号"}, false},
		{"email", "邮箱", []string{"电子邮箱", "e-mail", "电子邮件"}, false},
	},
	store.ImportAssignments: {
		{"adviser", "顾问编号", []string{"法律顾问编号"}, true},
		{"village", "村代码", []string{"村编码", "村编号"}, true},
		{"from", "起始日期", []string{"开始日期", "聘任日期", "起聘日期"}, true},
		{"to", "终止日期", []string{"结束日期", "截止日期", "解聘日期"}, false},
	},
	store.ImportActivities: {
		{"adviser", "顾问编号", []string{"法律顾问编号"}, true},
		{"village", "村代码", []string{"村编码", "村编号"}, true},
		{"kind", "类别", []string{"工作类别", "类型"}, true},
		{"date", "日期", []string{"工作日期", "服务日期"}, true},
		{"count", "数量", []string{"次数", "人次"}, false},
		{"amount_yuan", "挽回经济损失(元)", []string{"挽回经济损失", "挽回损失(元)", "amount"}, false},
		{"note", "备注", []string{"说明"}, false},
	},
}

// normHeader makes header matching forgiving of case, spaces, full-width
// brackets and a required-column star.
func normHeader(s string) string {
	s = strings.NewReplacer("（", "(", "）", ")", " ", "", "\u3000", "", "\t", "").Replace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "*"), "*")
	return strings.ToLower(s)
}

// layout is where each field sits in a file.
type layout struct {
	pos     map[string]int // field name → 0-based column
	headers []string       // the header row as written
	present []string       // field names, in file order
}

// mapHeader finds the columns by their headers. Blank headers are ignored
// (spreadsheets often carry empty trailing columns); an unknown header or a
// header given twice is an error, so that a misspelt column is never
// silently dropped; so is a missing required column.
func mapHeader(t store.ImportTable, header []string, p *problems) *layout {
	byName := make(map[string]string)
	for _, f := range fields[t] {
		for _, n := range append([]string{f.name, f.label}, f.aliases...) {
			byName[normHeader(n)] = f.name
		}
	}
	l := &layout{pos: make(map[string]int), headers: append([]string(nil), header...)}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		name, ok := byName[normHeader(h)]
		switch {
		case !ok:
			p.add(1, i, h, fmt.Sprintf("未知的列 %q; %s文件可用的列: %s", h, nouns[t].what, choices(t)))
		case l.has(name):
			p.add(1, i, h, fmt.Sprintf("列 %q 与第 %s 列 %q 重复", h, colName(l.pos[name]), l.headers[l.pos[name]]))
		default:
			l.pos[name] = i
			l.present = append(l.present, name)
		}
	}
	for _, f := range fields[t] {
		if f.required && !l.has(f.name) {
			p.add(1, -1, "", fmt.Sprintf("缺少必需的列 %q (%s)", f.label, f.name))
		}
	}
	return l
}

func (l *layout) has(name string) bool {
	_, ok := l.pos[name]
	return ok
}

// choices lists a kind's columns for messages, required ones first-marked.
func choices(t store.ImportTable) string {
	var parts []string
	for _, f := range fields[t] {
		s := f.label + "/" + f.name
		if f.required {
			s += "(必需)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// noun is how a kind's rows are named in messages and summaries.
type noun struct {
	what, unit string
}

var nouns = map[store.ImportTable]noun{
	store.ImportVillages:    {"村", "个"},
	store.ImportAdvisers:    {"法律顾问", "名"},
	store.ImportAssignments: {"聘任", "条"},
	store.ImportActivities:  {"工作记录", "条"},
}
