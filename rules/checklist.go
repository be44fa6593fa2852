package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// Checklist is a compiled inspection checklist (督查工作清单).
//
// The file is YAML:
//
//	title: 2018年一村一法律顾问督查工作清单    # optional
//	rules:
//	  - id: lecture_quarterly                 # [a-z][a-z0-9_]*, unique
//	    title: 每季度至少开展一次法治讲座      # shown in findings and bulletins
//	    description: …                         # optional
//	    applies_to:                            # optional; default every village
//	      poverty_only: true                   # only poverty villages (精准脱贫村)
//	      townships: [城关镇, 河口乡]           # only these townships
//	    window: quarter                        # month, quarter, half_year, year or 30d
//	    condition: events("lecture", "law_study") >= 1   # see Env
//	    severity: 较重                          # 一般/general, 较重/serious, 严重/severe
//	    rectify_within: 10 workdays            # or 10 工作日, 7d, 7天
//	    message: "{{.village.name}}{{.window.label}}开展法治讲座{{events \"lecture\"}}次"
//
// Unknown keys, duplicate ids, bad windows, durations, severities,
// expressions and templates are all reported, each as FILE:LINE:COL.
type Checklist struct {
	File  string
	Title string
	Rules []*Rule
}

// Rule is one compiled check of the checklist.
type Rule struct {
	ID            string
	Title         string
	Description   string
	AppliesTo     Applies
	Window        Window
	Condition     string
	Severity      Severity
	RectifyWithin Duration
	Message       string
	Line          int // where the rule starts in its file

	program  *vm.Program
	measures []measure
	tmpl     *template.Template
}

// Applies selects the villages a rule checks.
type Applies struct {
	PovertyOnly bool
	Townships   []string
}

// Match reports whether the rule checks village v.
func (a Applies) Match(v Village) bool {
	if a.PovertyOnly && !v.Poverty {
		return false
	}
	if len(a.Townships) == 0 {
		return true
	}
	for _, t := range a.Townships {
		if t == v.Township {
			return true
		}
	}
	return false
}

// String describes the villages in Chinese.
func (a Applies) String() string {
	s := "全部村"
	if a.PovertyOnly {
		s = "精准脱贫村"
	}
	if len(a.Townships) > 0 {
		s = strings.Join(a.Townships, "、") + "的" + s
	}
	return s
}

// AdviserAssignedID is the rule id of the engine's own check that every
// village in scope has an active adviser on the period end (顾问未配备). It
// is reserved: a checklist may not define it.
const AdviserAssignedID = "adviser_assigned"

// Error is one problem in a checklist file, at a 1-based line and column.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// BadInput marks a checklist error as the user's to fix (exit code 2).
func (e *Error) BadInput() bool { return true }

// Errors is every problem found in a checklist file, in file order.
type Errors []*Error

func (l Errors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// BadInput marks checklist errors as the user's to fix (exit code 2).
func (l Errors) BadInput() bool { return true }

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// maxRules bounds a checklist.
const maxRules = 200

// Parse decodes and compiles a checklist. name is the file name used in
// error positions. The error, if any, is Errors.
func Parse(name string, src []byte) (*Checklist, error) {
	p := &parser{file: name, lines: strings.Split(string(src), "\n")}
	c := p.checklist(src)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(a, b int) bool {
			if p.errs[a].Line != p.errs[b].Line {
				return p.errs[a].Line < p.errs[b].Line
			}
			return p.errs[a].Col < p.errs[b].Col
		})
		return nil, p.errs
	}
	return c, nil
}

type parser struct {
	file  string
	lines []string
	errs  Errors
}

func (p *parser) errorf(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) at(n *yaml.Node, format string, args ...any) {
	p.errorf(n.Line, n.Column, format, args...)
}

func (p *parser) checklist(src []byte) *Checklist {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		p.yamlError(err)
		return nil
	}
	c := &Checklist{File: p.file}
	if len(doc.Content) == 0 {
		p.errorf(1, 1, "清单为空: 应有 rules: 列表")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.at(root, "清单应为映射 (含 title 与 rules)")
		return nil
	}
	var rulesNode *yaml.Node
	p.fields(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "title":
			c.Title = p.str(v)
		case "rules":
			rulesNode = v
		default:
			p.at(k, "未知的键 %q (应为 title 或 rules)", k.Value)
		}
	})
	if rulesNode == nil {
		p.at(root, "缺少 rules: 列表")
		return c
	}
	if rulesNode.Kind != yaml.SequenceNode {
		p.at(rulesNode, "rules 应为列表")
		return c
	}
	if len(rulesNode.Content) > maxRules {
		p.at(rulesNode, "规则过多 (%d 条, 最多 %d 条)", len(rulesNode.Content), maxRules)
	}
	seen := map[string]int{}
	for _, n := range rulesNode.Content {
		r := p.rule(n)
		if r == nil || r.ID == "" {
			continue
		}
		if first, dup := seen[r.ID]; dup {
			p.at(n, "规则编号 %q 重复 (第 %d 行已定义)", r.ID, first)
			continue
		}
		seen[r.ID] = n.Line
		c.Rules = append(c.Rules, r)
	}
	if len(rulesNode.Content) == 0 {
		p.at(rulesNode, "rules 列表为空")
	}
	return c
}

// fields walks a mapping's key/value pairs, reporting repeated keys.
func (p *parser) fields(m *yaml.Node, fn func(k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if seen[k.Value] {
			p.at(k, "键 %q 重复", k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k, v)
	}
}

func (p *parser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.at(n, "应为字符串")
		return ""
	}
	return n.Value
}

var ruleKeys = "id, title, description, applies_to, window, condition, severity, rectify_within, message"

func (p *parser) rule(n *yaml.Node) *Rule {
	if n.Kind != yaml.MappingNode {
		p.at(n, "规则应为映射 (含 %s)", ruleKeys)
		return nil
	}
	r := &Rule{Line: n.Line}
	var cond, msg *yaml.Node
	has := map[string]bool{}
	p.fields(n, func(k, v *yaml.Node) {
		has[k.Value] = true
		switch k.Value {
		case "id":
			r.ID = p.str(v)
			if r.ID != "" && !idRE.MatchString(r.ID) {
				p.at(v, "规则编号 %q 无效: 应为小写字母开头的字母、数字、下划线", r.ID)
			} else if r.ID == AdviserAssignedID {
				p.at(v, "规则编号 %q 为系统保留 (顾问未配备由系统自动检查)", r.ID)
			}
		case "title":
			r.Title = strings.TrimSpace(p.str(v))
			if r.Title == "" && v.Kind == yaml.ScalarNode {
				p.at(v, "title 不能为空")
			}
		case "description":
			r.Description = strings.TrimSpace(p.str(v))
		case "applies_to":
			r.AppliesTo = p.applies(v)
		case "window":
			if s := p.str(v); s != "" {
				w, err := ParseWindow(s)
				if err != nil {
					p.at(v, "%v", err)
				}
				r.Window = w
			}
		case "condition":
			r.Condition = p.str(v)
			cond = v
		case "severity":
			if s := p.str(v); s != "" {
				sev, err := ParseSeverity(s)
				if err != nil {
					p.at(v, "%v", err)
				}
				r.Severity = sev
			}
		case "rectify_within":
			if s := p.str(v); s != "" {
				d, err := ParseDuration(s)
				if err != nil {
					p.at(v, "%v", err)
				}
				r.RectifyWithin = d
			}
		case "message":
			r.Message = p.str(v)
			msg = v
		default:
			p.at(k, "未知的键 %q (规则可用的键: %s)", k.Value, ruleKeys)
		}
	})
	for _, req := range []string{"id", "title", "window", "condition", "severity", "rectify_within", "message"} {
		if !has[req] {
			p.at(n, "规则缺少 %s", req)
		}
	}
	if cond != nil && strings.TrimSpace(r.Condition) != "" {
		prog, ms, errs := compileCondition(r.Condition)
		for _, e := range errs {
			line, col := p.exprPos(cond, e)
			p.errorf(line, col, "条件表达式有误: %s", e.Message)
		}
		r.program, r.measures = prog, ms
	} else if cond != nil && cond.Kind == yaml.ScalarNode {
		p.at(cond, "condition 不能为空")
	}
	if msg != nil && r.Message != "" && r.ID != "" {
		t, err := parseMessage(r)
		if err != nil {
			p.at(msg, "%v", err)
		}
		r.tmpl = t
	}
	return r
}

func (p *parser) applies(n *yaml.Node) Applies {
	var a Applies
	if n.Kind != yaml.MappingNode {
		p.at(n, "applies_to 应为映射 (poverty_only, townships)")
		return a
	}
	p.fields(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "poverty_only":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
				p.at(v, "poverty_only 应为 true 或 false")
				return
			}
			a.PovertyOnly = v.Value == "true"
		case "townships":
			if v.Kind != yaml.SequenceNode {
				p.at(v, "townships 应为乡镇名称列表")
				return
			}
			for _, t := range v.Content {
				if s := strings.TrimSpace(p.str(t)); s != "" {
					a.Townships = append(a.Townships, s)
				}
			}
		default:
			p.at(k, "未知的键 %q (applies_to 可用的键: poverty_only, townships)", k.Value)
		}
	})
	return a
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlError reports a YAML syntax error; go-yaml names the line but not the column.
func (p *parser) yamlError(err error) {
	var line int
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	}
	if line == 0 {
		line = 1
	}
	p.errorf(line, 1, "YAML 格式有误: %s", msg)
}

// exprPos maps a position inside a condition (expr's 1-based line, 0-based
// rune column) to the file's 1-based line and column. It walks the scalar's
// lines as they stand in the file: a block scalar (| or >) starts on the line
// after its indicator at the block's indentation; a plain or quoted scalar at
// its own column, continuing on the following lines. Folding turns each line
// break into one character, as a literal block keeps one newline: either way
// one character per break. (Escapes inside double quotes may shift columns.)
func (p *parser) exprPos(n *yaml.Node, e *file.Error) (int, int) {
	off := 0
	lines := strings.Split(n.Value, "\n")
	for i := 0; i < e.Line-1 && i < len(lines); i++ {
		off += utf8.RuneCountInString(lines[i]) + 1
	}
	off += e.Column
	type seg struct{ line, col, n int }
	var segs []seg
	src := func(l int) string {
		if l-1 < len(p.lines) && l >= 1 {
			return strings.TrimRight(p.lines[l-1], "\r")
		}
		return ""
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		indent := -1
		for l := n.Line + 1; l <= len(p.lines); l++ {
			s := src(l)
			trimmed := strings.TrimLeft(s, " ")
			if trimmed == "" {
				if indent >= 0 {
					segs = append(segs, seg{l, indent + 1, 0})
				}
				continue
			}
			ind := len(s) - len(trimmed)
			if indent < 0 {
				indent = ind
			}
			if ind < indent {
				break
			}
			segs = append(segs, seg{l, indent + 1, utf8.RuneCountInString(s[indent:])})
		}
	} else {
		first := src(n.Line)
		col := n.Column
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			col++
		}
		runes := []rune(first)
		rest := 0
		if col-1 <= len(runes) {
			rest = len(runes) - (col - 1)
		}
		segs = append(segs, seg{n.Line, col, rest})
		total, covered := utf8.RuneCountInString(n.Value), rest
		for l := n.Line + 1; l <= len(p.lines) && covered < total; l++ {
			s := src(l)
			trimmed := strings.TrimLeft(s, " \t")
			covered += utf8.RuneCountInString(trimmed) + 1
			segs = append(segs, seg{l, utf8.RuneCountInString(s) - utf8.RuneCountInString(trimmed) + 1, utf8.RuneCountInString(trimmed)})
		}
	}
	for i, s := range segs {
		if off <= s.n {
			if i == 0 && n.Style&yaml.DoubleQuotedStyle != 0 {
				return s.line, s.col + rawOffset([]rune(src(s.line))[s.col-1:], off)
			}
			return s.line, s.col + off
		}
		off -= s.n + 1
	}
	return n.Line, n.Column
}

// rawOffset is how many runes of a double-quoted scalar's raw text hold its
// first off value runes: an escape such as \" is two raw runes for one.
func rawOffset(raw []rune, off int) int {
	j := 0
	for i := 0; i < off && j < len(raw); i++ {
		if raw[j] == '\\' {
			j++
		}
		j++
	}
	return j
}
