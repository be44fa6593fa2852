package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is one entry of the `schedules:` section of ducha.yaml: a
// periodic inspection on a cron spec, or an unannounced (random) check at a
// random moment inside each window.
type Schedule struct {
	// Name identifies the schedule; fires are claimed per name, so renaming a
	// schedule starts it afresh.
	Name string `yaml:"name" json:"name"`
	// Kind is "periodic" (定期) or "random" (不定期).
	Kind string `yaml:"kind" json:"kind"`
	// Cron is a 5-field cron spec in Asia/Shanghai (periodic only), e.g.
	// "0 9 1 * *" for 09:00 on the first of each month. @monthly etc. work.
	Cron string `yaml:"cron,omitempty" json:"cron,omitempty"`
	// Window is the span within which a random check fires once, at a moment
	// drawn on a working day between 09:00 and 17:00: "month" or "quarter".
	Window string `yaml:"window,omitempty" json:"window,omitempty"`
	// Checklist is the path of the rules file the round applies.
	Checklist string `yaml:"checklist" json:"checklist"`
	// Period is what the round inspects, relative to the fire time:
	// previous_month, previous_quarter, previous_half_year, previous_year,
	// month_to_date, quarter_to_date, or last_Nd (e.g. last_30d).
	Period string `yaml:"period" json:"period"`
	// Scope for periodic rounds: "all" (default) or "township=NAME[,NAME]".
	Scope string `yaml:"scope,omitempty" json:"scope,omitempty"`
	// Sample for random checks: a rate ("20%") or a number of villages ("15").
	Sample string `yaml:"sample,omitempty" json:"sample,omitempty"`
	// Stratify allocates a random sample to townships in proportion (default true).
	Stratify *bool `yaml:"stratify,omitempty" json:"stratify,omitempty"`
	// ExcludeInspectedDays leaves out villages drawn by an unannounced check
	// in the last N days (periodic rounds review every village's records and
	// do not count).
	ExcludeInspectedDays int `yaml:"exclude_inspected_days,omitempty" json:"exclude_inspected_days,omitempty"`

	cron cron.Schedule
}

const (
	ScheduleKindPeriodic = "periodic"
	ScheduleKindRandom   = "random"
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate checks the schedule and prepares it for use. A cron spec that
// parses but can never fire (such as "0 0 31 2 *") is an error.
func (s *Schedule) Validate() error {
	if s.Name == "" {
		return errors.New("name: 不能为空")
	}
	switch s.Kind {
	case ScheduleKindPeriodic:
		if s.Cron == "" {
			return errors.New("cron: 定期督查必须给出 cron 表达式, 例如 \"0 9 1 * *\"")
		}
		spec := s.Cron
		if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
			spec = "CRON_TZ=Asia/Shanghai " + spec
		}
		c, err := cronParser.Parse(spec)
		if err != nil {
			return fmt.Errorf("cron: 表达式 %q 无效: %v", s.Cron, err)
		}
		from := time.Date(2000, 1, 1, 0, 0, 0, 0, Shanghai)
		if next := c.Next(from); next.IsZero() || next.After(from.AddDate(30, 0, 0)) {
			return fmt.Errorf("cron: 表达式 %q 永远不会触发 (例如 2 月没有 31 日)", s.Cron)
		}
		s.cron = c
	case ScheduleKindRandom:
		if s.Window != "month" && s.Window != "quarter" {
			return fmt.Errorf("window: %q 无效, 应为 month 或 quarter", s.Window)
		}
		if s.Sample == "" {
			return errors.New("sample: 不定期抽查必须给出抽样比例 (如 20%) 或数量 (如 15)")
		}
		if _, err := ParseSampleSpec(s.Sample); err != nil {
			return fmt.Errorf("sample: %v", err)
		}
		if s.ExcludeInspectedDays < 0 {
			return errors.New("exclude_inspected_days: 不能为负数")
		}
	default:
		return fmt.Errorf("kind: %q 无效, 应为 periodic (定期) 或 random (不定期)", s.Kind)
	}
	if s.Checklist == "" {
		return errors.New("checklist: 必须给出督查工作清单文件")
	}
	if _, _, err := PeriodFor(s.Period, time.Date(2018, 3, 1, 9, 0, 0, 0, Shanghai)); err != nil {
		return fmt.Errorf("period: %v", err)
	}
	if _, err := ParseScope(s.Scope); err != nil {
		return fmt.Errorf("scope: %v", err)
	}
	return nil
}

// SampleSpec is the schedule's parsed sample (random schedules only).
func (s *Schedule) SampleSpec() SampleSpec {
	spec, _ := ParseSampleSpec(s.Sample)
	spec.Stratify = s.Stratify == nil || *s.Stratify
	return spec
}

// PeriodFor returns the civil dates [from, to] a round fired at instant at
// inspects, for a period name of Schedule.Period.
func PeriodFor(name string, at time.Time) (from, to time.Time, err error) {
	d := CivilDate(at)
	y, m, _ := d.Date()
	monthStart := Date(y, m, 1)
	qStart := Date(y, time.Month((int(m)-1)/3*3+1), 1)
	hStart := Date(y, time.Month((int(m)-1)/6*6+1), 1)
	switch name {
	case "previous_month":
		return monthStart.AddDate(0, -1, 0), monthStart.AddDate(0, 0, -1), nil
	case "previous_quarter":
		return qStart.AddDate(0, -3, 0), qStart.AddDate(0, 0, -1), nil
	case "previous_half_year":
		return hStart.AddDate(0, -6, 0), hStart.AddDate(0, 0, -1), nil
	case "previous_year":
		return Date(y-1, 1, 1), Date(y-1, 12, 31), nil
	case "month_to_date", "quarter_to_date":
		start := monthStart
		if name == "quarter_to_date" {
			start = qStart
		}
		end := d.AddDate(0, 0, -1)
		if end.Before(start) { // fired on the first day: inspect the period just ended
			return PeriodFor(strings.Replace(name, "_to_date", "", 1)+"_previous", at)
		}
		return start, end, nil
	case "month_previous":
		return PeriodFor("previous_month", at)
	case "quarter_previous":
		return PeriodFor("previous_quarter", at)
	}
	if n, ok := strings.CutPrefix(name, "last_"); ok {
		if days, ok := strings.CutSuffix(n, "d"); ok {
			if k, err := strconv.Atoi(days); err == nil && k > 0 && k <= 3660 {
				return d.AddDate(0, 0, -k), d.AddDate(0, 0, -1), nil
			}
		}
	}
	return time.Time{}, time.Time{}, fmt.Errorf("督查期间 %q 无效, 应为 previous_month, previous_quarter, previous_half_year, previous_year, month_to_date, quarter_to_date 或 last_Nd (如 last_30d)", name)
}

// Scope says which villages a round inspects.
type Scope struct {
	Townships []string // empty: all villages
	Sample    *SampleSpec
}

// ParseScope reads "all", "township=A,B", "sample=20%" or "sample=15".
func ParseScope(s string) (Scope, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "all":
		return Scope{}, nil
	case strings.HasPrefix(s, "township="):
		var ts []string
		for _, t := range strings.Split(strings.TrimPrefix(s, "township="), ",") {
			if t = strings.TrimSpace(t); t != "" {
				ts = append(ts, t)
			}
		}
		if len(ts) == 0 {
			return Scope{}, fmt.Errorf("范围 %q 无效: township= 后应为乡镇名称", s)
		}
		return Scope{Townships: ts}, nil
	case strings.HasPrefix(s, "sample="):
		spec, err := ParseSampleSpec(strings.TrimPrefix(s, "sample="))
		if err != nil {
			return Scope{}, err
		}
		return Scope{Sample: &spec}, nil
	}
	return Scope{}, fmt.Errorf("范围 %q 无效, 应为 all, township=乡镇[,乡镇], sample=20%% 或 sample=15", s)
}

func (s Scope) String() string {
	switch {
	case s.Sample != nil:
		return "sample=" + s.Sample.String()
	case len(s.Townships) > 0:
		return "township=" + strings.Join(s.Townships, ",")
	}
	return "all"
}

// Fire is one planned firing of a schedule: the instant it was planned for
// (the claim key, with the schedule's name) and what it inspects.
type Fire struct {
	Schedule *Schedule
	At       time.Time
	From, To time.Time
	Draw     *DrawPlan // random checks only
}

// DrawPlan is a random check planned for a window: the moment it fires and
// the commitment to its seed. The seed stays secret until the round opens.
type DrawPlan struct {
	Schedule   string
	Window     time.Time // first civil day of the window
	FireAt     time.Time
	Commitment string
	Seed       Seed
}

// SchedulerStore is what the scheduler needs from storage.
type SchedulerStore interface {
	// ScheduleSince registers a schedule the first time it is seen (at now)
	// and returns when that was: ticks before it are never caught up.
	ScheduleSince(ctx context.Context, name string, now time.Time) (time.Time, error)
	// LastFire is the planned time of the schedule's latest claimed fire, or zero.
	LastFire(ctx context.Context, name string) (time.Time, error)
	// DrawPlanFor returns the plan of a schedule's window, or nil.
	DrawPlanFor(ctx context.Context, schedule string, window time.Time) (*DrawPlan, error)
	// SaveDrawPlan stores p unless a plan for that window exists, and returns
	// the stored plan (another process may have planned first).
	SaveDrawPlan(ctx context.Context, p DrawPlan) (DrawPlan, error)
}

// FireFunc opens the round of a fire. It must claim (schedule, At) in the
// same transaction as the round and return ErrAlreadyClaimed when another
// process has claimed it.
type FireFunc func(ctx context.Context, f Fire) error

// ErrAlreadyClaimed says another process opened this fire's round.
var ErrAlreadyClaimed = errors.New("该次督查已由其他进程开启")

// Scheduler decides which schedules are due at a moment and fires each due
// tick once. It is a function of "now" (RunDue) so that tests and the demo
// drive it with a simulated clock; `ducha serve` calls it from cron.
type Scheduler struct {
	Schedules []*Schedule
	Store     SchedulerStore
	Calendar  *Calendar
	Rand      io.Reader // seeds of random draws (crypto/rand in production)
	Fire      FireFunc
}

// RunDue fires every schedule whose latest tick at or before now has not
// been claimed yet. After downtime a schedule catches up once (its latest
// missed tick), not once per missed tick. It returns the fires it opened.
func (s *Scheduler) RunDue(ctx context.Context, now time.Time) ([]Fire, error) {
	var fired []Fire
	var errs []error
	for _, sc := range s.Schedules {
		f, err := s.due(ctx, sc, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", sc.Name, err))
			continue
		}
		if f == nil {
			continue
		}
		err = s.Fire(ctx, *f)
		switch {
		case errors.Is(err, ErrAlreadyClaimed):
		case err != nil:
			errs = append(errs, fmt.Errorf("schedule %s fire %s: %w", sc.Name, f.At.Format(time.RFC3339), err))
		default:
			fired = append(fired, *f)
		}
	}
	return fired, errors.Join(errs...)
}

func (s *Scheduler) due(ctx context.Context, sc *Schedule, now time.Time) (*Fire, error) {
	since, err := s.Store.ScheduleSince(ctx, sc.Name, now)
	if err != nil {
		return nil, err
	}
	last, err := s.Store.LastFire(ctx, sc.Name)
	if err != nil {
		return nil, err
	}
	lower := since
	if last.After(lower) {
		lower = last
	}
	var f *Fire
	if sc.Kind == ScheduleKindPeriodic {
		at := latestTick(sc.cron, lower, now)
		if at.IsZero() {
			return nil, nil
		}
		f = &Fire{Schedule: sc, At: at}
	} else {
		// The current window's plan (made now if missing), else a missed one
		// from the previous window.
		cur, err := s.plan(ctx, sc, now)
		if err != nil {
			return nil, err
		}
		var p *DrawPlan
		if !cur.FireAt.After(now) && cur.FireAt.After(lower) {
			p = &cur
		} else if prev, err := s.Store.DrawPlanFor(ctx, sc.Name, windowStart(sc.Window, cur.Window.AddDate(0, 0, -1))); err != nil {
			return nil, err
		} else if prev != nil && !prev.FireAt.After(now) && prev.FireAt.After(lower) {
			p = prev
		}
		if p == nil {
			return nil, nil
		}
		f = &Fire{Schedule: sc, At: p.FireAt, Draw: p}
	}
	f.From, f.To, err = PeriodFor(sc.Period, f.At)
	return f, err
}

// latestTick is the last tick of c in (after, now], or zero.
func latestTick(c cron.Schedule, after, now time.Time) time.Time {
	var last time.Time
	t := after
	for i := 0; i < 1_000_000; i++ {
		next := c.Next(t)
		if next.IsZero() || next.After(now) {
			break
		}
		last, t = next, next
	}
	return last
}

// NextWake is the earliest moment after now at which a schedule may be due.
func (s *Scheduler) NextWake(ctx context.Context, now time.Time) time.Time {
	var best time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	for _, sc := range s.Schedules {
		if sc.Kind == ScheduleKindPeriodic {
			consider(sc.cron.Next(now))
			continue
		}
		if p, err := s.Store.DrawPlanFor(ctx, sc.Name, windowStart(sc.Window, CivilDate(now))); err == nil && p != nil {
			consider(p.FireAt)
		}
		consider(windowEnd(sc.Window, CivilDate(now)).AddDate(0, 0, 1).Add(-8 * time.Hour)) // next window, 00:00 Shanghai
	}
	return best
}

func windowStart(window string, d time.Time) time.Time {
	y, m, _ := d.Date()
	if window == "quarter" {
		return Date(y, time.Month((int(m)-1)/3*3+1), 1)
	}
	return Date(y, m, 1)
}

func windowEnd(window string, d time.Time) time.Time {
	months := 1
	if window == "quarter" {
		months = 3
	}
	return windowStart(window, d).AddDate(0, months, -1)
}

// plan returns the draw plan of the window containing now, making it if
// none exists: a fresh seed, its commitment, and a moment derived from the
// seed on a working day of the window (from tomorrow on, when planned late),
// between 09:00 and 17:00 Asia/Shanghai.
func (s *Scheduler) plan(ctx context.Context, sc *Schedule, now time.Time) (DrawPlan, error) {
	today := CivilDate(now)
	start := windowStart(sc.Window, today)
	if p, err := s.Store.DrawPlanFor(ctx, sc.Name, start); err != nil || p != nil {
		if p == nil {
			return DrawPlan{}, err
		}
		return *p, err
	}
	seed := make(Seed, 16)
	if _, err := io.ReadFull(s.Rand, seed); err != nil {
		return DrawPlan{}, fmt.Errorf("draw a seed: %w", err)
	}
	return s.Store.SaveDrawPlan(ctx, DrawPlan{
		Schedule:   sc.Name,
		Window:     start,
		FireAt:     DrawMoment(seed, s.Calendar, start, windowEnd(sc.Window, today), now),
		Commitment: seed.Commitment(),
		Seed:       seed,
	})
}

// DrawMoment derives a random check's moment from its seed: a working day
// of [from, to] after now's day (or now itself when none is left), at a
// minute between 09:00 and 17:00 Asia/Shanghai.
func DrawMoment(seed Seed, cal *Calendar, from, to, now time.Time) time.Time {
	today := CivilDate(now)
	var days []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if d.After(today) && cal.IsWorkday(d) {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return now
	}
	h := sha256.Sum256(append([]byte("ducha-draw-moment:"), seed...))
	day := days[binary.BigEndian.Uint64(h[:8])%uint64(len(days))]
	minute := int(binary.BigEndian.Uint64(h[8:16]) % (8 * 60))
	y, m, d := day.Date()
	return time.Date(y, m, d, 9, 0, 0, 0, Shanghai).Add(time.Duration(minute) * time.Minute)
}
