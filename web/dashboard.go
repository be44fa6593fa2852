package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"sync"
	"time"

	"ducha/bulletin"
	"ducha/store"
	"ducha/workflow"
)

// Dashboard is the overview of open findings: by state, by colour, by
// township, the overdue list, the latest rounds and bulletins.
type Dashboard struct {
	Township string    `json:"township,omitempty"` // "" for the whole county
	Today    time.Time `json:"today"`
	// ComputedAt is when the figures were read (they may be served for a
	// while after: see dashCache).
	ComputedAt time.Time          `json:"computed_at"`
	Open       int                `json:"open"`
	States     []StateCount       `json:"states"`
	Colours    ColourCount        `json:"colours"`
	Townships  []TownshipCount    `json:"townships"`
	Overdue    []FindingBrief     `json:"overdue"`
	Rounds     []store.RoundBrief `json:"rounds"`
	Bulletins  []BulletinBrief    `json:"bulletins"`
	StateSVG   template.HTML      `json:"-"`
	ColourSVG  template.HTML      `json:"-"`

	// The page's content, rendered once per computed dashboard (it holds
	// nothing of the viewer's): requests served from the cache only wrap it
	// in the layout.
	once    sync.Once
	content []byte
	err     error
}

// StateCount is how many open findings are in one state.
type StateCount struct {
	State string `json:"state"`
	Label string `json:"label"`
	N     int    `json:"n"`
}

// ColourCount is how many open findings have each light.
type ColourCount struct {
	Blue   int `json:"blue"`
	Yellow int `json:"yellow"`
	Red    int `json:"red"`
}

func (c *ColourCount) add(col workflow.Colour, n int) {
	switch col {
	case workflow.Blue:
		c.Blue += n
	case workflow.Yellow:
		c.Yellow += n
	case workflow.Red:
		c.Red += n
	}
}

// Total is the number of lit findings.
func (c ColourCount) Total() int { return c.Blue + c.Yellow + c.Red }

// TownshipCount is a township's open findings by colour.
type TownshipCount struct {
	Name string `json:"name"`
	ColourCount
}

// FindingBrief is a line of a finding list.
type FindingBrief struct {
	ID          int64      `json:"id"`
	Rule        string     `json:"rule"`
	RuleTitle   string     `json:"rule_title"`
	Village     string     `json:"village"`
	VillageName string     `json:"village_name"`
	Township    string     `json:"township"`
	Adviser     string     `json:"adviser,omitempty"`
	AdviserName string     `json:"adviser_name,omitempty"`
	State       string     `json:"state"`
	StateLabel  string     `json:"state_label"`
	Colour      string     `json:"colour,omitempty"`
	Deadline    *time.Time `json:"deadline,omitempty"`
	Severity    string     `json:"severity"`
	RoundID     int64      `json:"round_id,omitempty"`
	Version     int        `json:"version"`
}

func (s *Server) brief(f *workflow.Finding, today time.Time) FindingBrief {
	return FindingBrief{ID: f.ID, Rule: f.RuleID, RuleTitle: f.RuleTitle, Village: f.Village, VillageName: f.VillageName,
		Township: f.Township, Adviser: f.Adviser, AdviserName: f.AdviserName, State: string(f.State),
		StateLabel: f.State.Label(), Colour: string(s.life.Colour(f, today)), Deadline: f.Deadline,
		Severity: string(f.Severity), RoundID: f.RoundID, Version: f.Version}
}

// today is the civil date in Asia/Shanghai.
func (s *Server) today() time.Time { return workflow.CivilDate(s.now()) }

// yellowCut is the first deadline that is no longer "due soon" today.
func (s *Server) yellowCut(today time.Time) time.Time {
	return s.life.Calendar.AddWorkdays(today, s.life.Policy.YellowWithin+1)
}

// buildDashboard computes the dashboard of a township ("" for all) with one
// GROUP BY over open findings, one bounded query for the overdue list and
// one for the latest rounds: never a query per finding.
func (s *Server) buildDashboard(ctx context.Context, township string) (*Dashboard, error) {
	now := s.now()
	today := workflow.CivilDate(now)
	cells, err := s.db.DashboardCells(ctx, township)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{Township: township, Today: today, ComputedAt: now}
	byState := map[string]int{}
	byTown := map[string]*TownshipCount{}
	colourOf := map[string]workflow.Colour{} // per state and deadline: the cells share them
	for _, c := range cells {
		key := c.State
		if c.Deadline != nil {
			key += c.Deadline.Format(time.DateOnly)
		}
		col, ok := colourOf[key]
		if !ok {
			col = s.life.Colour(&workflow.Finding{State: workflow.State(c.State), Deadline: c.Deadline}, today)
			colourOf[key] = col
		}
		d.Open += c.N
		byState[c.State] += c.N
		d.Colours.add(col, c.N)
		t := byTown[c.Township]
		if t == nil {
			t = &TownshipCount{Name: c.Township}
			byTown[c.Township] = t
		}
		t.add(col, c.N)
	}
	for _, st := range workflow.States {
		if st.Open() {
			d.States = append(d.States, StateCount{string(st), st.Label(), byState[string(st)]})
		}
	}
	for _, t := range byTown {
		d.Townships = append(d.Townships, *t)
	}
	slices.SortFunc(d.Townships, func(a, b TownshipCount) int {
		if a.Red != b.Red {
			return b.Red - a.Red
		}
		return strings.Compare(a.Name, b.Name)
	})
	over, err := s.findings.OverdueFindings(ctx, township, today, 20)
	if err != nil {
		return nil, err
	}
	for _, f := range over {
		d.Overdue = append(d.Overdue, s.brief(f, today))
	}
	if d.Rounds, err = s.db.LatestRounds(ctx, 5); err != nil {
		return nil, err
	}
	if d.Bulletins, err = s.bulletins(ctx, 0); err != nil {
		return nil, err
	}
	d.Bulletins = d.Bulletins[:min(len(d.Bulletins), 5)]
	bars := make([]bulletin.Bar, len(d.States))
	for i, sc := range d.States {
		bars[i] = bulletin.Bar{Label: sc.Label, Value: float64(sc.N)}
	}
	d.StateSVG = bulletin.BarChartSVG("未办结问题 (按状态)", bars, "个")
	d.ColourSVG = colourChart(d.Townships)
	return d, nil
}

// chartTownships is how many townships the colour chart draws at most:
// beyond a county's few dozen a bar chart is no longer read (500 bars are
// 13,000 pixels tall); the table beside it lists them all.
const chartTownships = 30

// colourChart draws each township's open findings as a stacked horizontal
// bar, red, yellow and blue, as an inline SVG: the first chartTownships of
// ts (sorted most red first), the title saying so when there are more.
// Shared attributes sit on groups (labels, one group per colour, totals).
func colourChart(ts []TownshipCount) template.HTML {
	const (
		width, left, right, row, top = 420, 80, 40, 26, 30
	)
	if len(ts) == 0 {
		return ""
	}
	title := "各乡镇亮灯情况"
	if len(ts) > chartTownships {
		title = fmt.Sprintf("红灯最多的 %d 个乡镇 (共 %d 个)", chartTownships, len(ts))
		ts = ts[:chartTownships]
	}
	most := 1
	for _, t := range ts {
		most = max(most, t.Total())
	}
	height := top + row*len(ts) + 10
	scale := float64(width-left-right) / float64(most)
	b := make([]byte, 0, 512+110*len(ts))
	b = fmt.Appendf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" class="chart">`, width, height, title)
	b = fmt.Appendf(b, `<text x="%d" y="18" font-size="15" font-weight="bold">%s</text>`, left, title)
	b = fmt.Appendf(b, `<g font-size="13" text-anchor="end">`)
	for i, t := range ts {
		b = fmt.Appendf(b, `<text x="%d" y="%d">%s</text>`, left-6, top+i*row+15, template.HTMLEscapeString(t.Name))
	}
	b = append(b, `</g>`...)
	// The bars, one group per colour: red from the left edge, then yellow,
	// then blue.
	ends := make([]float64, len(ts))
	for i := range ends {
		ends[i] = left
	}
	for _, part := range []struct {
		n    func(TownshipCount) int
		fill string
	}{
		{func(t TownshipCount) int { return t.Red }, "#d93025"},
		{func(t TownshipCount) int { return t.Yellow }, "#f2b400"},
		{func(t TownshipCount) int { return t.Blue }, "#1a73e8"},
	} {
		b = fmt.Appendf(b, `<g fill="%s">`, part.fill)
		for i, t := range ts {
			n := part.n(t)
			if n == 0 {
				continue
			}
			w := float64(n) * scale
			b = fmt.Appendf(b, `<rect x="%.1f" y="%d" width="%.1f" height="18"/>`, ends[i], top+i*row+2, w)
			ends[i] += w
		}
		b = append(b, `</g>`...)
	}
	b = append(b, `<g font-size="12">`...)
	for i, t := range ts {
		b = fmt.Appendf(b, `<text x="%.1f" y="%d">%d</text>`, ends[i]+4, top+i*row+15, t.Total())
	}
	b = append(b, `</g></svg>`...)
	return template.HTML(b)
}

// dashboardFor returns the dashboard of township ("" for all) as user
// should see it now: from the cache, its page content rendered with it.
func (s *Server) dashboardFor(ctx context.Context, user, township string) (*Dashboard, error) {
	key := dashKey{township: township, day: s.today().Format(time.DateOnly)}
	return s.dashboard.get(ctx, key, user, func(ctx context.Context) (*Dashboard, error) {
		d, err := s.buildDashboard(ctx, township)
		if err != nil {
			return nil, err
		}
		s.renderDashboard(d)
		return d, nil
	})
}

// renderDashboard renders d's page content, once: it holds nothing of the
// viewer's, so every request served d only wraps it in its layout.
func (s *Server) renderDashboard(d *Dashboard) {
	d.once.Do(func() {
		var buf bytes.Buffer
		d.err = s.pages["dashboard"].t.ExecuteTemplate(&buf, "content", pageData{Body: d})
		d.content = buf.Bytes()
	})
}
