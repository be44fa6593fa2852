package rules

import (
	"fmt"
	"strings"
	"text/template"
	"time"
)

// A rule's message is a Go text/template (https://pkg.go.dev/text/template)
// rendered for each finding. Its data:
//
//	.village.code .village.name .village.township .village.poverty
//	.adviser.code .adviser.name .adviser.kind .adviser.firm
//	.adviser.phone .adviser.qq .adviser.wechat .adviser.email
//	.assigned
//	.window.from .window.to (YYYY-MM-DD) .window.label (本季度, 近30天 …)
//	.period.from .period.to
//	.rule.id .rule.title
//
// and the condition's functions: {{events "visit"}}, {{total "法律咨询"}},
// {{adviser_events "training"}},
// {{recovered}}, {{days_since "lecture"}}, {{last "training"}} (a date, or
// 无记录). Kinds are accepted by code or Chinese label. A misspelt field or
// kind fails when the checklist is checked: the template is executed once
// against an empty village.
//
// Example: {{.village.name}}{{.window.label}}到村服务{{events "visit"}}次, 应不少于1次

// noRecord is how last prints a kind never recorded within the lookback.
const noRecord = "无记录"

func templateFuncs(v *view) template.FuncMap {
	kinds := func(ss []string) ([]Kind, error) {
		ks := make([]Kind, len(ss))
		for i, s := range ss {
			k, err := ParseKind(s)
			if err != nil {
				return nil, err
			}
			ks[i] = k
		}
		return ks, nil
	}
	return template.FuncMap{
		"events": func(ss ...string) (int, error) {
			ks, err := kinds(ss)
			if err != nil {
				return 0, err
			}
			return v.events(ks), nil
		},
		"total": func(ss ...string) (int, error) {
			ks, err := kinds(ss)
			if err != nil {
				return 0, err
			}
			return v.total(ks), nil
		},
		"adviser_events": func(ss ...string) (int, error) {
			ks, err := kinds(ss)
			if err != nil {
				return 0, err
			}
			return v.adviserEvents(ks), nil
		},
		"recovered": func() float64 { return v.recovered() },
		"days_since": func(ss ...string) (int, error) {
			ks, err := kinds(ss)
			if err != nil {
				return 0, err
			}
			return v.daysSince(ks), nil
		},
		"last": func(ss ...string) (string, error) {
			ks, err := kinds(ss)
			if err != nil {
				return "", err
			}
			if d, ok := v.last(ks); ok {
				return d.Format(dateLayout), nil
			}
			return noRecord, nil
		},
	}
}

// parseMessage parses a message template and renders it once against an
// empty village, so that misspelt fields and kinds fail at check time.
func parseMessage(r *Rule) (*template.Template, error) {
	t, err := template.New(r.ID).Option("missingkey=error").Funcs(templateFuncs(nil)).Parse(r.Message)
	if err != nil {
		return nil, cleanTemplateError(err)
	}
	end := time.Date(2000, 1, 31, 0, 0, 0, 0, time.UTC)
	f := Facts{Adviser: &Adviser{}, Windows: []WindowFacts{{Adviser: &Tallies{}}}}
	v := &view{f: &f, w: &f.Windows[0], end: end}
	if _, err := render(t, r, v, Period{From: end, To: end}); err != nil {
		return nil, err
	}
	return t, nil
}

// render executes a rule's template for one village and window.
func render(t *template.Template, r *Rule, v *view, p Period) (string, error) {
	rd, err := newRenderer(t)
	if err != nil {
		return "", err
	}
	return rd.render(r, v, p)
}

// renderer executes one rule's template for many villages: the template is
// cloned with its functions once, bound to a view each call overwrites
// (cloning it per message cost more than evaluating the rules). Not safe
// for concurrent use.
type renderer struct {
	t   *template.Template
	cur view
}

func newRenderer(t *template.Template) (*renderer, error) {
	rd := &renderer{}
	c, err := t.Clone()
	if err != nil {
		return nil, err
	}
	rd.t = c.Funcs(templateFuncs(&rd.cur))
	return rd, nil
}

func (rd *renderer) render(r *Rule, v *view, p Period) (string, error) {
	rd.cur = *v
	v = &rd.cur
	t := rd.t
	var a Adviser
	if v.f.Adviser != nil {
		a = *v.f.Adviser
	}
	wr := r.Window.Range(p.To)
	data := map[string]any{
		"village": map[string]any{
			"code": v.f.Village.Code, "name": v.f.Village.Name,
			"township": v.f.Village.Township, "poverty": v.f.Village.Poverty,
		},
		"adviser": map[string]any{
			"code": a.Code, "name": a.Name, "kind": a.Kind, "firm": a.Firm,
			"phone": a.Phone, "qq": a.QQ, "wechat": a.WeChat, "email": a.Email,
		},
		"assigned": v.f.Adviser != nil,
		"window": map[string]any{
			"from": wr.From.Format(dateLayout), "to": wr.To.Format(dateLayout), "label": r.Window.Label(),
		},
		"period": map[string]any{"from": p.From.Format(dateLayout), "to": p.To.Format(dateLayout)},
		"rule":   map[string]any{"id": r.ID, "title": r.Title},
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", cleanTemplateError(err)
	}
	return b.String(), nil
}

// cleanTemplateError drops text/template's "template: NAME:" prefix; the
// caller adds the file position.
func cleanTemplateError(err error) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "template: "); ok {
		msg = rest
	}
	return fmt.Errorf("消息模板有误: %s", msg)
}
