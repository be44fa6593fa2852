package main

import (
	"bytes"
	"fmt"
	"strconv"
	"text/tabwriter"

	"ducha/bulletin"
	"ducha/internal/publish"
	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

const bulletinUsage = `publish --round ID --as LOGIN | list [--year Y] [--json]
             | show NUMBER [--year Y] [--format md|html|pdf|xlsx] [-o FILE]
             | correct NUMBER [--year Y] --reason … --as LOGIN`

func init() {
	register(&command{
		name:    "bulletin",
		usage:   bulletinUsage,
		summary: "督查通报: 发布 (期号按年连续编号, 内容发布后不可修改)、列出、查看/导出、更正",
		run: func(e *Env, args []string) error {
			return subcommands(e, "bulletin", bulletinUsage, args, map[string]func(*Env, []string) error{
				"publish": bulletinPublish, "list": bulletinList, "show": bulletinShow, "correct": bulletinCorrect,
			})
		},
	})
}

// publisher publishes bulletins with the config's bureau and notification routes.
func (e *Env) publisher(db *store.DB) (*publish.Publisher, error) {
	name, err := e.bureau()
	if err != nil {
		return nil, err
	}
	nc, err := e.notifyConfig()
	if err != nil {
		return nil, err
	}
	router, err := notify.NewRouter(nc)
	if err != nil {
		return nil, err
	}
	return &publish.Publisher{DB: db, Bureau: name, Router: router}, nil
}

// afterRoundClose publishes the round's bulletin when the config says so.
func (e *Env) afterRoundClose(db *store.DB, r *workflow.Round) error {
	cfg, err := e.Config()
	if err != nil || !cfg.Rounds.PublishOnClose {
		return err
	}
	p, err := e.publisher(db)
	if err != nil {
		return err
	}
	pub, err := p.Round(e.Ctx, r.ID, workflow.SystemUser, e.Now())
	if err != nil {
		return fmt.Errorf("发布第 %d 轮的督查通报: %w", r.ID, err)
	}
	fmt.Fprintf(e.Stdout, "已发布督查通报 %s: %s\n", pub.Number, pub.Title)
	return nil
}

func bulletinPublish(e *Env, args []string) error {
	fs := newFlags(e, "bulletin publish", "--round ID --as LOGIN")
	round := fs.Int64("round", 0, "督查轮次编号")
	as := fs.String("as", "", "发布通报的督查人员登录名")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 || *round <= 0 || *as == "" {
		return usagef("用法: ducha bulletin publish --round ID --as LOGIN")
	}
	db, actor, err := e.openAs(*as)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := e.publisher(db)
	if err != nil {
		return err
	}
	pub, err := p.Round(e.Ctx, *round, *actor, e.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已发布督查通报 %s: %s\n", pub.Number, pub.Title)
	return nil
}

// parseBulletinNumber reads "2018年第5期", "2018-5", or a bare sequence
// number with --year.
func parseBulletinNumber(s string, year int) (bulletin.Number, error) {
	if seq, err := strconv.Atoi(s); err == nil {
		if year == 0 {
			return bulletin.Number{}, usagef("期号 %q 需要用 --year 指定年份, 或写作 2018年第5期", s)
		}
		if seq <= 0 {
			return bulletin.Number{}, usagef("期号 %q 无效: 期数从 1 开始", s)
		}
		return bulletin.Number{Year: year, Seq: seq}, nil
	}
	n, err := bulletin.ParseNumber(s)
	if err != nil {
		return bulletin.Number{}, usagef("%v", err)
	}
	return n, nil
}

func bulletinList(e *Env, args []string) error {
	fs := newFlags(e, "bulletin list", "[--year Y] [--json]")
	year := fs.Int("year", 0, "只列出该年的通报")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.Bulletins(e.Ctx, *year)
	if err != nil {
		return err
	}
	if *asJSON {
		type item struct {
			Number      string `json:"number"`
			Year        int    `json:"year"`
			Seq         int    `json:"seq"`
			Title       string `json:"title"`
			Round       int64  `json:"round,omitempty"`
			Corrects    int64  `json:"corrects_id,omitempty"`
			Reason      string `json:"reason,omitempty"`
			PublishedAt string `json:"published_at"`
			PublishedBy string `json:"published_by"`
		}
		out := []item{}
		for _, p := range list {
			out = append(out, item{p.Number.String(), p.Number.Year, p.Number.Seq, p.Title, p.RoundID, p.CorrectsID,
				p.Reason, p.PublishedAt.Format("2006-01-02T15:04:05-07:00"), p.PublishedBy})
		}
		return writeIndentedJSON(e, out)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.Stdout, "还没有发布督查通报。结束一轮督查时会自动发布, 也可用 ducha bulletin publish --round ID。")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "期号\t标题\t督查轮次\t发布时间\t发布人")
	for _, p := range list {
		round := "-"
		if p.RoundID != 0 {
			round = strconv.FormatInt(p.RoundID, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Number, p.Title, round, p.PublishedAt.Format("2006-01-02 15:04"), p.PublishedBy)
	}
	return tw.Flush()
}

func bulletinShow(e *Env, args []string) error {
	fs := newFlags(e, "bulletin show", "NUMBER [--year Y] [--format md|html|pdf|xlsx] [-o FILE]")
	year := fs.Int("year", 0, "年份 (期号只写数字时)")
	format := fs.String("format", "md", "输出格式: md, html, pdf 或 xlsx (问题台账)")
	out := fs.String("o", "", "写入文件 (默认输出到标准输出; pdf 与 xlsx 必须指定)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("用法: ducha bulletin show NUMBER [--year Y] [--format md|html|pdf|xlsx] [-o FILE]")
	}
	n, err := parseBulletinNumber(pos[0], *year)
	if err != nil {
		return err
	}
	if err := checkFormat(*format, *out, "md", "html", "pdf", "xlsx"); err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := db.Bulletin(e.Ctx, n)
	if err != nil {
		return err
	}
	b := p.Bulletin
	var buf bytes.Buffer
	switch *format {
	case "md":
		err = b.WriteMarkdown(&buf)
	case "html":
		err = b.WriteHTML(&buf)
	case "xlsx":
		err = b.WriteXLSX(&buf)
	case "pdf":
		// typeset in Go; Chromium is only the fallback where no TrueType
		// CJK font is installed
		var printer *bulletin.Printer
		if bulletin.CanTypeset() != nil {
			if printer, err = bulletin.FindPrinter(); err != nil {
				return fmt.Errorf("%w; %w", bulletin.ErrNoFont, err)
			}
			defer printer.Close()
		}
		var pdf []byte
		if pdf, err = b.PDF(e.Ctx, printer); err == nil {
			buf.Write(pdf)
		}
	}
	if err != nil {
		return err
	}
	return emit(e, *out, buf.Bytes())
}

func bulletinCorrect(e *Env, args []string) error {
	fs := newFlags(e, "bulletin correct", "NUMBER [--year Y] --reason … --as LOGIN")
	year := fs.Int("year", 0, "年份 (期号只写数字时)")
	reason := fs.String("reason", "", "更正原因 (必填)")
	as := fs.String("as", "", "发布更正通报的督查人员登录名")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *as == "" {
		return usagef("用法: ducha bulletin correct NUMBER [--year Y] --reason … --as LOGIN")
	}
	if *reason == "" {
		return usagef("--reason: 更正通报必须说明更正原因")
	}
	n, err := parseBulletinNumber(pos[0], *year)
	if err != nil {
		return err
	}
	db, actor, err := e.openAs(*as)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := e.publisher(db)
	if err != nil {
		return err
	}
	pub, err := p.Correct(e.Ctx, n, *reason, *actor, e.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "已发布更正通报 %s: %s (更正 %s)\n", pub.Number, pub.Title, n)
	return nil
}
