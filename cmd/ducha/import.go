package main

import (
	"fmt"

	"ducha/importer"
)

const importUsage = "villages|advisers|assignments|activities FILE [--upsert]"

func init() {
	register(&command{
		name:    "import",
		usage:   importUsage,
		summary: "从 CSV (UTF-8 或 GBK) 或 XLSX 文件导入村、法律顾问、聘任或工作记录; 有任何错误则全部不导入",
		run:     runImport,
	})
}

func runImport(e *Env, args []string) error {
	fs := newFlags(e, "import", importUsage)
	upsert := fs.Bool("upsert", false, "更新已有的记录 (村、顾问按编号; 聘任按顾问+村+起始日期; 工作记录按顾问+村+类别+日期+备注), 而不是报重复")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("用法: ducha import %s", importUsage)
	}
	kind, err := importer.ParseKind(pos[0])
	if err != nil {
		return usagef("%v", err)
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	opts := importer.Options{Upsert: *upsert}
	if e.Terminal() {
		opts.Progress = e.Stderr
	}
	res, err := importer.ImportFile(e.Ctx, db, kind, pos[1], opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s: %s\n", pos[1], res.Summary())
	return nil
}
