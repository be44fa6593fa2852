package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"ducha/notify"
	"ducha/rules"
)

// Round kinds.
const (
	RoundPeriodic = "periodic" // 定期督查
	RoundRandom   = "random"   // 不定期抽查
	RoundManual   = "manual"   // 专项督查, opened by hand
)

// RoundKindLabel is a round kind's Chinese name.
func RoundKindLabel(kind string) string {
	switch kind {
	case RoundPeriodic:
		return "定期督查"
	case RoundRandom:
		return "不定期抽查"
	case RoundManual:
		return "专项督查"
	}
	return kind
}

// Recur is the history event of a rule failing again while its finding is
// open: recorded on that finding (repeat count), not as a second finding.
const Recur Event = "recur"

// Round actions, named in permission errors like lifecycle events.
const (
	OpenRound       Event = "open_round"
	CloseRound      Event = "close_round"
	PublishBulletin Event = "publish_bulletin"
)

// Round is one inspection (一轮督查).
type Round struct {
	ID             int64       `json:"id"`
	Kind           string      `json:"kind"`
	From           time.Time   `json:"from"`
	To             time.Time   `json:"to"`
	Scope          string      `json:"scope"`
	Schedule       string      `json:"schedule,omitempty"`
	FireAt         *time.Time  `json:"fire_at,omitempty"`
	OpenedAt       time.Time   `json:"opened_at"`
	OpenedBy       string      `json:"opened_by"`
	ClosedAt       *time.Time  `json:"closed_at,omitempty"`
	RulesName      string      `json:"rules_name"`
	RulesChecksum  string      `json:"rules_checksum"`
	Rules          []RuleBrief `json:"rules"`
	Draw           *DrawRecord `json:"draw,omitempty"`
	Villages       int         `json:"villages"`
	NewFindings    int         `json:"new_findings"`
	RepeatFindings int         `json:"repeat_findings"`
}

// RuleBrief is what a round records of each rule it applied.
type RuleBrief struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Window   string `json:"window"`
}

// Open reports whether the round is still open.
func (r *Round) Open() bool { return r.ClosedAt == nil }

// RoundTx is the unit of work of opening a round: everything it writes goes
// through one transaction, so a crash leaves all of it or none.
type RoundTx interface {
	// InsertRound writes the round and the villages it inspected; it sets r.ID.
	InsertRound(ctx context.Context, r *Round, villages []string) error
	// ClaimFire claims a schedule's fire for the round; ErrAlreadyClaimed if taken.
	ClaimFire(ctx context.Context, schedule string, at time.Time, roundID int64, now time.Time) error
	// OpenFindings are the open findings of these villages.
	OpenFindings(ctx context.Context, villages []string) ([]*Finding, error)
	// InsertFindings writes new findings (discovered) with their first
	// history entry; sets IDs. When then is not nil it is applied to each
	// discovered finding before anything is written, and the finding is
	// stored as that transition leaves it, with its entry too.
	InsertFindings(ctx context.Context, fs []*Finding, at time.Time, then func(*Finding) (*Transition, error)) error
	// LinkFindings records the problems a round found: new ones and repeats.
	LinkFindings(ctx context.Context, roundID int64, fresh, repeats []int64) error
	// Transitions writes transitions, each guarded by its finding's version.
	Transitions(ctx context.Context, ts []*Transition) error
	// Enqueue writes outbox messages.
	Enqueue(ctx context.Context, msgs []notify.Message) error
	// Directory finds the recipients of messages. It reads what it needs
	// when called and then no longer uses the transaction: it serves
	// messages rendered while the transaction writes, from several
	// goroutines at once.
	Directory(ctx context.Context) (notify.Directory, error)
}

// RoundStore is what rounds need from storage.
type RoundStore interface {
	// Roster is the villages of the given townships (all when empty), with an
	// error naming any township that does not exist.
	Roster(ctx context.Context, townships []string) ([]RosterEntry, error)
	// SampledSince is the set of villages drawn by unannounced (random)
	// checks opened at or after since.
	SampledSince(ctx context.Context, since time.Time) (map[string]bool, error)
	// Facts computes the checklist's facts for the villages in scope, set-based.
	Facts(ctx context.Context, req rules.FactsRequest) ([]rules.Facts, error)
	// InRoundTx runs fn in one transaction.
	InRoundTx(ctx context.Context, fn func(RoundTx) error) error
	Round(ctx context.Context, id int64) (*Round, error)
	Rounds(ctx context.Context) ([]*Round, error)
	// CloseRound marks the round closed; an error matching ErrNotFound, or
	// ErrRoundClosed when it already is.
	CloseRound(ctx context.Context, id int64, at time.Time) error
}

// ErrRoundClosed says a round was closed already.
var ErrRoundClosed = errors.New("该轮督查已经结束")

// Notifier turns transitions into outbox messages, written in the same
// transaction as the transition. A nil Notifier sends nothing. The messages
// of several transitions are those of each in turn, so they may be rendered
// a few at a time.
type Notifier interface {
	Messages(ctx context.Context, dir notify.Directory, ts []*Transition) ([]notify.Message, error)
}

// Rounds opens and closes inspection rounds.
type Rounds struct {
	Store     RoundStore
	Lifecycle *Lifecycle // decides the order transitions; its Policy and Calendar apply
	Notifier  Notifier
	Rand      io.Reader // seeds of manual random samples; crypto/rand when nil
	// OrderOnOpen orders every new finding (with its deadline) as the round
	// opens; otherwise they stay discovered for a supervisor to review.
	OrderOnOpen bool
}

// OpenRequest is what a round is opened with.
type OpenRequest struct {
	Checklist     *rules.Checklist
	ChecklistName string
	ChecklistSum  string // SHA-256 of the checklist file
	From, To      time.Time
	Kind          string // manual when empty
	Scope         Scope
	Seed          Seed  // for a sample: the seed; drawn fresh when nil
	ExcludeDays   int   // a sample leaves out villages inspected in the last N days
	Actor         User  // who opens it (SystemUser for schedules)
	Fire          *Fire // the schedule's fire this round is, claimed in the same transaction
	Now           time.Time
}

// ChecklistSum is the hex SHA-256 of a checklist file's bytes.
func ChecklistSum(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:])
}

// Open evaluates the checklist over the villages in scope and writes, in one
// transaction, the round, its new findings (ordered with deadlines when
// OrderOnOpen), the repeats recorded on open findings, their history and
// their notifications.
func (rs *Rounds) Open(ctx context.Context, req OpenRequest) (*Round, error) {
	if req.Actor.Role != Supervisor && req.Actor.Role != System {
		return nil, &ForbiddenError{Actor: req.Actor.Login, Event: OpenRound, Why: "只有督查人员可以开启督查"}
	}
	now := req.Now.UTC().Truncate(time.Microsecond)
	r := &Round{
		Kind: req.Kind, From: req.From, To: req.To, Scope: req.Scope.String(),
		OpenedAt: now, OpenedBy: req.Actor.Login, RulesName: req.ChecklistName, RulesChecksum: req.ChecklistSum,
	}
	if r.Kind == "" {
		r.Kind = RoundManual
	}
	if req.Fire != nil {
		r.Schedule = req.Fire.Schedule.Name
		at := req.Fire.At.UTC()
		r.FireAt = &at
	}
	for _, rule := range req.Checklist.Rules {
		r.Rules = append(r.Rules, RuleBrief{ID: rule.ID, Title: rule.Title, Severity: rule.Severity.Label(), Window: rule.Window.String()})
	}

	// Without a sample the facts do not depend on the roster: they are
	// computed while the roster is read.
	period := rules.Period{From: req.From, To: req.To}
	var early *factsCall
	if req.Scope.Sample == nil {
		early = rs.startFacts(ctx, req.Checklist.Request(period, rules.Scope{Townships: req.Scope.Townships}))
		defer early.stop()
	}
	roster, err := rs.Store.Roster(ctx, req.Scope.Townships)
	if err != nil {
		return nil, err
	}
	villages := make([]string, len(roster))
	for i, v := range roster {
		villages[i] = v.Village
	}
	factsScope := rules.Scope{Townships: req.Scope.Townships}
	if req.Scope.Sample != nil {
		draw, err := rs.draw(ctx, req, roster)
		if err != nil {
			return nil, err
		}
		r.Draw = draw
		villages = draw.Sample
		factsScope = rules.Scope{Villages: villages}
		if len(villages) == 0 && req.Fire == nil {
			return nil, &InputError{Event: OpenRound, Field: "scope", Msg: "抽样范围内没有可抽取的村 (可能都在近期被抽查过)"}
		}
		// A scheduled check with nothing left to draw still records its
		// (empty) round, so that the fire is claimed and not retried.
	}
	r.Villages = len(villages)

	var violations []rules.Violation
	if len(villages) > 0 {
		var facts []rules.Facts
		if early != nil {
			facts, err = early.wait()
		} else {
			facts, err = rs.Store.Facts(ctx, req.Checklist.Request(period, factsScope))
		}
		if err != nil {
			return nil, err
		}
		if violations, err = rules.Evaluate(req.Checklist, period, facts); err != nil {
			return nil, err
		}
	}

	write := func(tx RoundTx) error {
		open, err := tx.OpenFindings(ctx, villages)
		if err != nil {
			return err
		}
		byKey := make(map[string]*Finding, len(open))
		for _, f := range open {
			byKey[f.Village+"\x00"+f.RuleID] = f
		}
		var newViolations []rules.Violation
		var repeats []*Finding
		var repeatViolations []rules.Violation
		for _, v := range violations {
			if f := byKey[v.VillageCode+"\x00"+v.RuleID]; f != nil {
				repeats = append(repeats, f)
				repeatViolations = append(repeatViolations, v)
			} else {
				newViolations = append(newViolations, v)
			}
		}
		r.NewFindings, r.RepeatFindings = len(newViolations), len(repeats)
		if err := tx.InsertRound(ctx, r, villages); err != nil {
			return err
		}
		if req.Fire != nil {
			if err := tx.ClaimFire(ctx, req.Fire.Schedule.Name, req.Fire.At, r.ID, now); err != nil {
				return err
			}
		}
		ts := make([]*Transition, 0, len(violations))
		for i, f := range repeats {
			ts = append(ts, recur(f, r.ID, repeatViolations[i], now))
		}
		fresh := make([]*Finding, 0, len(newViolations))
		for _, v := range newViolations {
			f, err := findingOf(r.ID, v)
			if err != nil {
				return err
			}
			fresh = append(fresh, f)
		}
		var dir notify.Directory
		if rs.Notifier != nil {
			if dir, err = tx.Directory(ctx); err != nil {
				return err
			}
		}
		// New findings are ordered as they are written (one row each, not
		// an insert and an update). Their orders' messages are rendered
		// meanwhile, as each is decided, while the store writes the
		// findings.
		var order func(*Finding) (*Transition, error)
		var render *renderer
		if rs.OrderOnOpen {
			if rs.Notifier != nil {
				render = startRenderer(ctx, rs.Notifier, dir, len(fresh))
				defer render.stop()
			}
			order = func(f *Finding) (*Transition, error) {
				t, err := rs.Lifecycle.Apply(f, req.Actor, Order, Input{}, now)
				if err != nil {
					return nil, fmt.Errorf("order finding %d: %w", f.ID, err)
				}
				render.add(t)
				return t, nil
			}
		}
		if err := tx.InsertFindings(ctx, fresh, now, order); err != nil {
			return err
		}
		freshIDs := make([]int64, len(fresh))
		for i, f := range fresh {
			freshIDs[i] = f.ID
		}
		repeatIDs := make([]int64, len(repeats))
		for i, f := range repeats {
			repeatIDs[i] = f.ID
		}
		if err := tx.LinkFindings(ctx, r.ID, freshIDs, repeatIDs); err != nil {
			return err
		}
		if err := tx.Transitions(ctx, ts); err != nil {
			return err
		}
		if rs.Notifier != nil {
			msgs, err := rs.Notifier.Messages(ctx, dir, ts)
			if err != nil {
				return err
			}
			if render != nil { // the orders' messages
				rendered, err := render.wait()
				if err != nil {
					return err
				}
				msgs = append(msgs, rendered...)
			}
			if err := tx.Enqueue(ctx, msgs); err != nil {
				return err
			}
		}
		return nil
	}
	// Another process may transition a finding this round records a repeat
	// on (a sweep, a supervisor), or open a round that inserts the same new
	// finding, while this transaction runs: a conflict, after which the
	// round is written again from fresh reads.
	for attempt := 1; ; attempt++ {
		err = rs.Store.InRoundTx(ctx, write)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ErrConflict) || attempt == roundAttempts {
			return nil, err
		}
	}
}

// factsCall is the facts of a round computed in a goroutine of its own.
type factsCall struct {
	cancel context.CancelFunc
	done   chan struct{}
	facts  []rules.Facts
	err    error
}

func (rs *Rounds) startFacts(ctx context.Context, req rules.FactsRequest) *factsCall {
	ctx, cancel := context.WithCancel(ctx)
	c := &factsCall{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.facts, c.err = rs.Store.Facts(ctx, req)
	}()
	return c
}

// wait returns the facts, once: the call keeps them no longer (they are
// the round's largest data, not to be kept alive while it writes).
func (c *factsCall) wait() ([]rules.Facts, error) {
	<-c.done
	facts := c.facts
	c.facts = nil
	return facts, c.err
}

// stop cancels the call if it is still running and waits for it to end.
func (c *factsCall) stop() {
	c.cancel()
	<-c.done
}

// roundAttempts bounds the writes of a round that keeps meeting conflicts.
const roundAttempts = 5

// draw makes the random sample of a round: the schedule's planned seed (its
// commitment recorded in advance), the seed given, or a fresh one.
func (rs *Rounds) draw(ctx context.Context, req OpenRequest, roster []RosterEntry) (*DrawRecord, error) {
	seed := req.Seed
	commitment := ""
	if req.Fire != nil && req.Fire.Draw != nil {
		seed, commitment = req.Fire.Draw.Seed, req.Fire.Draw.Commitment
	}
	if seed == nil {
		src := rs.Rand
		if src == nil {
			src = rand.Reader
		}
		seed = make(Seed, 16)
		if _, err := io.ReadFull(src, seed); err != nil {
			return nil, fmt.Errorf("draw a seed: %w", err)
		}
	}
	if commitment == "" {
		commitment = seed.Commitment()
	}
	var excluded []string
	ex := map[string]bool{}
	if req.ExcludeDays > 0 {
		recent, err := rs.Store.SampledSince(ctx, req.Now.AddDate(0, 0, -req.ExcludeDays))
		if err != nil {
			return nil, err
		}
		for _, v := range roster {
			if recent[v.Village] {
				ex[v.Village] = true
				excluded = append(excluded, v.Village)
			}
		}
		sort.Strings(excluded)
	}
	spec := *req.Scope.Sample
	return &DrawRecord{
		Commitment: commitment, Seed: seed.String(), Spec: spec, Excluded: excluded,
		Roster: roster, RosterDigest: RosterDigest(roster), Sample: Sample(seed, roster, spec, ex),
	}, nil
}

// findingOf turns a violation into a new finding.
func findingOf(roundID int64, v rules.Violation) (*Finding, error) {
	measured, err := json.Marshal(v.Measured)
	if err != nil {
		return nil, fmt.Errorf("violation %s/%s: %w", v.RuleID, v.VillageCode, err)
	}
	return &Finding{
		RoundID: roundID, RuleID: v.RuleID, RuleTitle: v.Title, Severity: v.Severity,
		Rectify: Within{N: v.RectifyWithin.N, Workdays: v.RectifyWithin.Workdays},
		Village: v.VillageCode, Adviser: v.AdviserCode, Evidence: measured, Message: v.Message,
	}, nil
}

// recur records a violation again on its open finding.
func recur(f *Finding, roundID int64, v rules.Violation, now time.Time) *Transition {
	nf := *f
	nf.RepeatCount++
	nf.UpdatedAt = now
	e := Entry{
		FindingID: f.ID, Seq: f.LastSeq + 1, At: now, Actor: SystemUser.Login, Role: System,
		Event: Recur, From: f.State, To: f.State, Comment: v.Message,
		Payload:  map[string]string{"round": fmt.Sprint(roundID), "repeat": fmt.Sprint(nf.RepeatCount)},
		PrevHash: f.LastHash,
	}
	e.Seal()
	nf.LastSeq, nf.LastHash = e.Seq, e.Hash
	return &Transition{Finding: &nf, Entry: e}
}

// Close closes a round.
func (rs *Rounds) Close(ctx context.Context, id int64, actor User, now time.Time) (*Round, error) {
	if actor.Role != Supervisor && actor.Role != System {
		return nil, &ForbiddenError{Actor: actor.Login, Event: CloseRound, Why: "只有督查人员可以结束督查"}
	}
	if err := rs.Store.CloseRound(ctx, id, now.UTC().Truncate(time.Microsecond)); err != nil {
		return nil, err
	}
	return rs.Store.Round(ctx, id)
}

// Describe is the round's one-line Chinese description.
func (r *Round) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "第 %d 轮 %s, 督查期间 %s 至 %s, 范围 %s, 村 %d 个, 新发现问题 %d 个, 再次发现 %d 个",
		r.ID, RoundKindLabel(r.Kind), r.From.Format(time.DateOnly), r.To.Format(time.DateOnly),
		ScopeLabel(r.Scope), r.Villages, r.NewFindings, r.RepeatFindings)
	return b.String()
}

// ScopeLabel is a scope in Chinese.
func ScopeLabel(scope string) string {
	s, err := ParseScope(scope)
	if err != nil {
		return scope
	}
	switch {
	case s.Sample != nil && s.Sample.Rate > 0:
		return fmt.Sprintf("随机抽取 %s 的村", s.Sample)
	case s.Sample != nil:
		return fmt.Sprintf("随机抽取 %d 个村", s.Sample.Size)
	case len(s.Townships) > 0:
		return strings.Join(s.Townships, "、")
	}
	return "全县所有村"
}
