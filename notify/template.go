package notify

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/template"
	"time"
)

// Person is someone a message is addressed to.
type Person struct {
	Login string // user login, or "adviser:CODE" for an adviser without one
	Name  string
	Email string
}

// Finding is what a message says about a finding. The caller fills it from
// its own domain (notify imports no workflow types).
type Finding struct {
	ID           int64
	Round        int64
	Village      string
	Township     string
	AdviserCode  string
	AdviserName  string
	Rule         string // rule code
	RuleTitle    string
	Evidence     string
	Deadline     time.Time // civil date; zero when none
	WorkdaysLeft int       // working days from today to the deadline (negative: overdue)
	Reason       string    // rejection reason, accountability decision text, …
	Measure      string    // accountability measure (通报批评, …)
	InterviewAt  time.Time
	Place        string
	Interviewer  string
}

// Bulletin is what a message says about a published bulletin.
type Bulletin struct {
	Year    int
	Number  int
	Title   string
	Summary string
}

// Data is what a template renders.
type Data struct {
	Kind      Kind
	Recipient Person
	Finding   *Finding
	Bulletin  *Bulletin
	Overdue   []Finding // digest: the overdue findings
	Date      time.Time // civil date the message was decided
	Link      string    // page the message is about
}

var builtin = map[Kind]TemplateConfig{
	Order: {
		Subject: `【整改通知】{{.Finding.Village}}：{{.Finding.RuleTitle}}`,
		Body: `{{.Recipient.Name}}：

经督查，您服务的{{.Finding.Township}}{{.Finding.Village}}存在以下问题：
督查事项：{{.Finding.RuleTitle}}（{{.Finding.Rule}}）
{{with .Finding.Evidence}}问题情况：{{.}}
{{end}}请于{{date .Finding.Deadline}}前（还有{{.Finding.WorkdaysLeft}}个工作日）完成整改并提交整改报告及佐证材料。

详情：{{.Link}}
`,
	},
	Rejection: {
		Subject: `【整改退回】{{.Finding.Village}}：{{.Finding.RuleTitle}}`,
		Body: `{{.Recipient.Name}}：

您就“{{.Finding.RuleTitle}}”（{{.Finding.Township}}{{.Finding.Village}}）提交的整改报告未通过核实，已退回。
退回理由：{{.Finding.Reason}}
请于{{date .Finding.Deadline}}前（还有{{.Finding.WorkdaysLeft}}个工作日）重新整改并提交。

详情：{{.Link}}
`,
	},
	Reminder: {
		Subject: `【催办】{{.Finding.Village}}：{{.Finding.RuleTitle}}，{{date .Finding.Deadline}}到期`,
		Body: `{{.Recipient.Name}}：

“{{.Finding.RuleTitle}}”（{{.Finding.Township}}{{.Finding.Village}}）的整改期限为{{date .Finding.Deadline}}，还有{{.Finding.WorkdaysLeft}}个工作日。请抓紧整改并按时提交整改报告。

详情：{{.Link}}
`,
	},
	Interview: {
		Subject: `【约谈通知】{{.Finding.AdviserName}}：{{.Finding.RuleTitle}}`,
		Body: `{{.Recipient.Name}}：

因“{{.Finding.RuleTitle}}”（{{.Finding.Township}}{{.Finding.Village}}）问题{{with .Finding.Reason}}（{{.}}）{{end}}，定于{{datetime .Finding.InterviewAt}}在{{.Finding.Place}}约谈法律顾问{{.Finding.AdviserName}}，约谈人：{{.Finding.Interviewer}}。请准时参加。

详情：{{.Link}}
`,
	},
	Accountability: {
		Subject: `【问责决定】{{.Finding.AdviserName}}：{{.Finding.Measure}}`,
		Body: `{{.Recipient.Name}}：

法律顾问{{.Finding.AdviserName}}在{{.Finding.Township}}{{.Finding.Village}}“{{.Finding.RuleTitle}}”问题上整改不力，决定予以问责。
问责措施：{{.Finding.Measure}}
{{with .Finding.Reason}}决定内容：{{.}}
{{end}}
详情：{{.Link}}
`,
	},
	BulletinOut: {
		Subject: `【督查通报】{{.Bulletin.Year}}年第{{.Bulletin.Number}}期{{with .Bulletin.Title}}：{{.}}{{end}}`,
		Body: `{{.Recipient.Name}}：

{{.Bulletin.Year}}年第{{.Bulletin.Number}}期督查通报已发布。
{{with .Bulletin.Summary}}{{.}}
{{end}}
全文：{{.Link}}
`,
	},
	Digest: {
		Subject: `【逾期日报】{{date .Date}}：逾期问题{{len .Overdue}}个`,
		Body: `{{.Recipient.Name}}：

截至{{date .Date}}，逾期未整改的问题共{{len .Overdue}}个：
{{range $i, $f := .Overdue}}{{inc $i}}. {{$f.Township}}{{$f.Village}}（{{$f.AdviserName}}）：{{$f.RuleTitle}}，期限{{date $f.Deadline}}，已逾期{{neg $f.WorkdaysLeft}}个工作日
{{else}}（无）
{{end}}
详情：{{.Link}}
`,
	},
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "（未定）"
		}
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "（时间待定）"
		}
		return fmt.Sprintf("%d年%d月%d日%02d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
	},
	"inc": func(i int) int { return i + 1 },
	"neg": func(i int) int { return -i },
}

// Templates are the parsed subject and body templates per kind, compiled
// when they can be (see compiled).
type Templates struct {
	subject, body   map[Kind]*template.Template
	csubject, cbody map[Kind]*compiled
}

// ParseTemplates parses the built-in templates with overrides on top.
func ParseTemplates(overrides map[Kind]TemplateConfig) (*Templates, error) {
	t := &Templates{subject: map[Kind]*template.Template{}, body: map[Kind]*template.Template{},
		csubject: map[Kind]*compiled{}, cbody: map[Kind]*compiled{}}
	for _, k := range Kinds {
		tc := builtin[k]
		if o, ok := overrides[k]; ok {
			if o.Subject != "" {
				tc.Subject = o.Subject
			}
			if o.Body != "" {
				tc.Body = o.Body
			}
		}
		var err error
		if t.subject[k], err = template.New(string(k) + ".subject").Funcs(funcs).Option("missingkey=error").Parse(tc.Subject); err != nil {
			return nil, fmt.Errorf("templates.%s.subject: %v", k, err)
		}
		if t.body[k], err = template.New(string(k) + ".body").Funcs(funcs).Option("missingkey=error").Parse(tc.Body); err != nil {
			return nil, fmt.Errorf("templates.%s.body: %v", k, err)
		}
		t.csubject[k], t.cbody[k] = compile(t.subject[k], dataType), compile(t.body[k], dataType)
	}
	return t, nil
}

var dataType = reflect.TypeFor[Data]()

// execute renders d through the compiled template when there is one, else
// (or when it falls back) through text/template.
func execute(b *strings.Builder, t *template.Template, c *compiled, d Data) error {
	if c != nil {
		err := c.execute(b, reflect.ValueOf(d))
		if !errors.Is(err, errFallback) {
			return err
		}
		b.Reset()
	}
	return t.Execute(b, d)
}

// Render renders kind's subject (one line) and body for d.
func (t *Templates) Render(k Kind, d Data) (subject, body string, err error) {
	st, ok := t.subject[k]
	if !ok {
		return "", "", fmt.Errorf("no template for kind %q", k)
	}
	var s, b strings.Builder
	if err := execute(&s, st, t.csubject[k], d); err != nil {
		return "", "", fmt.Errorf("render %s subject: %w", k, err)
	}
	if err := execute(&b, t.body[k], t.cbody[k], d); err != nil {
		return "", "", fmt.Errorf("render %s body: %w", k, err)
	}
	return strings.Join(strings.Fields(s.String()), " "), b.String(), nil
}

// Sample returns example data for previewing kind's template.
func Sample(k Kind, baseURL string) Data {
	f := &Finding{
		ID: 42, Round: 7, Village: "桃源村", Township: "城关镇", AdviserCode: "A017", AdviserName: "李明",
		Rule: "R03", RuleTitle: "每月到村服务不少于1次", Evidence: "2018年3月无到村服务记录",
		Deadline: time.Date(2018, 4, 20, 0, 0, 0, 0, time.UTC), WorkdaysLeft: 10,
		Reason: "整改报告未附到村服务签到表", Measure: "通报批评",
		InterviewAt: time.Date(2018, 4, 25, 9, 30, 0, 0, time.UTC), Place: "县司法局三楼会议室", Interviewer: "王科长",
	}
	d := Data{Kind: k, Recipient: Person{Login: "lim", Name: "李明"}, Finding: f,
		Date: time.Date(2018, 4, 6, 0, 0, 0, 0, time.UTC)}
	switch k {
	case BulletinOut:
		d.Finding = nil
		d.Recipient = Person{Login: "zhang", Name: "张主任"}
		d.Bulletin = &Bulletin{Year: 2018, Number: 5, Title: "2018年3月定期督查情况", Summary: "本期督查32个村，发现问题7个。"}
	case Digest:
		d.Finding = nil
		d.Recipient = Person{Login: "zhang", Name: "张主任"}
		g := *f
		g.WorkdaysLeft = -3
		d.Overdue = []Finding{g}
	}
	d.Link = Link(baseURL, d)
	return d
}

// Link is the page a message about d points to.
func Link(baseURL string, d Data) string {
	base := strings.TrimRight(baseURL, "/")
	switch {
	case d.Finding != nil:
		return fmt.Sprintf("%s/findings/%d", base, d.Finding.ID)
	case d.Bulletin != nil:
		return fmt.Sprintf("%s/bulletins/%d/%d", base, d.Bulletin.Year, d.Bulletin.Number)
	}
	return base + "/findings?state=overdue"
}
