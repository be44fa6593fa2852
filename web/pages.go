package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"ducha/bulletin"
	"ducha/notify"
	"ducha/rules"
	"ducha/store"
	"ducha/workflow"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request, c *call) {
	if c.User.Role == workflow.AdviserRole {
		http.Redirect(w, r, "/my", http.StatusSeeOther)
		return
	}
	d, err := s.dashboardFor(r.Context(), c.User.Login, township(c.User, ""))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.renderDashboard(d) // done by the build; a no-op here
	if d.err != nil {
		s.fail(w, r, c, d.err)
		return
	}
	s.renderPrerendered(w, r, c, "督查工作台", d.content)
}

// Rounds.

func (s *Server) roundsPage(w http.ResponseWriter, r *http.Request, c *call) {
	rs, err := s.rounds.Store.Rounds(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "rounds", c, "督查轮次", rs)
}

type roundFormView struct {
	Checklist string
	Error     string
	From, To  string
	Scope     string
	Townships []workflow.Township
	Chosen    map[string]bool
	Sample    string
	Seed      string
	Exclude   string
}

func (s *Server) roundForm(w http.ResponseWriter, r *http.Request, c *call) {
	from, to, _ := workflow.PeriodFor("previous_month", s.now())
	v := roundFormView{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Scope: "all", Sample: "20%"}
	s.showRoundForm(w, r, c, http.StatusOK, v)
}

func (s *Server) showRoundForm(w http.ResponseWriter, r *http.Request, c *call, code int, v roundFormView) {
	v.Checklist = s.opt.Checklist
	var err error
	if v.Townships, err = s.db.Townships(r.Context()); err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, code, "round_new", c, "开启督查", v)
}

// roundRequest is the form or JSON body that opens a round.
type roundRequest struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	Scope       string   `json:"scope"` // all, township=A,B, sample=20% or sample=15
	Seed        string   `json:"seed"`
	ExcludeDays int      `json:"exclude_days"`
	Townships   []string `json:"-"`
}

// loadChecklist reads and compiles the checklist in force.
func (s *Server) loadChecklist() (*rules.Checklist, []byte, error) {
	if s.opt.Checklist == "" {
		return nil, nil, &webError{http.StatusServiceUnavailable, "未配置督查工作清单 (ducha.yaml 的 schedules 或 serve 的清单文件), 无法在网页上开启督查"}
	}
	src, err := os.ReadFile(s.opt.Checklist)
	if err != nil {
		return nil, nil, fmt.Errorf("read checklist: %w", err)
	}
	cl, err := rules.Parse(s.opt.Checklist, src)
	if err != nil {
		return nil, nil, err
	}
	return cl, src, nil
}

func (s *Server) openRound(ctx context.Context, u *workflow.User, req roundRequest) (*workflow.Round, error) {
	day := func(field, v string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(v))
		if err != nil {
			return t, &inputError{field, fmt.Sprintf("日期 %q 无效, 应为 YYYY-MM-DD", v)}
		}
		return t, nil
	}
	from, err := day("from", req.From)
	if err != nil {
		return nil, err
	}
	to, err := day("to", req.To)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, &inputError{"to", "督查期间的结束日期早于开始日期"}
	}
	scope, err := workflow.ParseScope(req.Scope)
	if err != nil {
		return nil, &inputError{"scope", err.Error()}
	}
	var seed workflow.Seed
	if strings.TrimSpace(req.Seed) != "" {
		if scope.Sample == nil {
			return nil, &inputError{"seed", "种子只用于随机抽样"}
		}
		if seed, err = workflow.ParseSeed(strings.TrimSpace(req.Seed)); err != nil {
			return nil, &inputError{"seed", err.Error()}
		}
	}
	if req.ExcludeDays < 0 {
		return nil, &inputError{"exclude_days", "不能为负数"}
	}
	cl, src, err := s.loadChecklist()
	if err != nil {
		return nil, err
	}
	kind := workflow.RoundManual
	if scope.Sample != nil {
		kind = workflow.RoundRandom
	}
	rd, err := s.rounds.Open(ctx, workflow.OpenRequest{
		Checklist: cl, ChecklistName: s.opt.Checklist, ChecklistSum: workflow.ChecklistSum(src),
		From: from, To: to, Kind: kind, Scope: scope, Seed: seed, ExcludeDays: req.ExcludeDays, Actor: *u, Now: s.now(),
	})
	if err != nil {
		return nil, err
	}
	s.dashboard.changed(u.Login)
	return rd, nil
}

func (s *Server) roundOpen(w http.ResponseWriter, r *http.Request, c *call) {
	f := r.PostForm
	v := roundFormView{From: f.Get("from"), To: f.Get("to"), Scope: f.Get("scope"), Sample: f.Get("sample"),
		Seed: f.Get("seed"), Exclude: f.Get("exclude_days"), Chosen: map[string]bool{}}
	req := roundRequest{From: v.From, To: v.To, Seed: v.Seed}
	switch v.Scope {
	case "township":
		for _, t := range f["township"] {
			v.Chosen[t] = true
		}
		req.Scope = "township=" + strings.Join(f["township"], ",")
	case "sample":
		req.Scope = "sample=" + strings.TrimSpace(v.Sample)
	default:
		req.Scope = "all"
	}
	var err error
	if strings.TrimSpace(v.Exclude) != "" {
		if req.ExcludeDays, err = strconv.Atoi(strings.TrimSpace(v.Exclude)); err != nil {
			err = &inputError{"exclude_days", fmt.Sprintf("%q 不是整数", v.Exclude)}
		}
	}
	var rd *workflow.Round
	if err == nil {
		rd, err = s.openRound(r.Context(), c.User, req)
	}
	if err != nil {
		code := status(err)
		if code >= 500 {
			s.fail(w, r, c, err)
			return
		}
		v.Error = message(err, code)
		s.showRoundForm(w, r, c, code, v)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/rounds/%d", rd.ID), http.StatusSeeOther)
}

type roundView struct {
	R        *workflow.Round
	Findings []FindingBrief
	Total    int
}

func (s *Server) roundPage(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	rd, err := s.rounds.Store.Round(r.Context(), id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	list, total, err := s.listFindings(r.Context(), c.User, store.WebFindingFilter{
		FindingFilter: store.FindingFilter{Round: id}, Limit: 200})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "round", c, fmt.Sprintf("第 %d 轮督查", id), roundView{rd, list, total})
}

// Adviser portal.

type portalView struct {
	Orders   []FindingBrief
	Others   []FindingBrief
	Villages []workflow.Village
}

func (s *Server) portal(w http.ResponseWriter, r *http.Request, c *call) {
	list, _, err := s.listFindings(r.Context(), c.User, store.WebFindingFilter{Open: true})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := portalView{}
	for _, f := range list {
		if f.Deadline != nil {
			v.Orders = append(v.Orders, f)
		} else {
			v.Others = append(v.Others, f)
		}
	}
	slices.SortStableFunc(v.Orders, func(a, b FindingBrief) int { return a.Deadline.Compare(*b.Deadline) })
	if v.Villages, err = s.db.AdviserVillages(r.Context(), c.User.Adviser, s.today()); err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "portal", c, "我的整改任务", v)
}

type activityView struct {
	Villages []workflow.Village
	Kinds    []rules.Kind
	Error    string
	Done     bool
	Today    string
	Form     activityRequest
}

// activityRequest logs an activity.
type activityRequest struct {
	Village string  `json:"village"`
	Kind    string  `json:"kind"`
	Date    string  `json:"date"`
	Count   int     `json:"count"`
	Yuan    float64 `json:"recovered_yuan"`
	Note    string  `json:"note"`
}

func (s *Server) activityForm(w http.ResponseWriter, r *http.Request, c *call) {
	v := activityView{Done: r.URL.Query().Get("done") == "1",
		Form: activityRequest{Date: s.today().Format(time.DateOnly), Count: 1}}
	s.showActivityForm(w, r, c, http.StatusOK, v)
}

func (s *Server) showActivityForm(w http.ResponseWriter, r *http.Request, c *call, code int, v activityView) {
	var err error
	if v.Villages, err = s.db.AdviserVillages(r.Context(), c.User.Adviser, s.today()); err != nil {
		s.fail(w, r, c, err)
		return
	}
	v.Kinds, v.Today = rules.Kinds(), s.today().Format(time.DateOnly)
	s.render(w, r, code, "activity", c, "登记工作记录", v)
}

// addActivity logs an activity of the calling adviser in one of its villages.
func (s *Server) addActivity(ctx context.Context, u *workflow.User, req activityRequest) (*workflow.Activity, error) {
	kind, err := rules.ParseKind(req.Kind)
	if err != nil {
		return nil, &inputError{"kind", err.Error()}
	}
	day, err := time.Parse(time.DateOnly, strings.TrimSpace(req.Date))
	if err != nil {
		return nil, &inputError{"date", fmt.Sprintf("日期 %q 无效, 应为 YYYY-MM-DD", req.Date)}
	}
	if day.After(s.today()) {
		return nil, &inputError{"date", "不能登记未来日期的工作"}
	}
	if req.Count < 1 {
		return nil, &inputError{"count", "数量至少为 1"}
	}
	if req.Yuan < 0 {
		return nil, &inputError{"recovered_yuan", "挽回经济损失不能为负数"}
	}
	villages, err := s.db.AdviserVillages(ctx, u.Adviser, day)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(villages, func(v workflow.Village) bool { return v.Code == req.Village }) {
		return nil, &inputError{"village", fmt.Sprintf("%s 当日您未受聘于村 %q", req.Date, req.Village)}
	}
	a := &workflow.Activity{Adviser: u.Adviser, Village: req.Village, Kind: kind, Date: day, Count: req.Count,
		AmountFen: int64(req.Yuan*100 + 0.5), Note: strings.TrimSpace(req.Note), Source: "web:" + u.Login}
	if err := s.db.AddActivity(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Server) activityAdd(w http.ResponseWriter, r *http.Request, c *call) {
	f := r.PostForm
	req := activityRequest{Village: f.Get("village"), Kind: f.Get("kind"), Date: f.Get("date"), Note: f.Get("note"), Count: 1}
	var err error
	if v := strings.TrimSpace(f.Get("count")); v != "" {
		if req.Count, err = strconv.Atoi(v); err != nil {
			err = &inputError{"count", fmt.Sprintf("%q 不是整数", v)}
		}
	}
	if v := strings.TrimSpace(f.Get("recovered_yuan")); err == nil && v != "" {
		if req.Yuan, err = strconv.ParseFloat(v, 64); err != nil {
			err = &inputError{"recovered_yuan", fmt.Sprintf("%q 不是数字", v)}
		}
	}
	if err == nil {
		_, err = s.addActivity(r.Context(), c.User, req)
	}
	if err != nil {
		code := status(err)
		if code >= 500 {
			s.fail(w, r, c, err)
			return
		}
		s.showActivityForm(w, r, c, code, activityView{Error: message(err, code), Form: req})
		return
	}
	http.Redirect(w, r, "/my/activity?done=1", http.StatusSeeOther)
}

// Summary.

type summaryQuery struct {
	From, To, Township string
}

func (s *Server) parseSummary(r *http.Request, u *workflow.User) (summaryQuery, time.Time, time.Time, error) {
	q := r.URL.Query()
	today := s.today()
	sq := summaryQuery{From: q.Get("from"), To: q.Get("to"), Township: township(u, q.Get("township"))}
	if sq.From == "" {
		sq.From = fmt.Sprintf("%d-01-01", today.Year())
	}
	if sq.To == "" {
		sq.To = today.Format(time.DateOnly)
	}
	from, err := time.Parse(time.DateOnly, sq.From)
	if err != nil {
		return sq, from, from, &inputError{"from", fmt.Sprintf("日期 %q 无效, 应为 YYYY-MM-DD", sq.From)}
	}
	to, err := time.Parse(time.DateOnly, sq.To)
	if err != nil {
		return sq, from, to, &inputError{"to", fmt.Sprintf("日期 %q 无效, 应为 YYYY-MM-DD", sq.To)}
	}
	if to.Before(from) {
		return sq, from, to, &inputError{"to", "截止日期早于起始日期"}
	}
	return sq, from, to, nil
}

func (s *Server) summary(ctx context.Context, from, to time.Time, township string) (*bulletin.Summary, error) {
	sum, err := s.db.Summary(ctx, from, to, township)
	if err != nil {
		return nil, err
	}
	if err := s.db.SummaryInspections(ctx, sum); err != nil {
		return nil, err
	}
	if s.cfg.Bureau.Name != "" {
		sum.Bureau = s.cfg.Bureau.Name
	}
	return sum, nil
}

type summaryView struct {
	Q         summaryQuery
	Townships []workflow.Township
	Document  string
}

func (s *Server) summaryPage(w http.ResponseWriter, r *http.Request, c *call) {
	sq, _, _, err := s.parseSummary(r, c.User)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := summaryView{Q: sq}
	if c.User.Role == workflow.Supervisor {
		if v.Townships, err = s.db.Townships(r.Context()); err != nil {
			s.fail(w, r, c, err)
			return
		}
	}
	v.Document = "/summary/document?" + r.URL.Query().Encode()
	s.render(w, r, http.StatusOK, "summary", c, "工作总结", v)
}

// summaryDocument is the summary as the bulletin package lays it out (A4 HTML).
func (s *Server) summaryDocument(w http.ResponseWriter, r *http.Request, c *call) {
	sq, from, to, err := s.parseSummary(r, c.User)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	sum, err := s.summary(r.Context(), from, to, sq.Township)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	var buf bytes.Buffer
	if err := sum.WriteHTML(&buf); err != nil {
		s.fail(w, r, c, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.URL.Query().Get("download") == "1" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="summary-%s-%s.html"`, sq.From, sq.To))
	}
	w.Write(buf.Bytes())
}

// Notifications (supervisors).

type notificationsView struct {
	State    string
	States   []notify.State
	Messages []notify.Message
}

var notifyStates = []notify.State{notify.Pending, notify.Sending, notify.Delivered, notify.Dead}

func (s *Server) listNotifications(ctx context.Context, state string) ([]notify.Message, error) {
	var st notify.State
	if state != "" {
		var err error
		if st, err = notify.ParseState(state); err != nil {
			return nil, &inputError{"state", err.Error()}
		}
	}
	return s.db.OutboxLatest(ctx, st, 500)
}

func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request, c *call) {
	state := r.URL.Query().Get("state")
	msgs, err := s.listNotifications(r.Context(), state)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "notifications", c, "通知发送记录",
		notificationsView{State: state, States: notifyStates, Messages: msgs})
}

type notificationView struct {
	M        notify.Message
	Attempts []store.Attempt
	Done     bool
}

func (s *Server) notificationPage(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	m, att, err := s.notification(r.Context(), id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "notification", c, fmt.Sprintf("通知 %d", id),
		notificationView{M: *m, Attempts: att, Done: r.URL.Query().Get("done") == "1"})
}

// notification reads one message and its delivery log.
func (s *Server) notification(ctx context.Context, id int64) (*notify.Message, []store.Attempt, error) {
	m, err := s.db.OutboxMessage(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	att, err := s.db.Outbox().Attempts(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return m, att, nil
}

func (s *Server) notificationResend(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if _, err := s.db.Outbox().Resend(r.Context(), id, s.now(), c.User.Login); err != nil {
		s.fail(w, r, c, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/notifications/%d?done=1", id), http.StatusSeeOther)
}

// Checklist.

// RuleView is one rule of the checklist in force.
type RuleView struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Applies     string `json:"applies_to"`
	Window      string `json:"window"`
	Condition   string `json:"condition"`
	Severity    string `json:"severity"`
	Rectify     string `json:"rectify_within"`
}

// ChecklistView is the checklist in force.
type ChecklistView struct {
	File  string     `json:"file"`
	Title string     `json:"title"`
	Rules []RuleView `json:"rules"`
}

func (s *Server) checklist() (*ChecklistView, error) {
	cl, _, err := s.loadChecklist()
	if err != nil {
		return nil, err
	}
	v := &ChecklistView{File: s.opt.Checklist, Title: cl.Title}
	for _, r := range cl.Rules {
		v.Rules = append(v.Rules, RuleView{ID: r.ID, Title: r.Title, Description: r.Description,
			Applies: r.AppliesTo.String(), Window: r.Window.String(), Condition: r.Condition,
			Severity: r.Severity.Label(), Rectify: r.RectifyWithin.String()})
	}
	return v, nil
}

func (s *Server) checklistPage(w http.ResponseWriter, r *http.Request, c *call) {
	v, err := s.checklist()
	var we *webError
	if errors.As(err, &we) && we.Status == http.StatusServiceUnavailable {
		s.render(w, r, http.StatusOK, "checklist", c, "督查工作清单", &ChecklistView{})
		return
	}
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "checklist", c, "督查工作清单", v)
}
