package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"text/tabwriter"

	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

const notifyUsage = "list [--state pending|sending|delivered|dead] [--json] | show ID [--json] | resend ID [--as USER] | preview KIND | dispatch"

func init() {
	register(&command{
		name:    "notify",
		usage:   notifyUsage,
		summary: "通知: 查看发送队列与发送记录, 重发, 预览模板, 立即发送到期通知",
		run:     runNotify,
	})
}

// notifyConfig is the configuration's notify section, with the top-level
// base_url for links.
func (e *Env) notifyConfig() (notify.Config, error) {
	cfg, err := e.Config()
	if err != nil {
		return notify.Config{}, err
	}
	nc := cfg.Notify
	nc.BaseURL = cfg.BaseURL
	return nc, nil
}

// notifier turns transitions into outbox messages, routed and rendered as
// the configuration says.
func (e *Env) notifier(db *store.DB) (workflow.Notifier, error) {
	nc, err := e.notifyConfig()
	if err != nil {
		return nil, err
	}
	r, err := notify.NewRouter(nc)
	if err != nil {
		return nil, err
	}
	cal, err := e.Calendar()
	if err != nil {
		return nil, err
	}
	return &workflow.RouterNotifier{Router: r, Calendar: cal}, nil
}

// dispatcher builds the notification dispatcher over the configured channels.
func (e *Env) dispatcher(db *store.DB, log *slog.Logger) (*notify.Dispatcher, error) {
	nc, err := e.notifyConfig()
	if err != nil {
		return nil, err
	}
	chans, err := notify.BuildChannels(nc, e.Now)
	if err != nil {
		return nil, err
	}
	var seed [16]byte
	crand.Read(seed[:])
	rnd := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	d := notify.NewDispatcher(db.Outbox(), chans, nc.Dispatch, rnd)
	d.Now = e.Now
	d.Log = log
	return d, nil
}

// startServices starts the background services of `ducha serve`: the
// notification dispatcher, woken by LISTEN/NOTIFY on PostgreSQL.
func (e *Env) startServices(ctx context.Context, db *store.DB, log *slog.Logger) (*services, error) {
	d, err := e.dispatcher(db, log)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	wake, err := db.ListenOutbox(lctx)
	if err != nil {
		cancel()
		return nil, err
	}
	d.Wakeups = wake
	d.Start(ctx)
	return &services{stops: []func(){cancel, d.Stop}}, nil
}

func runNotify(e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("用法: ducha notify %s", notifyUsage)
	}
	sub := args[0]
	fs := newFlags(e, "notify "+sub, notifyUsage)
	state := fs.String("state", "", "只列出此状态的通知: pending 待发送, sending 发送中, delivered 已送达, dead 发送失败")
	asJSON := fs.Bool("json", false, "以 JSON 输出")
	as := fs.String("as", "", "操作人 (记入发送记录)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "preview":
		if len(pos) != 1 {
			return usagef("用法: ducha notify preview KIND (KIND: order, rejection, reminder, interview, accountability, bulletin, digest)")
		}
		return notifyPreview(e, pos[0])
	case "list", "show", "resend", "dispatch":
	default:
		return usagef("未知的 notify 子命令 %q; 用法: ducha notify %s", sub, notifyUsage)
	}
	var st notify.State
	if *state != "" {
		if st, err = notify.ParseState(*state); err != nil {
			return err
		}
	}
	var id int64
	if sub == "show" || sub == "resend" {
		if len(pos) != 1 {
			return usagef("用法: ducha notify %s ID", sub)
		}
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return usagef("通知 ID 应为正整数, 而不是 %q", pos[0])
		}
	} else if len(pos) != 0 {
		return usagef("notify %s 不接受位置参数 %q", sub, pos)
	}
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	ob := db.Outbox()
	switch sub {
	case "list":
		ms, err := ob.List(e.Ctx, store.OutboxFilter{State: st})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeIndentedJSON(e, ms)
		}
		if len(ms) == 0 {
			fmt.Fprintln(e.Stdout, "没有通知")
			return nil
		}
		w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\t类别\t状态\t接收人\t渠道\t尝试\t生成时间\t主题\t最后错误")
		for _, m := range ms {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Kind.Label(), m.State.Label(),
				m.Recipient, m.Channel, m.Attempts, m.CreatedAt.In(workflow.Shanghai).Format("2006-01-02 15:04"),
				m.Subject, oneLine(m.LastError, 60))
		}
		return w.Flush()
	case "show":
		ms, err := ob.List(e.Ctx, store.OutboxFilter{ID: id})
		if err != nil {
			return err
		}
		for _, m := range ms {
			log, err := ob.Attempts(e.Ctx, id)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeIndentedJSON(e, struct {
					notify.Message
					Log []store.Attempt `json:"log"`
				}{m, log})
			}
			fmt.Fprintf(e.Stdout, "通知 %d  %s  %s\n接收人: %s %s\n渠道: %s\n原因: %s\n主题: %s\n\n%s\n发送记录:\n",
				m.ID, m.Kind.Label(), m.State.Label(), m.Recipient, m.Address, m.Channel, m.Cause, m.Subject, m.Body)
			if len(log) == 0 {
				fmt.Fprintln(e.Stdout, "  (尚无)")
			}
			for _, a := range log {
				fmt.Fprintf(e.Stdout, "  第%d次 %s %s %.0fms %s\n", a.Attempt,
					a.StartedAt.In(workflow.Shanghai).Format("2006-01-02 15:04:05"), a.Outcome, a.Duration, a.Error)
			}
			return nil
		}
		return &notify.InputError{Msg: fmt.Sprintf("通知 %d 不存在", id)}
	case "resend":
		by := *as
		if by == "" {
			by = "cli"
		}
		m, err := ob.Resend(e.Ctx, id, e.Now(), by)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "通知 %d (%s, 发给 %s) 已重新排队, 将由发送服务发出\n", m.ID, m.Kind.Label(), m.Recipient)
		return nil
	case "dispatch":
		d, err := e.dispatcher(db, slog.New(slog.NewTextHandler(e.Stderr, nil)))
		if err != nil {
			return err
		}
		total := 0
		for {
			n, err := d.RunOnce(e.Ctx, e.Now())
			if err != nil {
				return err
			}
			total += n
			if n == 0 {
				break
			}
		}
		counts := map[notify.State]int{}
		for _, s := range notify.States {
			ms, err := ob.List(e.Ctx, store.OutboxFilter{State: s})
			if err != nil {
				return err
			}
			counts[s] = len(ms)
		}
		fmt.Fprintf(e.Stdout, "本次处理 %d 条; 现有 待发送 %d, 已送达 %d, 发送失败 %d\n",
			total, counts[notify.Pending]+counts[notify.Sending], counts[notify.Delivered], counts[notify.Dead])
		return nil
	}
	return nil
}

func notifyPreview(e *Env, kind string) error {
	k, err := notify.ParseKind(kind)
	if err != nil {
		return err
	}
	nc, err := e.notifyConfig()
	if err != nil {
		return err
	}
	t, err := notify.ParseTemplates(nc.Templates)
	if err != nil {
		return err
	}
	subject, body, err := t.Render(k, notify.Sample(k, nc.BaseURL))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "主题: %s\n\n%s", subject, body)
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
