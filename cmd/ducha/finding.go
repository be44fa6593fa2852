package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"ducha/store"
	"ducha/workflow"
)

const findingUsage = `list [--state S] [--township T] [--adviser A] [--colour C] [--round N] [--json]
             | show ID [--json]
             | EVENT ID --as LOGIN [--comment …] [--reason …] [--evidence …] [--measure …] [--decision …]
                        [--time "YYYY-MM-DD HH:MM" --place … --interviewer …] [--statement … --outcome …] [--deadline-days N]`

func init() {
	register(&command{
		name:    "finding",
		usage:   findingUsage,
		summary: "列出、查看问题, 或对问题执行处理操作 (" + strings.Join(eventNames(), ", ") + ")",
		run:     runFinding,
	})
}

func eventNames() []string {
	var out []string
	for _, ev := range workflow.Events() {
		out = append(out, string(ev))
	}
	sort.Strings(out)
	return out
}

func runFinding(e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("用法: ducha finding %s", findingUsage)
	}
	switch args[0] {
	case "list":
		return findingList(e, args[1:])
	case "show":
		return findingShow(e, args[1:])
	}
	return findingEvent(e, workflow.Event(args[0]), args[1:])
}

// findingView is a finding as `list --json` and `show --json` print it.
type findingView struct {
	ID          int64           `json:"id"`
	Round       int64           `json:"round,omitempty"`
	Rule        string          `json:"rule"`
	RuleTitle   string          `json:"rule_title"`
	Severity    string          `json:"severity"`
	Village     string          `json:"village"`
	VillageName string          `json:"village_name"`
	Township    string          `json:"township"`
	Adviser     string          `json:"adviser,omitempty"`
	AdviserName string          `json:"adviser_name,omitempty"`
	State       string          `json:"state"`
	Colour      string          `json:"colour,omitempty"`
	Deadline    string          `json:"deadline,omitempty"`
	Version     int             `json:"version"`
	Rejections  int             `json:"rejections"`
	RepeatCount int             `json:"repeat_count"`
	Message     string          `json:"message"`
	Evidence    json.RawMessage `json:"evidence,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	History     []entryView     `json:"history,omitempty"`
}

type entryView struct {
	Seq     int               `json:"seq"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`
	Role    string            `json:"role"`
	Event   string            `json:"event"`
	From    string            `json:"from"`
	To      string            `json:"to"`
	Comment string            `json:"comment,omitempty"`
	Payload map[string]string `json:"payload,omitempty"`
	Hash    string            `json:"hash"`
}

func viewOf(f *workflow.Finding, c workflow.Colour) findingView {
	v := findingView{ID: f.ID, Round: f.RoundID, Rule: f.RuleID, RuleTitle: f.RuleTitle, Severity: string(f.Severity),
		Village: f.Village, VillageName: f.VillageName, Township: f.Township, Adviser: f.Adviser,
		AdviserName: f.AdviserName, State: string(f.State), Colour: string(c), Version: f.Version,
		Rejections: f.Rejections, RepeatCount: f.RepeatCount, Message: f.Message, CreatedAt: f.CreatedAt,
		UpdatedAt: f.UpdatedAt}
	if f.Deadline != nil {
		v.Deadline = f.Deadline.Format(time.DateOnly)
	}
	if len(f.Evidence) > 0 && json.Valid(f.Evidence) {
		v.Evidence = f.Evidence
	}
	return v
}

func findingList(e *Env, args []string) error {
	fs := newFlags(e, "finding list", findingUsage)
	state := fs.String("state", "", "状态 (如 ordered 或 整改中)")
	township := fs.String("township", "", "乡镇名称")
	adviser := fs.String("adviser", "", "顾问编号")
	colour := fs.String("colour", "", "亮灯颜色: blue/yellow/red (蓝/黄/红)")
	round := fs.Int64("round", 0, "督查轮次编号")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("多余的参数: %v", pos)
	}
	flt := store.FindingFilter{Township: *township, Adviser: *adviser, Round: *round}
	if *state != "" {
		if flt.State, err = workflow.ParseState(*state); err != nil {
			return usagef("--state: %v", err)
		}
	}
	var want workflow.Colour
	if *colour != "" {
		if want, err = workflow.ParseColour(*colour); err != nil {
			return usagef("--colour: %v", err)
		}
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	l, findings, err := e.lifecycle(db)
	if err != nil {
		return err
	}
	list, err := findings.List(e.Ctx, flt)
	if err != nil {
		return err
	}
	today := workflow.CivilDate(e.Now())
	views := []findingView{}
	for _, f := range list {
		c := l.Colour(f, today)
		if want != "" && c != want {
			continue
		}
		views = append(views, viewOf(f, c))
	}
	if *asJSON {
		return writeIndentedJSON(e, views)
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "编号\t状态\t亮灯\t整改期限\t乡镇\t村\t顾问\t督查事项")
	for _, v := range views {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, workflow.State(v.State).Label(),
			workflow.Colour(v.Colour).Label(), dash(v.Deadline), v.Township, v.VillageName, dash(v.AdviserName), v.RuleTitle)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "共 %d 个问题\n", len(views))
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func parseFindingID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("问题编号应为正整数, 而不是 %q", s)
	}
	return id, nil
}

func findingShow(e *Env, args []string) error {
	fs := newFlags(e, "finding show", findingUsage)
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("用法: ducha finding show ID [--json]")
	}
	id, err := parseFindingID(pos[0])
	if err != nil {
		return err
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	l, findings, err := e.lifecycle(db)
	if err != nil {
		return err
	}
	f, err := findings.Finding(e.Ctx, id)
	if err != nil {
		return err
	}
	hist, err := findings.History(e.Ctx, id)
	if err != nil {
		return err
	}
	v := viewOf(f, l.Colour(f, workflow.CivilDate(e.Now())))
	for _, h := range hist {
		v.History = append(v.History, entryView{h.Seq, h.At, h.Actor, string(h.Role), string(h.Event),
			string(h.From), string(h.To), h.Comment, h.Payload, h.Hash})
	}
	if *asJSON {
		return writeIndentedJSON(e, v)
	}
	w := e.Stdout
	fmt.Fprintf(w, "问题 #%d  %s (%s)  %s\n", f.ID, f.State.Label(), f.State, workflow.Colour(v.Colour).Label())
	fmt.Fprintf(w, "督查事项: %s [%s] 严重程度: %s\n", f.RuleTitle, f.RuleID, f.Severity.Label())
	fmt.Fprintf(w, "村: %s %s (%s)  法律顾问: %s %s\n", f.Village, f.VillageName, f.Township, dash(f.Adviser), f.AdviserName)
	if f.RoundID != 0 {
		fmt.Fprintf(w, "督查轮次: %d\n", f.RoundID)
	}
	fmt.Fprintf(w, "问题描述: %s\n", f.Message)
	if v.Evidence != nil {
		fmt.Fprintf(w, "证据 (测量值): %s\n", v.Evidence)
	}
	fmt.Fprintf(w, "整改期限: %s  退回次数: %d  重复发现: %d  约谈: %d  问责: %d  版本: %d\n",
		dash(v.Deadline), f.Rejections, f.RepeatCount, f.Summons, f.Escalations, f.Version)
	if f.Open() {
		fmt.Fprintf(w, "当前可执行的操作: %s\n", strings.Join(workflow.Allowed(f.State), ", "))
	}
	fmt.Fprintln(w, "处理记录:")
	for _, h := range hist {
		from := "-"
		if h.From != "" {
			from = h.From.Label()
		}
		fmt.Fprintf(w, "  %d. %s  %s (%s)  %s: %s → %s", h.Seq, h.At.In(workflow.Shanghai).Format("2006-01-02 15:04"),
			h.Actor, h.Role.Label(), h.Event.Label(), from, h.To.Label())
		if h.Comment != "" {
			fmt.Fprintf(w, "  「%s」", h.Comment)
		}
		keys := make([]string, 0, len(h.Payload))
		for k := range h.Payload {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s=%s", k, h.Payload[k])
		}
		fmt.Fprintln(w)
	}
	return nil
}

func findingEvent(e *Env, ev workflow.Event, args []string) error {
	if _, ok := workflow.Spec(ev); !ok {
		return &workflow.UnknownEventError{Event: string(ev)}
	}
	fs := newFlags(e, "finding "+string(ev), findingUsage)
	as := fs.String("as", "", "执行操作的用户登录名 (system 为系统)")
	var in workflow.Input
	fs.StringVar(&in.Comment, "comment", "", "说明; respond 时为整改报告")
	fs.StringVar(&in.Reason, "reason", "", "理由 (reject, appeal, dismiss, escalate 必填)")
	fs.StringVar(&in.Evidence, "evidence", "", "respond: 整改证据 (文件、链接)")
	fs.StringVar(&in.Measure, "measure", "", "escalate: 问责措施 ("+strings.Join(workflow.Measures, "、")+")")
	fs.StringVar(&in.Decision, "decision", "", "escalate: 问责决定")
	at := fs.String("time", "", `summon: 约谈时间 "YYYY-MM-DD HH:MM" (北京时间)`)
	fs.StringVar(&in.Place, "place", "", "summon: 约谈地点")
	fs.StringVar(&in.Interviewer, "interviewer", "", "summon: 约谈人")
	fs.StringVar(&in.Statement, "statement", "", "record_interview: 顾问陈述")
	fs.StringVar(&in.Outcome, "outcome", "", "record_interview: 约谈结果")
	days := fs.Int("deadline-days", 0, "order, uphold, reject, reorder: 整改期限 (工作日), 默认按督查事项或严重程度")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("用法: ducha finding %s ID --as LOGIN …", ev)
	}
	id, err := parseFindingID(pos[0])
	if err != nil {
		return err
	}
	if *as == "" {
		return usagef("--as: 必须指定执行操作的用户")
	}
	if *days < 0 {
		return usagef("--deadline-days: 不能为负数")
	}
	in.Deadline = workflow.Within{N: *days, Workdays: true}
	if *at != "" {
		if in.Time, err = parseLocalTime(*at); err != nil {
			return usagef("--time: %v", err)
		}
	}
	db, actor, err := e.openAs(*as)
	if err != nil {
		return err
	}
	defer db.Close()
	l, _, err := e.lifecycle(db)
	if err != nil {
		return err
	}
	t, err := l.Fire(e.Ctx, *actor, id, ev, in)
	if err != nil {
		return err
	}
	f := t.Finding
	fmt.Fprintf(e.Stdout, "问题 #%d: %s, %s → %s (版本 %d)", f.ID, ev.Label(), t.Entry.From.Label(), f.State.Label(), f.Version)
	if d := t.Entry.Payload["deadline"]; d != "" {
		fmt.Fprintf(e.Stdout, ", 整改期限 %s", d)
	}
	fmt.Fprintln(e.Stdout)
	if cal, ok := l.Calendar.(*workflow.Calendar); ok && t.Entry.Payload["deadline"] != "" {
		// Working days counted in a year without a holiday file are weekdays only.
		for y := workflow.CivilDate(t.Entry.At).Year(); y <= f.Deadline.Year(); y++ {
			if !cal.Covers(y) {
				fmt.Fprintf(e.Stderr, "警告: %s\n", workflow.MissingYearWarning(y))
			}
		}
	}
	return nil
}

// parseLocalTime reads "YYYY-MM-DD HH:MM" in Asia/Shanghai, or RFC 3339.
func parseLocalTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, workflow.Shanghai); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("无法识别的时间 %q (应为 YYYY-MM-DD HH:MM)", s)
}
