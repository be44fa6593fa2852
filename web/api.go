package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"ducha/notify"
	"ducha/store"
	"ducha/workflow"
)

// The JSON API under /api/v1: the same actions as the pages, through the
// same functions, for scripts with an API token.

func decodeJSON(r *http.Request, v any) error {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return &inputError{"Content-Type", "应为 application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &inputError{"请求正文", "不是有效的 JSON: " + err.Error()}
	}
	return nil
}

type meView struct {
	Login    string `json:"login"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Township string `json:"township,omitempty"`
	Adviser  string `json:"adviser,omitempty"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, c *call) {
	u := c.User
	writeJSON(w, http.StatusOK, meView{u.Login, u.Name, string(u.Role), u.Township, u.Adviser})
}

func (s *Server) apiDashboard(w http.ResponseWriter, r *http.Request, c *call) {
	d, err := s.dashboardFor(r.Context(), c.User.Login, township(c.User, r.URL.Query().Get("township")))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiRounds(w http.ResponseWriter, r *http.Request, c *call) {
	rs, err := s.rounds.Store.Rounds(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if rs == nil {
		rs = []*workflow.Round{}
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *Server) apiRoundOpen(w http.ResponseWriter, r *http.Request, c *call) {
	var req roundRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, r, c, err)
		return
	}
	rd, err := s.openRound(r.Context(), c.User, req)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusCreated, rd)
}

type apiRoundView struct {
	*workflow.Round
	Findings []FindingBrief `json:"findings"`
}

func (s *Server) apiRound(w http.ResponseWriter, r *http.Request, c *call) {
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
	v := apiRoundView{Round: rd}
	v.Findings, _, err = s.listFindings(r.Context(), c.User, store.WebFindingFilter{FindingFilter: store.FindingFilter{Round: id}})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type findingsPageJSON struct {
	Total    int            `json:"total"`
	Page     int            `json:"page"`
	PerPage  int            `json:"per_page"`
	Findings []FindingBrief `json:"findings"`
}

func (s *Server) apiFindings(w http.ResponseWriter, r *http.Request, c *call) {
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
	if list == nil {
		list = []FindingBrief{}
	}
	writeJSON(w, http.StatusOK, findingsPageJSON{total, fq.Page, pageSize, list})
}

func (s *Server) apiFinding(w http.ResponseWriter, r *http.Request, c *call) {
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
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiFindingEvent(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	req, err := parseEvent(r)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	t, err := s.fire(r.Context(), c.User, id, workflow.Event(r.PathValue("event")), req)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	d, err := s.detail(r.Context(), c.User, t.Finding)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiActivityAdd(w http.ResponseWriter, r *http.Request, c *call) {
	req := activityRequest{Count: 1}
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, r, c, err)
		return
	}
	a, err := s.addActivity(r.Context(), c.User, req)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": a.ID, "adviser": a.Adviser, "village": a.Village,
		"kind": a.Kind, "date": a.Date.Format("2006-01-02"), "count": a.Count, "amount_fen": a.AmountFen, "note": a.Note})
}

func (s *Server) apiSummary(w http.ResponseWriter, r *http.Request, c *call) {
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
	writeJSON(w, http.StatusOK, sum)
}

func (s *Server) apiNotifications(w http.ResponseWriter, r *http.Request, c *call) {
	msgs, err := s.listNotifications(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if msgs == nil {
		msgs = []notify.Message{}
	}
	writeJSON(w, http.StatusOK, msgs)
}

func (s *Server) apiNotificationResend(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	m, err := s.db.Outbox().Resend(r.Context(), id, s.now(), c.User.Login)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) apiChecklist(w http.ResponseWriter, r *http.Request, c *call) {
	v, err := s.checklist()
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
