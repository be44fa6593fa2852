package main

import (
	"fmt"
	"os"
	"time"

	"ducha/internal/bench"
)

const benchUsage = "--db URL [--villages 50000] [--activities 10000000] [--import-rows N] [--seed N] [--json FILE] [--force] [--no-pdf]"

func init() {
	register(&command{
		name:    "bench",
		usage:   benchUsage,
		summary: "在一个新建的空数据库中生成模拟的全省数据, 测量导入、清单评估、开启督查、流转、通知、通报和首页的性能, 与目标对照",
		run:     runBench,
	})
}

func runBench(e *Env, args []string) error {
	fs := newFlags(e, "bench", benchUsage)
	villages := fs.Int("villages", 50_000, "村的数量 (乡镇约为村数/100, 法律顾问为村数/3)")
	activities := fs.Int("activities", 10_000_000, "工作记录条数 (含从 CSV 导入的部分)")
	importRows := fs.Int("import-rows", 0, "其中通过导入 CSV 文件写入的条数 (默认为总数的十分之一)")
	seed := fs.Uint64("seed", 1, "生成数据的随机种子")
	jsonPath := fs.String("json", "", "把结果以 JSON 写入此文件")
	force := fs.Bool("force", false, "数据库中已有数据时仍然运行 (只追加, 不删除任何数据)")
	noPDF := fs.Bool("no-pdf", false, "不测量通报 PDF (PDF 在 Go 中排版; 仅在未装 TrueType 中文字体时用 Chromium 打印, 约需一分钟)")
	duration := fs.Duration("duration", 3*time.Second, "每项吞吐量测量的时长")
	requests := fs.Int("requests", 2000, "首页延迟测量的请求数")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("用法: ducha bench %s", benchUsage)
	}
	if *villages < 3 || *activities < 1 || *importRows < 0 || *requests < 1 {
		return usagef("--villages 至少为 3, --activities 至少为 1, --requests 至少为 1")
	}
	rep, err := bench.Run(e.Ctx, bench.Config{
		DB: e.DBURL, Villages: *villages, Activities: *activities, ImportRows: *importRows, Seed: *seed,
		Force: *force, NoPDF: *noPDF, Duration: *duration, Requests: *requests, Log: e.Stderr,
	})
	if err != nil {
		return err
	}
	if err := rep.WriteTable(e.Stdout); err != nil {
		return err
	}
	if *jsonPath != "" {
		f, err := os.Create(*jsonPath)
		if err != nil {
			return err
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if rep.Failed() {
		fmt.Fprintln(e.Stdout, "\n有指标未达到目标 (FAIL)。")
	}
	return nil
}
