package main

import "fmt"

func init() {
	register(&command{
		name:    "migrate",
		summary: "创建或升级数据库结构 (打开数据库时也会自动执行)",
		run: func(e *Env, args []string) error {
			fs := newFlags(e, "migrate", "")
			if err := noArgs(fs, args); err != nil {
				return err
			}
			db, err := e.OpenDB()
			if err != nil {
				return err
			}
			defer db.Close()
			v, err := db.Version(e.Ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "数据库 %s 已是最新结构 (版本 %d)\n", db.URL(), v)
			return nil
		},
	})
}
