package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"ducha/workflow"
)

const serveUsage = `[--addr :8080] [--simulate-from "2018-01-01 00:00" --speed 3600 [--until "2018-07-01 00:00"]]`

func init() {
	register(&command{
		name:    "serve",
		usage:   serveUsage,
		summary: "运行服务: 按计划开启定期与不定期督查, 催办、逾期、约谈、问责检查, 发送通知, 提供网页",
		run:     runServe,
	})
}

// slogCron adapts slog to cron's logger.
type slogCron struct{ log *slog.Logger }

func (l slogCron) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l slogCron) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

func runServe(e *Env, args []string) error {
	fs := newFlags(e, "serve", serveUsage)
	addr := fs.String("addr", "", "网页服务监听地址 (默认取配置 serve.addr, 即 :8080); 设为 off 则不提供网页")
	simFrom := fs.String("simulate-from", "", `模拟时钟的起点 "YYYY-MM-DD HH:MM" (北京时间), 用于演示和测试`)
	speed := fs.Float64("speed", 3600, "模拟时钟的倍速: 每真实 1 秒走过的模拟秒数")
	until := fs.String("until", "", `模拟时钟走到此时刻后停止服务 "YYYY-MM-DD HH:MM"`)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	cfg, err := e.Config()
	if err != nil {
		return err
	}
	if *addr == "" {
		*addr = cfg.Serve.Addr
	}
	var stopAt time.Time
	if *simFrom != "" {
		start, err := parseLocalTime(*simFrom)
		if err != nil {
			return usagef("--simulate-from: %v", err)
		}
		if *speed <= 0 {
			return usagef("--speed: 应为正数")
		}
		if *until != "" {
			if stopAt, err = parseLocalTime(*until); err != nil {
				return usagef("--until: %v", err)
			}
		}
		real0 := time.Now()
		e.Now = func() time.Time {
			return start.Add(time.Duration(float64(time.Since(real0)) * *speed))
		}
	} else if *until != "" {
		return usagef("--until 只用于模拟时钟 (--simulate-from)")
	}

	log := slog.New(slog.NewTextHandler(e.Stderr, nil))
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	en, err := e.engine(db, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.Ctx)
	defer cancel()

	services, err := e.startServices(ctx, db, log)
	if err != nil {
		return err
	}
	defer services.stop()

	var srv *http.Server
	if *addr != "off" {
		h, release, err := e.webHandler(db, log)
		if err != nil {
			return err
		}
		defer release()
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", *addr, err)
		}
		srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("web", "err", err)
				cancel()
			}
		}()
		log.Info("ducha serve", "addr", ln.Addr().String(), "db", db.URL(), "schedules", len(cfg.Schedules))
	}

	var mu sync.Mutex // one tick at a time, whoever calls it
	tick := func() {
		mu.Lock()
		defer mu.Unlock()
		t := e.Now()
		if !stopAt.IsZero() && !t.Before(stopAt) {
			// A simulated clock runs on while a tick waits for the CPU (at
			// high speed a millisecond late is an hour): nothing at or
			// after --until happens.
			t = stopAt.Add(-time.Nanosecond)
		}
		en.tick(ctx, t)
	}
	tick() // catch up on what was missed while down

	if *simFrom != "" {
		runSimulated(ctx, en, e.Now, *speed, stopAt, tick)
	} else {
		c := cron.New(cron.WithLocation(workflow.Shanghai), cron.WithLogger(slogCron{log}),
			// Recover innermost: with SkipIfStillRunning outside a panicking job,
			// cron v3.0.1 would never run that job again.
			cron.WithChain(cron.SkipIfStillRunning(slogCron{log}), cron.Recover(slogCron{log})))
		for _, sc := range cfg.Schedules {
			if sc.Kind == workflow.ScheduleKindPeriodic {
				if _, err := c.AddFunc("CRON_TZ=Asia/Shanghai "+sc.Cron, tick); err != nil {
					return fmt.Errorf("schedule %s: %w", sc.Name, err)
				}
			}
		}
		// Unannounced checks, catch-up and the sweep are checked every minute.
		c.AddFunc("@every 1m", tick)
		c.Start()
		<-ctx.Done()
		<-c.Stop().Done()
	}

	log.Info("ducha serve: shutting down")
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Error("web shutdown", "err", err)
		}
	}
	return nil
}

// runSimulated drives the engine on a simulated clock until ctx ends or the
// clock passes stopAt: it wakes at each schedule's next moment (and at least
// every simulated minute), scaled down by speed.
func runSimulated(ctx context.Context, en *engine, now func() time.Time, speed float64, stopAt time.Time, tick func()) {
	for ctx.Err() == nil {
		t := now()
		if !stopAt.IsZero() && !t.Before(stopAt) {
			return
		}
		next := en.scheduler.NextWake(ctx, t)
		if next.IsZero() || next.Sub(t) > time.Minute {
			next = t.Add(time.Minute)
		}
		wait := time.Duration(float64(next.Sub(t)) / speed)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		tick()
	}
}
