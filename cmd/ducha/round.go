package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ducha/rules"
	"ducha/store"
	"ducha/workflow"
)

const roundUsage = `open --rules FILE [--period A..B] [--scope all|township=NAME[,NAME]|sample=20%|sample=15] [--seed HEX] [--exclude-days N] --as LOGIN [--json]
             | close ID --as LOGIN | list [--json] | show ID [--json] | verify ID`

func init() {
	register(&command{
		name:    "round",
		usage:   roundUsage,
		summary: "开启、结束、列出、查看督查轮次, 核验随机抽样",
		run: func(e *Env, args []string) error {
			return subcommands(e, "round", roundUsage, args, map[string]func(*Env, []string) error{
				"open": roundOpen, "close": roundClose, "list": roundList, "show": roundShow, "verify": roundVerify,
			})
		},
	})
}

// rounds wires the rounds service with the config's policy and the calendar.
func (e *Env) rounds(db *store.DB) (*workflow.Rounds, error) {
	cfg, err := e.Config()
	if err != nil {
		return nil, err
	}
	life, _, err := e.lifecycle(db)
	if err != nil {
		return nil, err
	}
	n, err := e.notifier(db)
	if err != nil {
		return nil, err
	}
	return &workflow.Rounds{Store: db.Rounds(), Lifecycle: life, Notifier: n, OrderOnOpen: cfg.Rounds.OrderOnOpen}, nil
}

// readChecklist reads and compiles a checklist file, returning its bytes too
// (a round records their checksum).
func readChecklist(path string) (*rules.Checklist, []byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, usagef("无法读取清单文件 %s: %v", path, err)
	}
	c, err := rules.Parse(path, src)
	return c, src, err
}

func roundOpen(e *Env, args []string) error {
	fs := newFlags(e, "round open", "--rules FILE [--period A..B] [--scope …] [--seed HEX] [--exclude-days N] --as LOGIN [--json]")
	rulesFile := fs.String("rules", "", "督查工作清单文件 (YAML)")
	periodFlag := fs.String("period", "", "督查期间 开始..结束, 如 2018-01-01..2018-06-30 (默认: 上个月)")
	scopeFlag := fs.String("scope", "all", "范围: all, township=乡镇[,乡镇], sample=20% 或 sample=15")
	seedFlag := fs.String("seed", "", "随机抽样的种子 (十六进制; 默认随机生成)")
	exclude := fs.Int("exclude-days", 0, "随机抽样时排除最近 N 天内已督查的村")
	as := fs.String("as", "", "开启督查的督查人员登录名 (system 为系统)")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("round open 不接受位置参数 %q", pos)
	}
	if *rulesFile == "" {
		return usagef("--rules: 必须指定督查工作清单文件")
	}
	if *as == "" {
		return usagef("--as: 必须指定开启督查的督查人员 (或 system)")
	}
	scope, err := workflow.ParseScope(*scopeFlag)
	if err != nil {
		return usagef("--scope: %v", err)
	}
	var seed workflow.Seed
	if *seedFlag != "" {
		if scope.Sample == nil {
			return usagef("--seed 只用于随机抽样 (--scope sample=…)")
		}
		if seed, err = workflow.ParseSeed(*seedFlag); err != nil {
			return usagef("--seed: %v", err)
		}
	}
	now := e.Now()
	var from, to time.Time
	if *periodFlag == "" {
		from, to, _ = workflow.PeriodFor("previous_month", now)
	} else {
		p, err := rules.ParsePeriod(*periodFlag)
		if err != nil {
			return usagef("--period: %v", err)
		}
		from, to = p.From, p.To
	}
	checklist, src, err := readChecklist(*rulesFile)
	if err != nil {
		return err
	}
	db, actor, err := e.openAs(*as)
	if err != nil {
		return err
	}
	defer db.Close()
	rs, err := e.rounds(db)
	if err != nil {
		return err
	}
	kind := workflow.RoundManual
	if scope.Sample != nil {
		kind = workflow.RoundRandom
	}
	r, err := rs.Open(e.Ctx, workflow.OpenRequest{
		Checklist: checklist, ChecklistName: *rulesFile, ChecklistSum: workflow.ChecklistSum(src),
		From: from, To: to, Kind: kind, Scope: scope, Seed: seed, ExcludeDays: *exclude, Actor: *actor, Now: now,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeIndentedJSON(e, r)
	}
	fmt.Fprintln(e.Stdout, r.ID)
	fmt.Fprintln(e.Stderr, r.Describe())
	return nil
}

// openRound parses args for one round ID, opens the database and reads the
// round; the caller closes the database.
func (e *Env) openRound(fs *flag.FlagSet, args []string) (*store.DB, *workflow.Round, error) {
	arg, err := oneArg(fs, args)
	if err != nil {
		return nil, nil, err
	}
	id, err := parseRoundID(arg)
	if err != nil {
		return nil, nil, err
	}
	db, err := e.OpenDB()
	if err != nil {
		return nil, nil, err
	}
	r, err := db.Rounds().Round(e.Ctx, id)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, r, nil
}

func parseRoundID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("督查轮次编号 %q 无效: 应为正整数", s)
	}
	return id, nil
}

func roundClose(e *Env, args []string) error {
	fs := newFlags(e, "round close", "ID --as LOGIN")
	as := fs.String("as", "", "结束督查的督查人员登录名")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *as == "" {
		return usagef("用法: ducha round close ID --as LOGIN")
	}
	id, err := parseRoundID(pos[0])
	if err != nil {
		return err
	}
	db, actor, err := e.openAs(*as)
	if err != nil {
		return err
	}
	defer db.Close()
	rs, err := e.rounds(db)
	if err != nil {
		return err
	}
	r, err := rs.Close(e.Ctx, id, *actor, e.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "第 %d 轮督查已结束 (%s)\n", r.ID, r.ClosedAt.In(workflow.Shanghai).Format("2006-01-02 15:04"))
	return e.afterRoundClose(db, r)
}

func roundList(e *Env, args []string) error {
	fs := newFlags(e, "round list", "[--json]")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	rounds, err := db.Rounds().Rounds(e.Ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if rounds == nil {
			rounds = []*workflow.Round{}
		}
		return writeIndentedJSON(e, rounds)
	}
	if len(rounds) == 0 {
		fmt.Fprintln(e.Stdout, "还没有督查轮次。用 ducha round open 开启一轮。")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "编号\t类型\t督查期间\t范围\t村数\t新问题\t再次发现\t开启时间\t状态")
	for _, r := range rounds {
		state := "进行中"
		if r.ClosedAt != nil {
			state = "已结束"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s..%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.ID, workflow.RoundKindLabel(r.Kind),
			r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), workflow.ScopeLabel(r.Scope), r.Villages,
			r.NewFindings, r.RepeatFindings, r.OpenedAt.In(workflow.Shanghai).Format("2006-01-02 15:04"), state)
	}
	return tw.Flush()
}

func roundShow(e *Env, args []string) error {
	fs := newFlags(e, "round show", "ID [--json]")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	db, r, err := e.openRound(fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	id := r.ID
	findings, err := store.NewFindings(db).List(e.Ctx, store.FindingFilter{Round: id})
	if err != nil {
		return err
	}
	if *asJSON {
		views := make([]findingView, len(findings))
		for i, f := range findings {
			views[i] = viewOf(f, "")
		}
		return writeIndentedJSON(e, struct {
			*workflow.Round
			Findings []findingView `json:"findings"`
		}{r, views})
	}
	w := e.Stdout
	fmt.Fprintln(w, r.Describe())
	fmt.Fprintf(w, "开启: %s, 由 %s", r.OpenedAt.In(workflow.Shanghai).Format("2006-01-02 15:04"), r.OpenedBy)
	if r.Schedule != "" {
		fmt.Fprintf(w, " (计划 %s, 计划时间 %s)", r.Schedule, r.FireAt.In(workflow.Shanghai).Format("2006-01-02 15:04"))
	}
	fmt.Fprintln(w)
	if r.ClosedAt != nil {
		fmt.Fprintf(w, "结束: %s\n", r.ClosedAt.In(workflow.Shanghai).Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(w, "督查工作清单: %s (SHA-256 %s)\n", r.RulesName, short(r.RulesChecksum))
	for _, rule := range r.Rules {
		fmt.Fprintf(w, "  - %s %s [%s, %s]\n", rule.ID, rule.Title, rule.Severity, rule.Window)
	}
	if d := r.Draw; d != nil {
		fmt.Fprintf(w, "随机抽样: 承诺值 %s, 种子 %s, 名册 %d 个村 (摘要 %s), 排除 %d 个, 抽中 %d 个: %s\n",
			short(d.Commitment), d.Seed, len(d.Roster), short(d.RosterDigest), len(d.Excluded), len(d.Sample), strings.Join(d.Sample, " "))
	}
	if len(findings) == 0 {
		fmt.Fprintln(w, "本轮未发现问题。")
		return nil
	}
	fmt.Fprintf(w, "本轮发现的问题 (%d):\n", len(findings))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "编号\t乡镇\t村\t顾问\t问题\t状态\t期限")
	for _, f := range findings {
		deadline := "-"
		if f.Deadline != nil {
			deadline = f.Deadline.Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Township, f.VillageName, dash(f.AdviserName), f.RuleTitle, f.State.Label(), deadline)
	}
	return tw.Flush()
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// verifyFailed is a round whose draw does not verify: exit 1.
type verifyFailed struct{ error }

func roundVerify(e *Env, args []string) error {
	db, r, err := e.openRound(newFlags(e, "round verify", "ID"), args)
	if err != nil {
		return err
	}
	defer db.Close()
	id := r.ID
	if r.Draw == nil {
		fmt.Fprintf(e.Stdout, "第 %d 轮是%s, 范围 %s, 没有随机抽样需要核验。\n", r.ID, workflow.RoundKindLabel(r.Kind), workflow.ScopeLabel(r.Scope))
		return nil
	}
	if err := r.Draw.Verify(); err != nil {
		return verifyFailed{err}
	}
	villages, err := db.Rounds().RoundVillages(e.Ctx, id)
	if err != nil {
		return err
	}
	if strings.Join(villages, ",") != strings.Join(r.Draw.Sample, ",") {
		return verifyFailed{fmt.Errorf("%w: 本轮实际督查的村 (%s) 与抽样结果 (%s) 不符", workflow.ErrDrawMismatch,
			strings.Join(villages, ","), strings.Join(r.Draw.Sample, ","))}
	}
	if r.Schedule != "" {
		if plan, err := db.Schedules().DrawPlanFor(e.Ctx, r.Schedule, workflow.CivilDate(*r.FireAt)); err == nil && plan != nil && plan.Commitment != r.Draw.Commitment {
			return verifyFailed{fmt.Errorf("%w: 计划时登记的承诺值 %s 与本轮记录的 %s 不符", workflow.ErrDrawMismatch, plan.Commitment, r.Draw.Commitment)}
		}
	}
	b, _ := json.Marshal(r.Draw.Spec)
	fmt.Fprintf(e.Stdout, "第 %d 轮随机抽样核验一致: SHA-256(种子 %s) = 承诺值 %s; 名册 %d 个村, 摘要一致; 按种子重新抽样 (%s) 得到同样的 %d 个村。\n",
		r.ID, r.Draw.Seed, r.Draw.Commitment, len(r.Draw.Roster), b, len(r.Draw.Sample))
	return nil
}
