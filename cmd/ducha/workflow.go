package main

import (
	"encoding/json"
	"fmt"

	"ducha/workflow"
)

const workflowUsage = "graph | sweep [--json]"

func init() {
	register(&command{
		name:    "workflow",
		usage:   workflowUsage,
		summary: "问题处理流程: graph 输出状态图 (Mermaid); sweep 立即执行一次催办、逾期、约谈、问责检查",
		run:     runWorkflow,
	})
}

func runWorkflow(e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("用法: ducha workflow %s", workflowUsage)
	}
	fs := newFlags(e, "workflow "+args[0], workflowUsage)
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("多余的参数: %v", pos)
	}
	switch args[0] {
	case "graph":
		g, err := workflow.Graph()
		if err != nil {
			return err
		}
		fmt.Fprint(e.Stdout, g)
		return nil
	case "sweep":
		db, err := e.OpenDB()
		if err != nil {
			return err
		}
		defer db.Close()
		l, findings, err := e.lifecycle(db)
		if err != nil {
			return err
		}
		rep, err := l.Sweep(e.Ctx, findings, e.Now())
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(e.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		for _, a := range rep.Actions {
			fmt.Fprintf(e.Stdout, "问题 #%d: %s (%s → %s) — %s\n", a.FindingID, a.Event.Label(), a.From.Label(), a.To.Label(), a.Reason)
		}
		fmt.Fprintf(e.Stdout, "共执行 %d 项自动处理", len(rep.Actions))
		if rep.Conflicts > 0 {
			fmt.Fprintf(e.Stdout, ", %d 个问题因同时被他人处理而留待下次", rep.Conflicts)
		}
		fmt.Fprintln(e.Stdout)
		return nil
	}
	return usagef("未知的 workflow 子命令 %q (应为 graph 或 sweep)", args[0])
}
