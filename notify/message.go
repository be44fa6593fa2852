package notify

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Kind is what a message is about.
type Kind string

const (
	Order          Kind = "order"          // 整改通知
	Rejection      Kind = "rejection"      // 整改退回
	Reminder       Kind = "reminder"       // 催办
	Interview      Kind = "interview"      // 约谈通知
	Accountability Kind = "accountability" // 问责决定
	BulletinOut    Kind = "bulletin"       // 督查通报发布
	Digest         Kind = "digest"         // 逾期日报
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{Order, Rejection, Reminder, Interview, Accountability, BulletinOut, Digest}

var kindLabels = map[Kind]string{
	Order:          "整改通知",
	Rejection:      "整改退回",
	Reminder:       "催办",
	Interview:      "约谈通知",
	Accountability: "问责决定",
	BulletinOut:    "督查通报发布",
	Digest:         "逾期日报",
}

// Label is the kind's Chinese name.
func (k Kind) Label() string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return string(k)
}

// ParseKind accepts a kind's code or its Chinese name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if s == string(k) || s == k.Label() {
			return k, nil
		}
	}
	names := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		names = append(names, fmt.Sprintf("%s(%s)", k, k.Label()))
	}
	sort.Strings(names)
	return "", &InputError{fmt.Sprintf("未知的通知类别 %q, 应为: %v", s, names)}
}

// State is where a message is in its delivery.
type State string

const (
	Pending   State = "pending"   // waiting for its next attempt
	Sending   State = "sending"   // claimed by a dispatcher until its lease ends
	Delivered State = "delivered" // accepted by the peer
	Dead      State = "dead"      // given up: permanent failure or too old
)

// States lists every state.
var States = []State{Pending, Sending, Delivered, Dead}

// ParseState accepts a state's code.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if s == string(st) {
			return st, nil
		}
	}
	return "", &InputError{fmt.Sprintf("未知的通知状态 %q, 应为 pending、sending、delivered 或 dead", s)}
}

// Label is the state's Chinese name.
func (s State) Label() string {
	switch s {
	case Pending:
		return "待发送"
	case Sending:
		return "发送中"
	case Delivered:
		return "已送达"
	case Dead:
		return "发送失败"
	}
	return string(s)
}

// Message is one notification to one recipient over one channel. Subject
// and Body are rendered when the message is enqueued: what is sent is what
// was decided.
type Message struct {
	ID            int64      `json:"id"`
	Kind          Kind       `json:"kind"`
	Cause         string     `json:"cause"`     // e.g. "finding:123:seq:4", "bulletin:2018-5"
	Recipient     string     `json:"recipient"` // user login, "adviser:CODE", or "channel:NAME" for a group channel
	Address       string     `json:"address"`   // where the channel delivers: an e-mail address; empty for group channels
	Channel       string     `json:"channel"`   // name of a configured channel
	Subject       string     `json:"subject"`
	Body          string     `json:"body"`
	State         State      `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"` // when it was decided
	QueuedAt      time.Time  `json:"queued_at"`  // when it (last) entered the queue; max age counts from here
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// Key is the message's idempotency key.
func (m Message) Key() string { return m.Cause + "|" + m.Recipient + "|" + m.Channel }

// InputError is bad input from a user (an unknown kind, a bad config file):
// the command line exits with code 2.
type InputError struct{ Msg string }

func (e *InputError) Error() string  { return e.Msg }
func (e *InputError) BadInput() bool { return true }

// DeliveryError is a failed delivery that says whether trying again may
// succeed. Channels return it; other errors count as retryable (a network
// failure, a timeout).
type DeliveryError struct {
	Err       error
	Retryable bool
	// RetryAfter, when positive, is the earliest useful retry (a throttle);
	// it replaces the backoff for this attempt.
	RetryAfter time.Duration
}

func (e *DeliveryError) Error() string {
	if e.Retryable {
		return "transient: " + e.Err.Error()
	}
	return "permanent: " + e.Err.Error()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &DeliveryError{Err: err} }

// Transient marks err as worth retrying.
func Transient(err error) error { return &DeliveryError{Err: err, Retryable: true} }

// Retryable reports whether a delivery that failed with err may succeed later.
func Retryable(err error) bool {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Retryable
	}
	return true
}

func retryAfter(err error) time.Duration {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}
