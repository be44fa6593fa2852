package main

import (
	"fmt"

	"ducha/workflow"
)

func init() {
	register(&command{
		name:    "audit",
		usage:   "verify",
		summary: "重新计算全部问题处理记录的哈希链, 指出第一条被篡改的记录",
		run: func(e *Env, args []string) error {
			fs := newFlags(e, "audit", "verify")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if len(pos) != 1 || pos[0] != "verify" {
				return usagef("用法: ducha audit verify")
			}
			db, err := e.OpenDB()
			if err != nil {
				return err
			}
			defer db.Close()
			_, findings, err := e.lifecycle(db)
			if err != nil {
				return err
			}
			res, err := workflow.VerifyChains(e.Ctx, findings)
			if err != nil {
				return err
			}
			if res.Break != nil {
				return res.Break
			}
			fmt.Fprintf(e.Stdout, "已校验 %d 个问题的 %d 条处理记录: 哈希链完整\n", res.Findings, res.Entries)
			return nil
		},
	})
}
