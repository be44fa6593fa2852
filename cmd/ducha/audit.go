package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"ducha/store"
)

// auditFailed is the exit-1 error of an audit that found violations: it
// lists each one, naming its row (printed on stderr).
type auditFailed struct{ vs []store.Violation }

func (e auditFailed) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "校验未通过, 共 %d 处违反:", len(e.vs))
	for _, v := range e.vs {
		fmt.Fprintf(&b, "\n  [%s] %s: %s", v.Invariant, v.Row, v.Message)
	}
	return b.String()
}

var invariantLabels = map[string]string{
	store.InvRound:    "督查完整性 (没有半截督查)",
	store.InvHistory:  "处理记录完整性 (每个问题都有完整的处理记录)",
	store.InvChain:    "哈希链",
	store.InvOutbox:   "通知 (不丢失, 不重复送达)",
	store.InvBulletin: "通报编号 (每年连续, 不重复)",
	store.InvRefs:     "记录引用 (问题、履职记录、督查轮次所指的村、顾问、乡镇都存在)",
}

func init() {
	register(&command{
		name:    "audit",
		usage:   "verify [--json]",
		summary: "校验全部数据不变量: 督查完整、处理记录与哈希链完整、通知不丢不重、通报编号连续; 逐条列出违反之处",
		run: func(e *Env, args []string) error {
			fs := newFlags(e, "audit", "verify [--json]")
			asJSON := fs.Bool("json", false, "以 JSON 输出校验结果")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if len(pos) != 1 || pos[0] != "verify" {
				return usagef("用法: ducha audit verify [--json]")
			}
			db, err := e.OpenDB()
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := db.CheckInvariants(e.Ctx, e.Now())
			if err != nil {
				return err
			}
			if *asJSON {
				enc := json.NewEncoder(e.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printAudit(e, rep)
			}
			if !rep.OK() {
				return auditFailed{rep.Violations}
			}
			return nil
		},
	})
}

func printAudit(e *Env, rep *store.InvariantReport) {
	fmt.Fprintf(e.Stdout, "已校验 %d 轮督查, %d 个问题的 %d 条处理记录, %d 条通知, %d 期通报\n",
		rep.Rounds, rep.Findings, rep.Entries, rep.Messages, rep.Bulletins)
	bad := map[string]int{}
	for _, v := range rep.Violations {
		bad[v.Invariant]++
	}
	for _, inv := range []string{store.InvRound, store.InvHistory, store.InvChain, store.InvOutbox, store.InvBulletin, store.InvRefs} {
		if n := bad[inv]; n > 0 {
			fmt.Fprintf(e.Stdout, "✗ %s: %d 处违反\n", invariantLabels[inv], n)
		} else {
			fmt.Fprintf(e.Stdout, "✓ %s\n", invariantLabels[inv])
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(e.Stdout, "注意: %s\n", n)
	}
}
