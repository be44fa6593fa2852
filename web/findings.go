package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ducha/store"
	"ducha/workflow"
)

// Findings: the list, the detail and the events, shared by pages and API.

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, &webError{http.StatusNotFound, fmt.Sprintf("编号 %q 无效", r.PathValue(name))}
	}
	return id, nil
}

const pageSize = 50

// findingQuery is a parsed findings filter.
type findingQuery struct {
	State, Colour, Township, Adviser string
	Round                            int64
	Page                             int
}

func parseFindingQuery(q url.Values) (findingQuery, store.WebFindingFilter, error) {
	fq := findingQuery{State: q.Get("state"), Colour: q.Get("colour"), Township: q.Get("township"),
		Adviser: q.Get("adviser"), Page: 1}
	var flt store.WebFindingFilter
	if fq.State != "" {
		st, err := workflow.ParseState(fq.State)
		if err != nil {
			return fq, flt, &inputError{"state", err.Error()}
		}
		flt.State = st
	}
	if fq.Colour != "" {
		c, err := workflow.ParseColour(fq.Colour)
		if err != nil {
			return fq, flt, &inputError{"colour", err.Error()}
		}
		flt.Colour = c
	}
	if v := q.Get("round"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return fq, flt, &inputError{"round", fmt.Sprintf("督查轮次编号 %q 无效", v)}
		}
		fq.Round, flt.Round = id, id
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fq, flt, &inputError{"page", fmt.Sprintf("页码 %q 无效", v)}
		}
		fq.Page = n
	}
	flt.Township, flt.Adviser, flt.Open = fq.Township, fq.Adviser, q.Get("open") == "1"
	return fq, flt, nil
}

// listFindings runs a filter within the caller's scope.
func (s *Server) listFindings(ctx context.Context, u *workflow.User, flt store.WebFindingFilter) ([]FindingBrief, int, error) {
	flt.FindingFilter = scoped(u, flt.FindingFilter)
	flt.Today = s.today()
	flt.YellowCut = s.yellowCut(flt.Today)
	fs, total, err := s.findings.FindingsPage(ctx, flt)
	if err != nil {
		return nil, 0, err
	}
	out := make([]FindingBrief, len(fs))
	for i, f := range fs {
		out[i] = s.brief(f, flt.Today)
	}
	return out, total, nil
}

type findingsView struct {
	Q         findingQuery
	Findings  []FindingBrief
	Total     int
	Prev      string
	Next      string
	States    []workflow.State
	Townships []workflow.Township
}

func (s *Server) findingsPage(w http.ResponseWriter, r *http.Request, c *call) {
	fq, flt, err := parseFindingQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	flt.Limit, flt.Offset = pageSize, (fq.Page-1)*pageSize
	list, total, err := s.listFindings(r.Context(), c.User, flt)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := findingsView{Q: fq, Findings: list, Total: total, States: workflow.States}
	if c.User.Role == workflow.Supervisor {
		if v.Townships, err = s.db.Townships(r.Context()); err != nil {
			s.fail(w, r, c, err)
			return
		}
	}
	link := func(page int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		return "/findings?" + q.Encode()
	}
	if fq.Page > 1 {
		v.Prev = link(fq.Page - 1)
	}
	if fq.Page*pageSize < total {
		v.Next = link(fq.Page + 1)
	}
	s.render(w, r, http.StatusOK, "findings", c, "问题清单", v)
}

// FindingDetail is a finding with its facts, evidence files, history and the
// caller's possible actions.
type FindingDetail struct {
	FindingBrief
	Message     string               `json:"message"`
	RepeatCount int                  `json:"repeat_count"`
	Rejections  int                  `json:"rejections"`
	Summons     int                  `json:"summons"`
	VerifiedBy  string               `json:"verified_by,omitempty"`
	Facts       []Fact               `json:"facts"`
	Files       []store.EvidenceFile `json:"files"`
	History     []HistoryEntry       `json:"history"`
	Actions     []string             `json:"actions"`
	DaysLeft    *int                 `json:"workdays_left,omitempty"`
}

// Fact is one measured value the rules engine reported.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HistoryEntry is one row of the timeline.
type HistoryEntry struct {
	Seq        int       `json:"seq"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role"`
	Event      string    `json:"event"`
	EventLabel string    `json:"event_label"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Comment    string    `json:"comment,omitempty"`
	Details    []Fact    `json:"details,omitempty"`
}

var payloadLabels = map[string]string{
	"reason": "理由", "deadline": "整改期限", "evidence": "证明材料", "time": "约谈时间", "place": "约谈地点",
	"interviewer": "约谈人", "statement": "顾问陈述", "outcome": "约谈结果", "measure": "问责措施",
	"decision": "问责决定", "rule": "督查事项", "village": "村", "severity": "严重程度", "adviser": "法律顾问",
	"round": "督查轮次", "repeat": "重复次数",
}

func (s *Server) detail(ctx context.Context, u *workflow.User, f *workflow.Finding) (*FindingDetail, error) {
	today := s.today()
	d := &FindingDetail{FindingBrief: s.brief(f, today), Message: f.Message, RepeatCount: f.RepeatCount,
		Rejections: f.Rejections, Summons: f.Summons, VerifiedBy: f.VerifiedBy, Actions: []string{}}
	var measured map[string]any
	if len(f.Evidence) > 0 && json.Unmarshal(f.Evidence, &measured) == nil {
		keys := make([]string, 0, len(measured))
		for k := range measured {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			d.Facts = append(d.Facts, Fact{k, fmt.Sprint(measured[k])})
		}
	}
	var err error
	if d.Files, err = s.db.EvidenceFiles(ctx, f.ID); err != nil {
		return nil, err
	}
	hist, err := s.findings.History(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range hist {
		h := HistoryEntry{Seq: e.Seq, At: e.At, Actor: e.Actor, Role: string(e.Role), Event: string(e.Event),
			EventLabel: e.Event.Label(), From: string(e.From), To: string(e.To), Comment: e.Comment}
		if e.Event == workflow.Discover {
			h.EventLabel = workflow.Discover.Label()
		}
		keys := make([]string, 0, len(e.Payload))
		for k := range e.Payload {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := payloadLabels[k]
			if name == "" {
				name = k
			}
			v := e.Payload[k]
			if k == "severity" {
				v = workflow.Severity(v).Label()
			}
			h.Details = append(h.Details, Fact{name, v})
		}
		d.History = append(d.History, h)
	}
	for _, ev := range s.actions(u, f) {
		d.Actions = append(d.Actions, string(ev))
	}
	if f.Deadline != nil && f.Open() && !today.After(*f.Deadline) {
		n := s.life.Calendar.WorkdaysBetween(today, *f.Deadline)
		d.DaysLeft = &n
	}
	return d, nil
}

type findingView struct {
	*FindingDetail
	Error  string
	Done   string
	Events map[string]bool
	Now    string // default interview time
}

func (s *Server) findingPage(w http.ResponseWriter, r *http.Request, c *call) {
	s.showFinding(w, r, c, http.StatusOK, "")
}

func (s *Server) showFinding(w http.ResponseWriter, r *http.Request, c *call, code int, errMsg string) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	f, err := s.visibleFinding(r.Context(), c.User, id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	d, err := s.detail(r.Context(), c.User, f)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := findingView{FindingDetail: d, Error: errMsg, Events: map[string]bool{},
		Now: s.now().In(workflow.Shanghai).AddDate(0, 0, 1).Format("2006-01-02T09:00")}
	if done := r.URL.Query().Get("done"); done != "" {
		v.Done = workflow.Event(done).Label()
	}
	for _, a := range d.Actions {
		v.Events[a] = true
	}
	s.render(w, r, code, "finding", c, fmt.Sprintf("问题 %d", f.ID), v)
}

// eventRequest is what an event carries: the fields of workflow.Input, the
// version the caller saw (0: skip the check) and evidence files.
type eventRequest struct {
	Version      int                     `json:"version"`
	Comment      string                  `json:"comment"`
	Reason       string                  `json:"reason"`
	Measure      string                  `json:"measure"`
	Decision     string                  `json:"decision"`
	Time         string                  `json:"time"`
	Place        string                  `json:"place"`
	Interviewer  string                  `json:"interviewer"`
	Statement    string                  `json:"statement"`
	Outcome      string                  `json:"outcome"`
	DeadlineDays int                     `json:"deadline_days"`
	Files        []*multipart.FileHeader `json:"-"`
}

// parseEvent reads an event from a form (urlencoded or multipart, already
// parsed by the wrapper for pages) or a JSON body.
func parseEvent(r *http.Request) (*eventRequest, error) {
	req := &eventRequest{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(req); err != nil {
			return nil, &inputError{"请求正文", "不是有效的 JSON: " + err.Error()}
		}
		return req, nil
	}
	if r.MultipartForm == nil && r.PostForm == nil {
		if err := r.ParseMultipartForm(maxFormBytes); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return nil, &inputError{"表单", "无法读取: " + err.Error()}
		}
	}
	num := func(field string) (int, error) {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, &inputError{field, fmt.Sprintf("%q 不是整数", v)}
		}
		return n, nil
	}
	var err error
	if req.Version, err = num("version"); err != nil {
		return nil, err
	}
	if req.DeadlineDays, err = num("deadline_days"); err != nil {
		return nil, err
	}
	req.Comment, req.Reason = r.PostFormValue("comment"), r.PostFormValue("reason")
	req.Measure, req.Decision = r.PostFormValue("measure"), r.PostFormValue("decision")
	req.Time, req.Place, req.Interviewer = r.PostFormValue("time"), r.PostFormValue("place"), r.PostFormValue("interviewer")
	req.Statement, req.Outcome = r.PostFormValue("statement"), r.PostFormValue("outcome")
	if r.MultipartForm != nil {
		req.Files = r.MultipartForm.File["evidence"]
	}
	return req, nil
}

// parseTime reads an interview time: RFC 3339, or "2006-01-02T15:04" /
// "2006-01-02 15:04" in Asia/Shanghai (what a datetime-local field sends).
func parseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, workflow.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &inputError{"time", fmt.Sprintf("约谈时间 %q 无效, 应如 2018-03-01T09:30", v)}
}

// fire applies an event by the caller to a finding it may see: evidence
// files are checked and stored first, then the transition is written, then
// the files are recorded against the finding.
func (s *Server) fire(ctx context.Context, u *workflow.User, id int64, ev workflow.Event, req *eventRequest) (*workflow.Transition, error) {
	f, err := s.visibleFinding(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if req.Version != 0 && req.Version != f.Version {
		return nil, workflow.ErrConflict
	}
	at, err := parseTime(req.Time)
	if err != nil {
		return nil, err
	}
	if req.DeadlineDays < 0 {
		return nil, &inputError{"deadline_days", "整改期限不能为负数"}
	}
	in := workflow.Input{Comment: req.Comment, Reason: req.Reason, Measure: req.Measure, Decision: req.Decision,
		Time: at, Place: req.Place, Interviewer: req.Interviewer, Statement: req.Statement, Outcome: req.Outcome,
		Deadline: workflow.Within{N: req.DeadlineDays, Workdays: true}}
	var files []*store.EvidenceFile
	if len(req.Files) > 0 {
		if ev != workflow.Respond && ev != workflow.Appeal {
			return nil, &inputError{"evidence", "只有反馈整改情况和申诉可以附证明材料"}
		}
		// Check who may act before storing anything they send.
		if _, err := s.life.Apply(f, *u, ev, in, s.now()); err != nil {
			return nil, err
		}
		if files, err = s.saveUploads(req.Files, f.ID, u.Login); err != nil {
			return nil, err
		}
		names := make([]string, len(files))
		for i, fl := range files {
			names[i] = fl.Name + " (sha256:" + fl.SHA256[:12] + ")"
		}
		in.Evidence = strings.Join(names, "; ")
	}
	t, err := s.life.FireOn(ctx, *u, f, ev, in, s.now())
	if err != nil {
		return nil, err
	}
	s.metrics.transitions.WithLabelValues(string(ev)).Inc()
	s.dashboard.changed(u.Login)
	if len(files) > 0 {
		if err := s.db.AddEvidence(ctx, files); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (s *Server) findingEvent(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	ev := workflow.Event(r.PathValue("event"))
	req, err := parseEvent(r)
	if err == nil {
		_, err = s.fire(r.Context(), c.User, id, ev, req)
	}
	if err != nil {
		code := status(err)
		if code == http.StatusNotFound || code >= 500 {
			s.fail(w, r, c, err)
			return
		}
		// Show the finding again, with the error above its forms.
		s.showFinding(w, r, c, code, message(err, code))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/findings/%d?done=%s", id, url.QueryEscape(string(ev))), http.StatusSeeOther)
}
