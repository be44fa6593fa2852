package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ducha/bulletin"
	"ducha/config"
	"ducha/store"
	"ducha/workflow"
)

// The half-year replay: 2018-01-01..2018-06-30 on the sample county with a
// simulated clock. The engine (scheduler, sweep) runs exactly as in `ducha
// serve`; the people are played by seeded scripts: advisers answer their
// orders (most in time, some late, one never), township officers verify or
// send reports back, supervisors decide appeals, record interviews and sign
// findings off.

// demoUser is a ready-made user of the demo, with its password.
type demoUser struct {
	workflow.User
	Password string
}

// replayStart is just after the first of January's monthly tick: the first
// periodic round (over January) opens on 1 February.
var (
	replayStart = time.Date(2018, 1, 1, 9, 30, 0, 0, workflow.Shanghai)
	replayEnd   = time.Date(2018, 7, 1, 0, 0, 0, 0, workflow.Shanghai)
)

// lazyAdviser never answers an order: the accountability case of the demo
// (the sample county's README names him).
const lazyAdviser = "A035"

// demoConfig is the configuration the replay runs with: monthly periodic
// rounds on the first at 09:00 over the month before, and one unannounced
// check a month over a fifth of the villages.
func demoConfig(checklist string) *config.Config {
	c := config.Default()
	c.Bureau = config.Bureau{Name: "云溪县司法局", Short: "云司法"}
	c.Schedules = []*workflow.Schedule{
		{Name: "monthly", Kind: workflow.ScheduleKindPeriodic, Cron: "0 9 1 * *", Checklist: checklist, Period: "previous_month", Scope: "all"},
		{Name: "spot-check", Kind: workflow.ScheduleKindRandom, Window: "month", Checklist: checklist, Period: "month_to_date",
			Sample: "20%", ExcludeInspectedDays: 60},
	}
	c.Serve.SweepEvery = config.Duration{Duration: 12 * time.Hour}
	// Bulletins follow the periodic rounds only, as the seed's five did;
	// the replay publishes them itself when those rounds close.
	c.Rounds.PublishOnClose = false
	return c
}

// users creates the demo's users: two supervisors (sign-off needs a second
// pair of eyes), one officer per township, and a login for every adviser.
func (d *demo) users() error {
	ctx := d.e.Ctx
	townships, err := d.db.Townships(ctx)
	if err != nil {
		return err
	}
	advisers, err := d.db.Advisers(ctx)
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(d.seed, 1))
	const letters = "abcdefghjkmnpqrstuvwxyz23456789"
	password := func() string {
		b := make([]byte, 8)
		for i := range b {
			b[i] = letters[rnd.IntN(len(letters))]
		}
		return string(b)
	}
	add := func(u workflow.User) error {
		pw := password()
		// The demo's throwaway database uses bcrypt's minimum cost so that 50
		// users take milliseconds; `ducha user add` uses the default cost.
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			return err
		}
		u.PasswordHash = string(h)
		if err := d.db.AddUser(ctx, &u); err != nil {
			return err
		}
		d.people = append(d.people, demoUser{u, pw})
		return nil
	}
	for _, u := range []workflow.User{
		{Login: "zhangjg", Name: "张建国 (县司法局督查室主任)", Role: workflow.Supervisor},
		{Login: "lixy", Name: "李秀英 (县司法局督查员)", Role: workflow.Supervisor},
	} {
		if err := add(u); err != nil {
			return err
		}
	}
	for i, t := range townships {
		if err := add(workflow.User{Login: fmt.Sprintf("sfs%02d", i+1), Name: t.Name + "司法所", Role: workflow.Officer, Township: t.Name}); err != nil {
			return err
		}
	}
	for _, a := range advisers {
		if err := add(workflow.User{Login: strings.ToLower(a.Code), Name: a.Name, Role: workflow.AdviserRole, Adviser: a.Code}); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.e.Stdout, "督查人员 2 名 (zhangjg, lixy), 司法所 %d 个 (sfs01…sfs%02d), 法律顾问账号 %d 个 (登录名为顾问编号小写, 如 a001)\n",
		len(townships), len(townships), len(advisers))
	var b strings.Builder
	b.WriteString("# ducha 演示账号 (仅用于演示数据库; 正式使用请用 ducha user add 创建账号)\n")
	b.WriteString("# 角色\t登录名\t密码\t姓名\n")
	for _, p := range d.people {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", p.Role.Label(), p.Login, p.Password, p.Name)
	}
	path := filepath.Join(d.dir, "accounts.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(d.e.Stdout, "账号和密码已写入 %s\n", path)
	return nil
}

func (d *demo) user(login string) workflow.User {
	for _, p := range d.people {
		if p.Login == login {
			return p.User
		}
	}
	panic("demo: no user " + login)
}

// replayer plays the people of the county.
type replayer struct {
	d         *demo
	en        *engine
	life      *workflow.Lifecycle
	findings  *store.Findings
	rnd       *rand.Rand
	officers  map[string]workflow.User // by township
	advisers  map[string]workflow.User // by adviser code
	sup, sup2 workflow.User

	plans    map[int64]time.Time // when the adviser answers the finding's current order
	rejected map[int64]bool
	appealed int
	timeline []string
	counts   map[workflow.Event]int
}

func (r *replayer) say(now time.Time, format string, args ...any) {
	line := now.In(workflow.Shanghai).Format("01-02 15:04") + "  " + fmt.Sprintf(format, args...)
	r.timeline = append(r.timeline, line)
	fmt.Fprintln(r.d.e.Stdout, line)
}

// replay runs the half-year.
func (d *demo) replay() error {
	ctx := d.e.Ctx
	clock := replayStart
	d.e.Now = func() time.Time { return clock }
	d.e.cfg = demoConfig(d.checklist)
	cal, err := d.e.Calendar()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	en, err := d.e.engine(d.db, log)
	if err != nil {
		return err
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], d.seed)
	en.scheduler.Rand = rand.NewChaCha8(key) // seeds of the unannounced checks
	r := &replayer{
		d: d, en: en, life: en.life, findings: en.findings, rnd: rand.New(rand.NewPCG(d.seed, 3)),
		officers: map[string]workflow.User{}, advisers: map[string]workflow.User{},
		sup: d.user("zhangjg"), sup2: d.user("lixy"),
		plans: map[int64]time.Time{}, rejected: map[int64]bool{}, counts: map[workflow.Event]int{},
	}
	for _, p := range d.people {
		switch p.Role {
		case workflow.Officer:
			r.officers[p.Township] = p.User
		case workflow.AdviserRole:
			r.advisers[p.Adviser] = p.User
		}
	}
	seenRounds := 0
	for day := workflow.CivilDate(replayStart); day.Before(workflow.CivilDate(replayEnd)); day = day.AddDate(0, 0, 1) {
		y, m, dd := day.Date()
		at := func(h, min int) time.Time { return time.Date(y, m, dd, h, min, 0, 0, workflow.Shanghai) }
		// The engine: every fire of the day at its own moment, the sweep each morning.
		for _, moment := range r.engineMoments(ctx, at(8, 0), at(18, 0)) {
			if moment.Before(replayStart) {
				continue
			}
			clock = moment
			_, sweep, err := en.tick(ctx, moment)
			if err != nil {
				return err
			}
			r.sweepNews(ctx, moment, sweep)
		}
		rounds, err := d.db.Rounds().Rounds(ctx)
		if err != nil {
			return err
		}
		for i := len(rounds) - seenRounds - 1; i >= 0; i-- {
			rd := rounds[i]
			r.say(rd.OpenedAt, "开启%s第 %d 轮: 督查 %s 至 %s, %s, %d 个村; 新发现问题 %d 个, 再次发现 %d 个",
				workflow.RoundKindLabel(rd.Kind), rd.ID, rd.From.Format("01-02"), rd.To.Format("01-02"),
				workflow.ScopeLabel(rd.Scope), rd.Villages, rd.NewFindings, rd.RepeatFindings)
			if rd.Draw != nil {
				r.say(rd.OpenedAt, "    随机抽样承诺值 %s…, 开启时公布种子 %s", rd.Draw.Commitment[:12], rd.Draw.Seed)
			}
		}
		seenRounds = len(rounds)
		if m == time.March && dd == 24 {
			r.say(at(9, 0), "3月24日至26日 精准脱贫村法律顾问专题培训 (云司法〔2018〕31号)")
		}
		if !cal.IsWorkday(day) {
			continue
		}
		clock = at(17, 30)
		if err := r.actDay(ctx, clock, cal); err != nil {
			return err
		}
		if err := d.afterDay(ctx, r, day); err != nil {
			return err
		}
	}
	clock = replayEnd
	d.timeline = r.timeline
	return r.summarise(ctx, clock)
}

// sweepNews tells the timeline about automatic interviews and accountability.
func (r *replayer) sweepNews(ctx context.Context, now time.Time, rep *workflow.SweepReport) {
	if rep == nil {
		return
	}
	expired := 0
	for _, a := range rep.Actions {
		switch a.Event {
		case workflow.Expire:
			expired++
		case workflow.Summon, workflow.Escalate:
			f, err := r.findings.Finding(ctx, a.FindingID)
			if err != nil {
				continue
			}
			what := "约谈通知"
			if a.Event == workflow.Escalate {
				what = "问责 (" + r.d.e.cfg.Policy.Measure + ")"
			}
			r.say(now, "系统自动%s: %s (%s%s, 问题 #%d) — %s", what, f.AdviserName, f.Township, f.VillageName, f.ID, a.Reason)
		}
	}
	if expired > 0 {
		r.say(now, "系统: %d 个问题整改期限已过, 转为逾期", expired)
	}
}

// engineMoments are the instants in [from, to] at which the engine has
// something to do: the morning sweep and each scheduled fire.
func (r *replayer) engineMoments(ctx context.Context, from, to time.Time) []time.Time {
	out := []time.Time{from}
	for t := from; ; {
		next := r.en.scheduler.NextWake(ctx, t)
		if next.IsZero() || next.After(to) {
			return out
		}
		out = append(out, next)
		t = next
	}
}

// actDay plays one working day's people at now.
func (r *replayer) actDay(ctx context.Context, now time.Time, cal *workflow.Calendar) error {
	today := workflow.CivilDate(now)
	all, err := r.findings.List(ctx, store.FindingFilter{})
	if err != nil {
		return err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	for _, f := range all {
		if !f.Open() {
			continue
		}
		if err := r.act(ctx, f, now, today, cal); err != nil {
			return fmt.Errorf("finding %d (%s): %w", f.ID, f.State, err)
		}
	}
	return nil
}

func (r *replayer) fire(ctx context.Context, actor workflow.User, f *workflow.Finding, ev workflow.Event, in workflow.Input, now time.Time) (*workflow.Finding, error) {
	t, err := r.life.FireOn(ctx, actor, f, ev, in, now)
	if err != nil {
		return nil, err
	}
	r.counts[ev]++
	return t.Finding, nil
}

// act decides what the people do about one open finding today.
func (r *replayer) act(ctx context.Context, f *workflow.Finding, now, today time.Time, cal *workflow.Calendar) error {
	sup, sup2 := r.sup, r.sup2
	officer := r.officers[f.Township]
	switch f.State {
	case workflow.Discovered:
		_, err := r.fire(ctx, sup, f, workflow.Order, workflow.Input{}, now)
		return err
	case workflow.Ordered, workflow.Overdue:
		if f.Adviser == "" { // 顾问未配备: nobody can answer; the bureau takes it over
			if f.State == workflow.Overdue || cal.WorkdaysBetween(workflow.CivilDate(f.CreatedAt), today) >= 3 {
				_, err := r.fire(ctx, sup, f, workflow.Dismiss, workflow.Input{Reason: "该村原法律顾问已离任, 县司法局已启动重新选聘, 此问题转入选聘工作督办"}, now)
				if err == nil {
					r.say(now, "撤销问题 #%d (%s%s 顾问未配备): 转入选聘工作督办", f.ID, f.Township, f.VillageName)
				}
				return err
			}
			return nil
		}
		adviser := r.advisers[f.Adviser]
		plan, ok := r.plans[f.ID]
		if !ok || plan.Before(workflow.CivilDate(f.UpdatedAt)) {
			plan = r.planAnswer(f, today, cal)
			r.plans[f.ID] = plan
		}
		if plan.IsZero() || today.Before(plan) {
			return nil
		}
		delete(r.plans, f.ID)
		if f.State == workflow.Ordered && r.appealed < 2 && f.RuleID == "visit_monthly" && f.Rejections == 0 && f.RepeatCount == 0 {
			r.appealed++
			reason := "该月已到村服务, 工作记录漏报, 附村委会签到表"
			if r.appealed == 2 {
				reason = "村民大多外出务工, 无法组织到村服务"
			}
			if _, err := r.fire(ctx, adviser, f, workflow.Appeal, workflow.Input{Reason: reason}, now); err != nil {
				return err
			}
			r.say(now, "%s (%s) 就问题 #%d 提出申诉: %s", adviser.Name, f.VillageName, f.ID, reason)
			return nil
		}
		_, err := r.fire(ctx, adviser, f, workflow.Respond, workflow.Input{
			Comment:  fmt.Sprintf("已按要求整改: %s。", remedy(f.RuleID)),
			Evidence: "整改照片 2 张, 村委会签到表 1 份",
		}, now)
		if err == nil && f.State == workflow.Overdue {
			r.say(now, "%s 逾期后提交问题 #%d (%s%s) 的整改报告", adviser.Name, f.ID, f.Township, f.VillageName)
		}
		return err
	case workflow.Appealed:
		if cal.WorkdaysBetween(workflow.CivilDate(f.UpdatedAt), today) < 2 {
			return nil
		}
		if r.appealed == 1 || f.ID%2 == 1 && r.counts[workflow.Dismiss] == 0 {
			if _, err := r.fire(ctx, sup2, f, workflow.Dismiss, workflow.Input{Reason: "经核实村委会签到表, 该月确有到村服务, 系记录漏报, 申诉成立"}, now); err != nil {
				return err
			}
			r.say(now, "%s 核实后认定问题 #%d 申诉成立, 撤销该问题", sup2.Name, f.ID)
			return nil
		}
		if _, err := r.fire(ctx, sup2, f, workflow.Uphold, workflow.Input{Comment: "申诉理由不成立: 可通过电话、微信及预约方式到村服务, 维持整改要求"}, now); err != nil {
			return err
		}
		r.say(now, "%s 驳回问题 #%d 的申诉, 维持整改要求, 重新计算整改期限", sup2.Name, f.ID)
		return nil
	case workflow.Responded:
		if cal.WorkdaysBetween(workflow.CivilDate(f.UpdatedAt), today) < 1 {
			return nil
		}
		if !r.rejected[f.ID] && r.rnd.IntN(6) == 0 {
			r.rejected[f.ID] = true
			_, err := r.fire(ctx, officer, f, workflow.Reject, workflow.Input{Reason: "佐证材料不足, 未见到村服务的影像资料, 请补充后重新提交"}, now)
			return err
		}
		_, err := r.fire(ctx, officer, f, workflow.Verify, workflow.Input{Comment: "经司法所实地核查, 整改到位"}, now)
		return err
	case workflow.Verified:
		if cal.WorkdaysBetween(workflow.CivilDate(f.UpdatedAt), today) < 1 {
			return nil
		}
		_, err := r.fire(ctx, sup, f, workflow.SignOff, workflow.Input{Comment: "整改到位, 予以销号"}, now)
		return err
	case workflow.Interview:
		if f.InterviewOn == nil || today.Before(*f.InterviewOn) || f.Escalations > 0 {
			return nil
		}
		if f.LastSeq > 0 && r.recorded(ctx, f) {
			return nil
		}
		adviser := r.advisers[f.Adviser]
		lazy := f.Adviser == lazyAdviser
		statement, outcome := "近期手头案件较多, 到村服务不及时, 今后一定改正", "当场作出书面承诺, 限期整改"
		if lazy {
			statement, outcome = "认为到村服务可有可无, 对整改要求不予回应", "态度消极, 拒不作出整改承诺, 建议问责"
		}
		f2, err := r.fire(ctx, sup, f, workflow.RecordInterview, workflow.Input{Statement: statement, Outcome: outcome}, now)
		if err != nil {
			return err
		}
		r.say(now, "约谈 %s (%s%s, 问题 #%d): %s", adviser.Name, f.Township, f.VillageName, f.ID, outcome)
		if lazy {
			return nil // still overdue: the sweep holds him accountable
		}
		_, err = r.fire(ctx, sup, f2, workflow.Reorder, workflow.Input{Comment: "约谈后重新下达整改通知"}, now)
		return err
	case workflow.Accountability:
		if cal.WorkdaysBetween(workflow.CivilDate(f.UpdatedAt), today) < 3 {
			return nil
		}
		_, err := r.fire(ctx, sup2, f, workflow.SignOff, workflow.Input{Comment: "问责决定已执行, 予以销号"}, now)
		if err == nil {
			r.say(now, "问题 #%d (%s) 问责决定已执行, 销号", f.ID, f.AdviserName)
		}
		return err
	}
	return nil
}

// recorded reports whether the finding's interview has been recorded.
func (r *replayer) recorded(ctx context.Context, f *workflow.Finding) bool {
	h, err := r.findings.History(ctx, f.ID)
	if err != nil || len(h) == 0 {
		return false
	}
	return h[len(h)-1].Event == workflow.RecordInterview
}

// planAnswer decides when the adviser answers an order: most within a few
// working days, about one in five after the deadline, the lazy one never.
func (r *replayer) planAnswer(f *workflow.Finding, today time.Time, cal *workflow.Calendar) time.Time {
	if f.Adviser == lazyAdviser {
		return time.Time{}
	}
	if f.State == workflow.Overdue || f.Deadline == nil {
		return cal.AddWorkdays(today, 1+r.rnd.IntN(2))
	}
	if r.rnd.IntN(5) == 0 {
		return cal.AddWorkdays(*f.Deadline, 1+r.rnd.IntN(4)) // late
	}
	return cal.AddWorkdays(today, 1+r.rnd.IntN(4))
}

func remedy(rule string) string {
	switch rule {
	case "service_card":
		return "已补全法律便民服务卡的微信和电子邮箱并重新张贴"
	case "lecture_quarterly":
		return "已在村委会举办法治讲座一场, 听众 40 余人"
	case "visit_monthly":
		return "已到村开展法律服务, 接待村民咨询"
	case "consultation_answered":
		return "已在村公示栏公布咨询电话, 并集中解答村民咨询"
	case "training_attended":
		return "已参加补训并提交学习心得"
	case "not_idle_30d":
		return "已恢复正常到村服务并补录工作记录"
	case "law_study_quarterly":
		return "已在村两委会议上组织学习《人民调解法》"
	}
	return "已完成整改"
}

// summarise prints what the half-year left behind.
func (r *replayer) summarise(ctx context.Context, now time.Time) error {
	w := r.d.e.Stdout
	all, err := r.findings.List(ctx, store.FindingFilter{})
	if err != nil {
		return err
	}
	byState := map[workflow.State]int{}
	for _, f := range all {
		byState[f.State]++
	}
	fmt.Fprintf(w, "\n半年共发现问题 %d 个:", len(all))
	for _, s := range []workflow.State{workflow.SignedOff, workflow.Dismissed, workflow.Ordered, workflow.Responded,
		workflow.Verified, workflow.Overdue, workflow.Appealed, workflow.Interview, workflow.Accountability, workflow.Discovered} {
		if byState[s] > 0 {
			fmt.Fprintf(w, " %s %d,", s.Label(), byState[s])
		}
	}
	fmt.Fprintf(w, "\n处理操作: 整改反馈 %d 次, 退回 %d 次, 核实 %d 次, 销号 %d 次, 申诉 %d 次, 约谈记录 %d 次, 撤销 %d 次\n",
		r.counts[workflow.Respond], r.counts[workflow.Reject], r.counts[workflow.Verify], r.counts[workflow.SignOff],
		r.counts[workflow.Appeal], r.counts[workflow.RecordInterview], r.counts[workflow.Dismiss])
	res, err := workflow.VerifyChains(ctx, r.findings)
	if err != nil {
		return err
	}
	if res.Break != nil {
		return fmt.Errorf("审计链校验失败: %v", res.Break)
	}
	fmt.Fprintf(w, "审计: %d 个问题的 %d 条处理记录, 哈希链完整\n", res.Findings, res.Entries)
	return nil
}

// afterDay closes the rounds whose rectification period has run: each round
// closes 15 working days after it opened.
func (d *demo) afterDay(ctx context.Context, r *replayer, day time.Time) error {
	rounds, err := d.db.Rounds().Rounds(ctx)
	if err != nil {
		return err
	}
	cal := r.life.Calendar
	for i := len(rounds) - 1; i >= 0; i-- {
		rd := rounds[i]
		if !rd.Open() || cal.WorkdaysBetween(workflow.CivilDate(rd.OpenedAt), day) < 15 {
			continue
		}
		now := d.e.Now()
		closed, err := r.en.rounds.Close(ctx, rd.ID, r.sup, now)
		if err != nil {
			return err
		}
		r.say(now, "第 %d 轮%s结束", closed.ID, workflow.RoundKindLabel(closed.Kind))
		if closed.Kind != workflow.RoundPeriodic {
			continue
		}
		p, err := d.e.publisher(d.db)
		if err != nil {
			return err
		}
		pub, err := p.Round(ctx, closed.ID, r.sup, now)
		if err != nil {
			return err
		}
		r.say(now, "发布督查通报 %s: %s (问题 %d 个)", pub.Number, pub.Title, len(pub.Bulletin.Problems))
	}
	return nil
}

// next says what to look at now.
func (d *demo) next() error {
	w := d.e.Stdout
	db := "--db sqlite:" + d.dbPath
	fmt.Fprintf(w, "演示数据库: %s (回放种子 %d; 同一种子每次回放结果相同)\n", d.dbPath, d.seed)
	fmt.Fprintln(w, "接下来可以试试 (在源码目录中把 ducha 换成 go run ./cmd/ducha):")
	verify := "round verify 1"
	if rounds, err := d.db.Rounds().Rounds(d.e.Ctx); err == nil {
		for _, r := range rounds {
			if r.Draw != nil {
				verify = fmt.Sprintf("round verify %d   # 用种子复核随机抽样", r.ID)
			}
		}
	}
	for _, c := range []string{
		"round list", "round show 2", verify,
		"finding list --state accountability", "finding list --colour red",
		"audit verify",
		"summary --from 2018-01-01 --to 2018-06-30",
		"bulletin list",
		"round open --rules " + d.checklist + " --period 2018-06-01..2018-06-30 --as zhangjg",
	} {
		name, _, _ := strings.Cut(c, " ")
		if _, ok := commands[name]; ok {
			fmt.Fprintf(w, "  ducha %s %s\n", db, c)
		}
	}
	fmt.Fprintf(w, "  ducha demo --dir %s --serve   # 打开网页, 用 %s 中的账号登录\n", d.dir, filepath.Join(d.dir, "accounts.txt"))
	return nil
}

// documents writes the published bulletins and the half-year summary into
// the demo folder's out/ and prints their paths. The bulletins' PDFs are
// typeset in Go (a few milliseconds each), so they are always written where
// a TrueType CJK font is installed; --pdf prints the summary's PDF too, with
// Chromium (it has no typesetter of its own), and the bulletins' where no
// such font is installed.
func (d *demo) documents() error {
	ctx, w := d.e.Ctx, d.e.Stdout
	out := filepath.Join(d.dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fontErr := bulletin.CanTypeset()
	var printer *bulletin.Printer
	if d.pdf {
		p, err := bulletin.FindPrinter()
		if err != nil {
			fmt.Fprintf(w, "(未找到 Chromium, 不打印工作总结的 PDF: %v)\n", err)
		} else {
			printer = p
			defer p.Close()
		}
	}
	bulletinPDF := fontErr == nil || printer != nil
	switch {
	case !bulletinPDF:
		fmt.Fprintf(w, "(不生成通报的 PDF: %v; 或加 --pdf 用 Chromium 打印)\n", fontErr)
	case printer == nil:
		fmt.Fprintln(w, "(加 --pdf 可用 Chromium 同时打印工作总结的 PDF, 较慢)")
	}
	type doc interface {
		WriteMarkdown(io.Writer) error
		WriteHTML(io.Writer) error
		PDF(context.Context, *bulletin.Printer) ([]byte, error)
	}
	write := func(base string, v doc, extra func(io.Writer) error, ext string, pdf bool) error {
		var paths []string
		save := func(name string, fn func(io.Writer) error) error {
			var buf bytes.Buffer
			if err := fn(&buf); err != nil {
				return err
			}
			path := filepath.Join(out, name)
			paths = append(paths, path)
			return os.WriteFile(path, buf.Bytes(), 0o644)
		}
		if err := save(base+".md", v.WriteMarkdown); err != nil {
			return err
		}
		if err := save(base+".html", v.WriteHTML); err != nil {
			return err
		}
		if extra != nil {
			if err := save(base+ext, extra); err != nil {
				return err
			}
		}
		if pdf {
			if err := save(base+".pdf", func(w io.Writer) error {
				b, err := v.PDF(ctx, printer)
				if err == nil {
					_, err = w.Write(b)
				}
				return err
			}); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(paths, "\n  "))
		return nil
	}
	list, err := d.db.Bulletins(ctx, 2018)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "督查通报 %d 期 (Markdown、HTML、台账 XLSX%s):\n", len(list), map[bool]string{true: "、PDF", false: ""}[bulletinPDF])
	for _, p := range list {
		pub, err := d.db.Bulletin(ctx, p.Number)
		if err != nil {
			return err
		}
		b := pub.Bulletin
		if err := write(fmt.Sprintf("督查通报-%d-%02d", p.Number.Year, p.Number.Seq), b, b.WriteXLSX, "-台账.xlsx", bulletinPDF); err != nil {
			return err
		}
	}
	s, err := d.db.Summary(ctx, workflow.Date(2018, 1, 1), workflow.Date(2018, 6, 30), "")
	if err != nil {
		return err
	}
	if err := d.db.SummaryInspections(ctx, s); err != nil {
		return err
	}
	if s.Bureau, err = d.e.bureau(); err != nil {
		return err
	}
	fmt.Fprintf(w, "2018 年上半年工作总结 (统计部分; Markdown、HTML、JSON%s):\n", map[bool]string{true: "、PDF", false: ""}[printer != nil])
	return write("2018年上半年工作总结", s, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}, ".json", printer != nil)
}

// serve opens the web app on the demo database, its clock running on from
// 1 July 2018, 09:00 (the end of the replayed half-year).
func (d *demo) serve(addr string) error {
	e := d.e
	accounts, err := os.ReadFile(filepath.Join(d.dir, "accounts.txt"))
	if err != nil {
		return fmt.Errorf("读取演示账号: %w", err)
	}
	e.DBURL = "sqlite:" + d.dbPath
	if e.cfg == nil {
		e.cfg = demoConfig(filepath.Join(d.dir, "checklist-2018.yaml"))
		e.cfg.Serve.UploadDir = filepath.Join(d.dir, "uploads")
	}
	start, real0 := time.Date(2018, 7, 1, 9, 0, 0, 0, workflow.Shanghai), time.Now()
	e.Now = func() time.Time { return start.Add(time.Since(real0)) }
	db, err := e.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, release, err := e.webHandler(db, log)
	if err != nil {
		return err
	}
	defer release()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	w := e.Stdout
	fmt.Fprintln(w, "\n== 网页 ==")
	fmt.Fprintln(w, "演示账号 (督查人员可开启督查、销号; 司法所核实整改; 法律顾问在手机上反馈整改):")
	for _, line := range strings.Split(strings.TrimSpace(string(accounts)), "\n") {
		if !strings.HasPrefix(line, "#") {
			fmt.Fprintln(w, "  "+strings.ReplaceAll(line, "\t", "  "))
		}
	}
	host := ln.Addr().String()
	if strings.HasPrefix(addr, ":") {
		host = "localhost" + addr
	}
	fmt.Fprintf(w, "网页已启动: http://%s/ (模拟时钟从 2018-07-01 09:00 起走; Ctrl-C 停止)\n", host)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-e.Ctx.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
