package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ducha/notify"
	"ducha/rules"
)

// Severity grades a rule and so its findings (一般, 较重, 严重); the rules
// package defines it, since the checklist names it.
type Severity = rules.Severity

// The severities.
const (
	General = rules.General // 一般
	Serious = rules.Serious // 较重
	Severe  = rules.Severe  // 严重
)

// Within is a rectification period: N working days, or N calendar days.
type Within struct {
	N        int  `yaml:"n" json:"n"`
	Workdays bool `yaml:"workdays" json:"workdays"`
}

func (w Within) String() string {
	if w.Workdays {
		return fmt.Sprintf("%d个工作日", w.N)
	}
	return fmt.Sprintf("%d天", w.N)
}

// Finding is one rule not met by one village and its adviser in one round.
// The facts (round, rule, village, adviser, evidence) are fixed at discovery;
// the lifecycle fields change only through transitions.
type Finding struct {
	ID          int64
	RoundID     int64
	RuleID      string
	RuleTitle   string
	Severity    Severity
	Rectify     Within // the rule's rectify_within; zero: the policy's default for the severity
	Village     string // village code
	VillageName string
	Township    string // township name
	Adviser     string // adviser code at discovery; "" when the village had none
	AdviserName string
	Evidence    json.RawMessage // measured values, as the rules engine reported them
	Message     string
	RepeatCount int // times the rule failed again while this finding was open
	CreatedAt   time.Time

	// Lifecycle.
	State       State
	Version     int
	Deadline    *time.Time // civil date; due by the end of that day
	Rejections  int
	Summons     int
	Escalations int
	VerifiedBy  string     // login of whoever verified the rectification
	InterviewOn *time.Time // civil date of the (latest) interview
	RemindedFor *time.Time // the deadline a reminder was sent for
	UpdatedAt   time.Time
	LastSeq     int    // seq of the newest history entry
	LastHash    string // hash of the newest history entry
}

// Open reports whether the finding still needs action.
func (f *Finding) Open() bool { return f.State.Open() }

// Entry is one row of a finding's append-only history. Each entry's hash
// covers its fields and the previous entry's hash, so an edited, inserted or
// deleted row breaks the chain.
type Entry struct {
	FindingID int64
	Seq       int
	At        time.Time
	Actor     string // login, or "system"
	Role      Role
	Event     Event
	From      State
	To        State
	Comment   string
	Payload   map[string]string
	PrevHash  string
	Hash      string
}

// PayloadJSON is the canonical JSON of the payload (sorted keys), as stored
// and hashed.
func (e *Entry) PayloadJSON() string {
	if len(e.Payload) == 0 {
		return "{}"
	}
	return string(appendPayloadJSON(nil, e.Payload))
}

// ComputeHash returns the SHA-256 over the canonical encoding of the entry's
// fields and PrevHash: a JSON array, times in UTC RFC 3339 with nanoseconds.
func (e *Entry) ComputeHash() string {
	var buf [1024]byte
	b := append(buf[:0], '[')
	b = appendJSONInt(b, e.FindingID)
	b = append(b, ',')
	b = appendJSONInt(b, int64(e.Seq))
	for _, s := range [...]string{e.At.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Role),
		string(e.Event), string(e.From), string(e.To), e.Comment, e.PayloadJSON(), e.PrevHash} {
		b = append(b, ',')
		b = appendJSONString(b, s)
	}
	b = append(b, ']')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Seal sets the entry's hash.
func (e *Entry) Seal() { e.Hash = e.ComputeHash() }

// Discovery returns the first history entry of a newly discovered finding
// (its ID must be set): the facts it was found with, sealed.
func Discovery(f *Finding, at time.Time) Entry {
	p := map[string]string{"rule": f.RuleID, "village": f.Village, "severity": string(f.Severity)}
	if f.Adviser != "" {
		p["adviser"] = f.Adviser
	}
	if f.RoundID != 0 {
		p["round"] = fmt.Sprint(f.RoundID)
	}
	e := Entry{FindingID: f.ID, Seq: 1, At: at, Actor: SystemUser.Login, Role: System,
		Event: Discover, To: Discovered, Comment: f.Message, Payload: p}
	e.Seal()
	return e
}

// Transition is what one event does to a finding: the finding as it is after
// the event (its Version still the one it was read at) and the history entry.
// A FindingStore writes both atomically.
type Transition struct {
	Finding *Finding
	Entry   Entry
	// Messages are the notifications the transition causes, written to the
	// outbox in the same transaction.
	Messages []notify.Message
}

// ErrConflict means the finding changed since it was read: someone else
// acted first. Re-read and try again.
var ErrConflict = errors.New("该问题已被他人同时处理 (版本冲突), 请重新读取后再操作")

// ErrNotFound means no such finding (or user).
var ErrNotFound = errors.New("未找到")

// NotFoundError names what was not found; it is bad input.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string  { return "未找到" + e.What }
func (e *NotFoundError) BadInput() bool { return true }
func (e *NotFoundError) Is(t error) bool {
	return t == ErrNotFound
}

// FindingStore is what the lifecycle needs from storage: read a finding and
// write a transition atomically, guarded by the finding's version.
type FindingStore interface {
	// Finding returns the finding, or an error matching ErrNotFound.
	Finding(ctx context.Context, id int64) (*Finding, error)
	// Transition writes t.Finding's lifecycle fields (version incremented)
	// and t.Entry in one transaction, only if the stored version still is
	// t.Finding.Version; otherwise it returns ErrConflict and writes nothing.
	Transition(ctx context.Context, t *Transition) error
}

// Colour is the dashboard light of an open finding (亮灯).
type Colour string

const (
	Blue    Colour = "blue"   // in time
	Yellow  Colour = "yellow" // due soon
	Red     Colour = "red"    // overdue or escalated
	NoLight Colour = ""       // closed findings have no light
)

// Label is the colour's Chinese name.
func (c Colour) Label() string {
	switch c {
	case Blue:
		return "蓝灯"
	case Yellow:
		return "黄灯"
	case Red:
		return "红灯"
	}
	return "-"
}

// ParseColour accepts blue/yellow/red and 蓝/黄/红.
func ParseColour(s string) (Colour, error) {
	switch s {
	case "blue", "蓝", "蓝灯":
		return Blue, nil
	case "yellow", "黄", "黄灯":
		return Yellow, nil
	case "red", "红", "红灯":
		return Red, nil
	}
	return "", fmt.Errorf("未知的颜色 %q (应为 blue/yellow/red 或 蓝/黄/红)", s)
}

// ChainHead is where a finding's row says its history chain ends.
type ChainHead struct {
	Seq  int
	Hash string
}

// AuditSource is what the audit reads: every history entry in order of
// finding and seq, and every finding's chain head.
type AuditSource interface {
	EachEntry(ctx context.Context, findingID int64, fn func(Entry) error) error
	ChainHeads(ctx context.Context) (map[int64]ChainHead, error)
}

// ChainBreak is the first row at which a history chain does not verify.
type ChainBreak struct {
	FindingID int64
	Seq       int
	Why       string
}

func (b *ChainBreak) Error() string {
	return fmt.Sprintf("问题 %d 的处理记录第 %d 条校验失败: %s", b.FindingID, b.Seq, b.Why)
}

// AuditResult is what VerifyChains checked.
type AuditResult struct {
	Findings, Entries int
	Break             *ChainBreak // nil when every chain verifies
}

// VerifyChains recomputes every history chain: seqs run 1, 2, … without gaps,
// each prev_hash is the previous row's hash, each hash recomputes from its
// row, and the chain ends where the finding row says. It stops at the first
// broken row.
func VerifyChains(ctx context.Context, src AuditSource) (*AuditResult, error) {
	heads, err := src.ChainHeads(ctx)
	if err != nil {
		return nil, err
	}
	res := &AuditResult{}
	var cur int64
	var last Entry
	seen := map[int64]bool{}
	endOf := func(id int64, e Entry) *ChainBreak {
		h := heads[id]
		if h.Seq != e.Seq || h.Hash != e.Hash {
			return &ChainBreak{id, e.Seq, fmt.Sprintf("记录止于第 %d 条, 而问题记载的最后一条为第 %d 条 (记录被删除或问题被篡改)", e.Seq, h.Seq)}
		}
		return nil
	}
	stop := errors.New("stop")
	err = src.EachEntry(ctx, 0, func(e Entry) error {
		if e.FindingID != cur {
			if cur != 0 {
				if b := endOf(cur, last); b != nil {
					res.Break = b
					return stop
				}
			}
			cur, last = e.FindingID, Entry{}
			seen[cur] = true
			res.Findings++
		}
		res.Entries++
		switch {
		case e.Seq != last.Seq+1:
			res.Break = &ChainBreak{e.FindingID, e.Seq, fmt.Sprintf("序号应为 %d (记录缺失或插入)", last.Seq+1)}
		case e.PrevHash != last.Hash:
			res.Break = &ChainBreak{e.FindingID, e.Seq, "与上一条记录的哈希不衔接"}
		case e.ComputeHash() != e.Hash:
			res.Break = &ChainBreak{e.FindingID, e.Seq, "内容与哈希不符 (记录被修改)"}
		}
		if res.Break != nil {
			return stop
		}
		last = e
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	if res.Break == nil && cur != 0 {
		res.Break = endOf(cur, last)
	}
	if res.Break == nil {
		for id := range heads {
			if !seen[id] && (res.Break == nil || id < res.Break.FindingID) {
				res.Break = &ChainBreak{id, 1, "该问题没有任何处理记录"}
			}
		}
	}
	return res, nil
}
