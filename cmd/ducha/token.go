package main

import (
	"fmt"

	"ducha/web"
)

const tokenUsage = "add LOGIN [--name 用途]"

func init() {
	register(&command{
		name:    "token",
		usage:   tokenUsage,
		summary: "为用户生成 API 令牌 (脚本调用 /api/v1 时用 Authorization: Bearer 令牌); 令牌只显示一次, 库中只存其哈希",
		run:     runToken,
	})
}

func runToken(e *Env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usagef("用法: ducha token %s", tokenUsage)
	}
	fs := newFlags(e, "token add", tokenUsage)
	name := fs.String("name", "", "令牌用途, 如 \"台账同步脚本\"")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("用法: ducha token %s", tokenUsage)
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	token, hash := web.NewAPIToken()
	if err := db.AddAPIToken(e.Ctx, pos[0], *name, hash, e.Now()); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, token)
	fmt.Fprintf(e.Stderr, "已为用户 %s 生成 API 令牌 (只显示这一次, 请妥善保存)\n", pos[0])
	return nil
}
