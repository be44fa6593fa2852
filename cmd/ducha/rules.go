package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"ducha/rules"
)

func init() {
	register(&command{
		name:    "rules",
		usage:   "check FILE | eval FILE --period 2018-01-01..2018-06-30 [--scope township=A,B;village=CODE] [--json]",
		summary: "检查督查工作清单 (规则文件), 或不开启督查直接列出问题",
		run:     runRules,
	})
}

func runRules(e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("用法: ducha rules check FILE | ducha rules eval FILE --period 开始..结束 [--scope …] [--json]")
	}
	switch args[0] {
	case "check":
		return rulesCheck(e, args[1:])
	case "eval":
		return rulesEval(e, args[1:])
	}
	return usagef("未知的 rules 子命令 %q (应为 check 或 eval)", args[0])
}

// loadChecklist reads and compiles a checklist file; its errors are bad input.
func loadChecklist(path string) (*rules.Checklist, error) {
	c, _, err := readChecklist(path)
	return c, err
}

func rulesCheck(e *Env, args []string) error {
	fs := newFlags(e, "rules check", "FILE")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("用法: ducha rules check FILE")
	}
	c, err := loadChecklist(pos[0])
	if err != nil {
		return err
	}
	if c.Title != "" {
		fmt.Fprintln(e.Stdout, c.Title)
	}
	rows := [][]string{{"编号", "督查事项", "窗口", "严重程度", "整改期限", "适用范围"}}
	for _, r := range c.Rules {
		rows = append(rows, []string{r.ID, r.Title, r.Window.String() + " (" + r.Window.Label() + ")",
			r.Severity.Label(), r.RectifyWithin.Label(), r.AppliesTo.String()})
	}
	rulesTable(e.Stdout, rows)
	fmt.Fprintf(e.Stdout, "%s: %d 条规则, 均有效 (另: 系统自动检查 %s 顾问未配备)\n", pos[0], len(c.Rules), rules.AdviserAssignedID)
	return nil
}

// rulesScope reads the --scope of rules eval: "all" (or empty) for every
// village, else ";"-separated parts "township=A,B" and "village=CODE,CODE"
// (乡镇= and 村= also accepted).
func rulesScope(s string) (rules.Scope, error) {
	var sc rules.Scope
	s = strings.TrimSpace(s)
	if s == "" || s == "all" || s == "全部" {
		return sc, nil
	}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		var items []string
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				items = append(items, x)
			}
		}
		if !ok || len(items) == 0 {
			return sc, usagef("--scope 的 %q 无效: 应为 all, township=乡镇[,乡镇] 或 village=村代码[,村代码], 以分号组合", part)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "township", "乡镇":
			sc.Townships = append(sc.Townships, items...)
		case "village", "村":
			sc.Villages = append(sc.Villages, items...)
		default:
			return sc, usagef("--scope 的 %q 无效: 应为 all, township=乡镇[,乡镇] 或 village=村代码[,村代码], 以分号组合", part)
		}
	}
	return sc, nil
}

func rulesEval(e *Env, args []string) error {
	fs := newFlags(e, "rules eval", "FILE --period 开始..结束 [--scope township=A,B;village=CODE] [--json]")
	period := fs.String("period", "", "督查期间, 如 2018-01-01..2018-06-30 (窗口以期末为准)")
	scopeFlag := fs.String("scope", "", "范围: all (默认), township=乡镇[,乡镇], village=村代码[,村代码], 以分号组合")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *period == "" {
		return usagef("用法: ducha rules eval FILE --period 2018-01-01..2018-06-30 [--scope …] [--json]")
	}
	p, err := rules.ParsePeriod(*period)
	if err != nil {
		return usagef("--period: %v", err)
	}
	scope, err := rulesScope(*scopeFlag)
	if err != nil {
		return err
	}
	c, err := loadChecklist(pos[0])
	if err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	facts, err := db.Facts(e.Ctx, c.Request(p, scope))
	if err != nil {
		return err
	}
	vs, err := rules.Evaluate(c, p, facts)
	if err != nil {
		return err
	}
	took := time.Since(start)
	villages := map[string]bool{}
	for _, v := range vs {
		villages[v.VillageCode] = true
	}
	if *asJSON {
		if vs == nil {
			vs = []rules.Violation{}
		}
		return writeIndentedJSON(e, map[string]any{
			"checklist": c.Title, "file": pos[0], "period": p.String(), "scope": scope,
			"villages_checked": len(facts), "villages_with_problems": len(villages),
			"violations": vs,
		})
	}
	rows := [][]string{{"乡镇", "村", "法律顾问", "督查事项", "程度", "整改期限", "问题"}}
	for _, v := range vs {
		adviser := v.AdviserName
		if adviser == "" {
			adviser = "-"
		}
		rows = append(rows, []string{v.Township, v.VillageName, adviser, v.Title, v.Severity.Label(), v.RectifyWithin.Label(), v.Message})
	}
	fmt.Fprintf(e.Stdout, "督查期间 %s, 检查 %d 个村\n", p, len(facts))
	if len(vs) > 0 {
		rulesTable(e.Stdout, rows)
	}
	fmt.Fprintf(e.Stdout, "共发现 %d 个问题, 涉及 %d 个村 (未开启督查; 用时 %s)\n", len(vs), len(villages), took.Round(time.Millisecond))
	return nil
}

// rulesTable prints rows as columns padded by display width (a CJK
// character takes two columns); the last column is not padded.
func rulesTable(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r[:len(r)-1] {
			widths[i] = max(widths[i], rulesDisplayWidth(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-rulesDisplayWidth(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func rulesDisplayWidth(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r >= 0x1100 && (r <= 0x115f || r >= 0x2e80) {
			n += 2
		} else {
			n++
		}
	}
	return n
}
