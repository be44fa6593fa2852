package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"ducha/bulletin"
	"ducha/rules"
	"ducha/workflow"
)

func init() {
	register(&command{
		name:    "summary",
		usage:   "[--from 2018-01-01] [--to 2018-06-30] [--township T] [--format md|html|json|pdf] [--json] [-o FILE] [--drill KIND]",
		summary: "工作总结统计: 各类工作数量、各乡镇、各月、督查整改情况、优秀法律顾问排名; --drill 列出数字背后的记录",
		run:     runSummary,
	})
}

func runSummary(e *Env, args []string) error {
	fs := newFlags(e, "summary", commands["summary"].usage)
	today := workflow.CivilDate(e.Now())
	fromS := fs.String("from", fmt.Sprintf("%d-01-01", today.Year()), "统计起始日期 YYYY-MM-DD (含)")
	toS := fs.String("to", today.Format(time.DateOnly), "统计截止日期 YYYY-MM-DD (含)")
	township := fs.String("township", "", "只统计该乡镇")
	format := fs.String("format", "md", "输出格式: md, html, json 或 pdf")
	asJSON := fs.Bool("json", false, "同 --format json")
	out := fs.String("o", "", "写入文件 (默认输出到标准输出; pdf 必须指定)")
	drill := fs.String("drill", "", "列出某项数字背后的记录: 工作类别 (如 mediation 或 人民调解) 或 recovered_yuan")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("多余的参数: %s", strings.Join(pos, " "))
	}
	from, err := parseDay("--from", *fromS)
	if err != nil {
		return err
	}
	to, err := parseDay("--to", *toS)
	if err != nil {
		return err
	}
	if to.Before(from) {
		return usagef("--to %s 早于 --from %s", *toS, *fromS)
	}
	if *asJSON {
		*format = "json"
	}
	if err := checkFormat(*format, *out, "md", "html", "json", "pdf"); err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()

	var buf bytes.Buffer
	if *drill != "" {
		recs, err := db.Drill(e.Ctx, from, to, *township, *drill)
		if err != nil {
			return err
		}
		switch *format {
		case "json":
			err = writeJSON(&buf, recs)
		case "md":
			title := fmt.Sprintf("%s %s至%s 记录明细", drillTitle(*drill), bulletin.DateText(from), bulletin.DateText(to))
			if *township != "" {
				title = *township + " " + title
			}
			err = bulletin.WriteDrillMarkdown(&buf, title, recs)
		default:
			return usagef("--drill 只支持 --format md 或 json")
		}
		if err != nil {
			return err
		}
		return emit(e, *out, buf.Bytes())
	}

	s, err := db.Summary(e.Ctx, from, to, *township)
	if err != nil {
		return err
	}
	if err := db.SummaryInspections(e.Ctx, s); err != nil {
		return err
	}
	if s.Rounds.Total == 0 && s.Findings.Total() == 0 {
		s.Rounds, s.Findings = nil, nil // no inspections recorded: leave the section out
	}
	if s.Bureau, err = e.bureau(); err != nil {
		return err
	}
	switch *format {
	case "json":
		err = writeJSON(&buf, s)
	case "md":
		err = s.WriteMarkdown(&buf)
	case "html":
		err = s.WriteHTML(&buf)
	case "pdf":
		p, perr := bulletin.FindPrinter()
		if perr != nil {
			return perr
		}
		defer p.Close()
		var pdf []byte
		if pdf, err = s.PDF(e.Ctx, p); err == nil {
			buf.Write(pdf)
		}
	}
	if err != nil {
		return err
	}
	return emit(e, *out, buf.Bytes())
}

func drillTitle(item string) string {
	if item == bulletin.RecoveredYuan {
		return "挽回经济损失"
	}
	if k, err := rules.ParseKind(item); err == nil {
		return k.Label()
	}
	return item
}

// bureau is the issuing bureau's name from the configuration.
func (e *Env) bureau() (string, error) {
	c, err := e.Config()
	if err != nil {
		return "", err
	}
	if c.Bureau.Name == "" {
		return bulletin.DefaultBureau, nil
	}
	return c.Bureau.Name, nil
}

// parseDay reads a civil date given to flag.
func parseDay(flag, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, usagef("%s %q 不是有效日期 (应为 YYYY-MM-DD, 如 2018-06-30)", flag, s)
	}
	return t, nil
}

// checkFormat accepts one of formats; binary formats need -o.
func checkFormat(format, out string, formats ...string) error {
	for _, f := range formats {
		if f == format {
			if (format == "pdf" || format == "xlsx") && out == "" {
				return usagef("--format %s 需要用 -o FILE 指定输出文件", format)
			}
			return nil
		}
	}
	return usagef("--format %q 无效 (应为 %s)", format, strings.Join(formats, "、"))
}

func writeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// emit writes data to the file out and says so, or to stdout when out is empty.
func emit(e *Env, out string, data []byte) error {
	if out == "" || out == "-" {
		_, err := e.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("写入 %s: %w", out, err)
	}
	fmt.Fprintf(e.Stdout, "已生成 %s\n", out)
	return nil
}
