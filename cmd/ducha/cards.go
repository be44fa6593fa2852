package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"ducha/bulletin"
	"ducha/workflow"
)

func init() {
	register(&command{
		name:    "cards",
		usage:   "[--township T] [--on YYYY-MM-DD] [--format pdf|html] -o FILE",
		summary: "打印各村法律便民服务卡 (每张 A4 纸 8 张卡片)",
		run:     runCards,
	})
}

func runCards(e *Env, args []string) error {
	fs := newFlags(e, "cards", commands["cards"].usage)
	township := fs.String("township", "", "只打印该乡镇的服务卡")
	onS := fs.String("on", "", "按该日的聘任情况 (默认今天)")
	format := fs.String("format", "", "输出格式: pdf 或 html (默认按 -o 的扩展名, 否则 pdf)")
	out := fs.String("o", "", "输出文件, 如 cards.pdf")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("多余的参数: %s", strings.Join(pos, " "))
	}
	on := workflow.CivilDate(e.Now())
	if *onS != "" {
		if on, err = parseDay("--on", *onS); err != nil {
			return err
		}
	}
	if *format == "" {
		*format = "pdf"
		if strings.HasSuffix(strings.ToLower(*out), ".html") {
			*format = "html"
		}
	}
	if err := checkFormat(*format, *out, "pdf", "html"); err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	cards, missing, err := db.ServiceCards(e.Ctx, *township, on)
	if err != nil {
		return err
	}
	if len(cards) == 0 {
		return fmt.Errorf("%s没有已聘任法律顾问的村, 没有可打印的服务卡", dayText(on))
	}
	bureau, err := e.bureau()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := bulletin.WriteCardsHTML(&buf, bureau, cards); err != nil {
		return err
	}
	data := buf.Bytes()
	if *format == "pdf" {
		p, err := bulletin.FindPrinter()
		if err != nil {
			return err
		}
		defer p.Close()
		if data, err = p.PDF(e.Ctx, data); err != nil {
			return err
		}
	}
	if missing > 0 {
		fmt.Fprintf(e.Stderr, "注意: %d 个村%s没有法律顾问, 未生成服务卡\n", missing, dayText(on))
	}
	fmt.Fprintf(e.Stderr, "服务卡 %d 张, %d 页\n", len(cards), (len(cards)+bulletin.CardsPerPage-1)/bulletin.CardsPerPage)
	return emit(e, *out, data)
}

func dayText(t time.Time) string { return bulletin.DateText(t) }
