package workflow

import (
	"fmt"
	"strings"
	"time"

	"ducha/rules"
)

// Township is a township (乡镇); its justice office (司法所) oversees the
// advisers of its villages.
type Township struct {
	ID   int64
	Name string
}

// Village is a served village (村), usually a poverty village (精准脱贫村).
type Village struct {
	ID       int64
	Code     string
	Name     string
	Township string
	Poverty  bool
}

// AdviserKind says whether an adviser is a lawyer or a grassroots
// legal-service worker.
type AdviserKind string

const (
	Lawyer AdviserKind = "lawyer" // 律师
	Worker AdviserKind = "worker" // 基层法律服务工作者
)

// Label is the kind's Chinese name.
func (k AdviserKind) Label() string {
	switch k {
	case Lawyer:
		return "律师"
	case Worker:
		return "基层法律服务工作者"
	}
	return string(k)
}

// ParseAdviserKind accepts lawyer/律师 and worker/基层法律服务工作者 (and 法律服务工作者).
func ParseAdviserKind(s string) (AdviserKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "lawyer", "律师":
		return Lawyer, nil
	case "worker", "基层法律服务工作者", "法律服务工作者":
		return Worker, nil
	}
	return "", fmt.Errorf("未知的顾问类别 %q (应为 lawyer/律师 或 worker/基层法律服务工作者)", s)
}

// ServiceCard is the adviser's published contact card (法律便民服务卡).
type ServiceCard struct {
	Phone  string
	QQ     string
	WeChat string
	Email  string
}

// Complete reports whether the card has a phone and at least one of QQ,
// WeChat or e-mail, as the checklist requires.
func (c ServiceCard) Complete() bool {
	return c.Phone != "" && (c.QQ != "" || c.WeChat != "" || c.Email != "")
}

// Adviser is a village legal adviser (法律顾问).
type Adviser struct {
	ID   int64
	Code string
	Name string
	Kind AdviserKind
	Firm string // 执业机构
	Card ServiceCard
}

// Assignment binds an adviser to a village from a date to an optional end
// date (both inclusive). A village has at most one active adviser on any day;
// an adviser may serve several villages.
type Assignment struct {
	ID      int64
	Adviser string // adviser code
	Village string // village code
	From    time.Time
	To      *time.Time // nil: open-ended
}

// Active reports whether the assignment covers the civil day d.
func (a Assignment) Active(d time.Time) bool {
	return !d.Before(a.From) && (a.To == nil || !d.After(*a.To))
}

// Activity is one logged piece of an adviser's work (工作记录).
type Activity struct {
	ID        int64
	Adviser   string // adviser code
	Village   string // village code
	Kind      rules.Kind
	Date      time.Time // civil date, 00:00 UTC
	Count     int       // occurrences, or people (人次) for consultations
	AmountFen int64     // economic loss recovered, in fen (分); 0 when none
	Note      string
	Source    string // where the record came from: "import:FILE", "web", "demo"
}

// Role is what a user may do.
type Role string

const (
	Supervisor  Role = "supervisor" // 县司法局督查人员
	Officer     Role = "officer"    // 司法所工作人员, bound to a township
	AdviserRole Role = "adviser"    // 法律顾问, bound to an adviser record
	System      Role = "system"     // the engine itself
)

// Label is the role's Chinese name.
func (r Role) Label() string {
	switch r {
	case Supervisor:
		return "督查人员"
	case Officer:
		return "司法所工作人员"
	case AdviserRole:
		return "法律顾问"
	case System:
		return "系统"
	}
	return string(r)
}

// User is a person who signs in, or the engine.
type User struct {
	ID           int64
	Login        string
	Name         string
	Role         Role
	Township     string // for officers
	Adviser      string // adviser code, for advisers
	PasswordHash string
}

// SystemUser is the actor of every automatic transition.
var SystemUser = User{Login: "system", Name: "系统", Role: System}

// Date returns the civil date (00:00 UTC) of y-m-d.
func Date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Shanghai is the time zone of the bureaus; civil dates are taken in it.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// CivilDate returns the civil date of instant t in Asia/Shanghai.
func CivilDate(t time.Time) time.Time {
	y, m, d := t.In(Shanghai).Date()
	return Date(y, m, d)
}
