package bulletin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"ducha/rules"
)

// RecoveredYuan is the code of the money recovered (挽回经济损失), which is an
// amount on any activity rather than a kind of its own. Drill-downs accept it
// like a kind.
const RecoveredYuan = "recovered_yuan"

// Totals is the sum of activity counts per kind (people, 人次, for
// consultations) and the money recovered, in fen.
type Totals struct {
	Counts    map[rules.Kind]int64
	AmountFen int64
}

// Count is the total for kind k.
func (t Totals) Count(k rules.Kind) int64 { return t.Counts[k] }

// Add adds count to kind k and fen to the money recovered.
func (t *Totals) Add(k rules.Kind, count, fen int64) {
	if t.Counts == nil {
		t.Counts = make(map[rules.Kind]int64)
	}
	t.Counts[k] += count
	t.AmountFen += fen
}

// MarshalJSON writes every kind by its code, then recovered_yuan in yuan:
// {"lecture":48,…,"recovered_yuan":250000}.
func (t Totals) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for _, k := range rules.Kinds() {
		fmt.Fprintf(&b, "%q:%d,", string(k), t.Counts[k])
	}
	fmt.Fprintf(&b, "%q:%s}", RecoveredYuan, YuanValue(t.AmountFen))
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Totals) UnmarshalJSON(data []byte) error {
	var m map[string]json.Number
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*t = Totals{Counts: map[rules.Kind]int64{}}
	for key, v := range m {
		if key == RecoveredYuan {
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return fmt.Errorf("totals.%s: %w", key, err)
			}
			t.AmountFen = int64(f*100 + 0.5)
			continue
		}
		n, err := v.Int64()
		if err != nil {
			return fmt.Errorf("totals.%s: %w", key, err)
		}
		if n != 0 {
			t.Counts[rules.Kind(key)] = n
		}
	}
	return nil
}

// Summary is the work summary's statistics (工作总结) over a period, the
// figures of the seed's third section and more.
type Summary struct {
	Bureau   string    `json:"bureau"`
	From     time.Time `json:"from"` // civil dates, inclusive
	To       time.Time `json:"to"`
	Township string    `json:"township,omitempty"` // empty: the whole county

	Villages int   `json:"villages"` // villages in scope
	Advisers int   `json:"advisers"` // advisers assigned to them during the period
	Records  int64 `json:"records"`  // activity records in the period

	Totals    Totals `json:"totals"`
	Townships []Row  `json:"townships"` // per township, by name
	Months    []Row  `json:"months"`    // per month "2018-01", in order

	// Ranking is the excellent-adviser ranking (优秀法律顾问) by Formula,
	// everyone placed in the top RankingTop (ties included).
	Ranking []Score  `json:"ranking"`
	Formula []Weight `json:"formula"`

	// The sections below come from rounds and findings; nil until a store
	// query fills them (the renderers leave them out while nil).
	Rounds   *RoundStats   `json:"rounds,omitempty"`
	Findings *FindingStats `json:"findings,omitempty"`
}

// Row is the totals of one township or one month.
type Row struct {
	Name     string `json:"name"`
	Villages int    `json:"villages,omitempty"`
	Advisers int    `json:"advisers,omitempty"`
	Records  int64  `json:"records"`
	Totals   Totals `json:"totals"`
}

// Score is one adviser's place in the ranking.
type Score struct {
	Rank     int     `json:"rank"`
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	Firm     string  `json:"firm"`
	Villages int     `json:"villages"` // villages served with activity in the period
	Totals   Totals  `json:"totals"`
	Points   float64 `json:"points"`
}

// Weight is one term of the ranking formula: Points per Unit of Item.
type Weight struct {
	Item   string  `json:"item"` // a kind code, or recovered_yuan
	Label  string  `json:"label"`
	Points float64 `json:"points"`
	Unit   string  `json:"unit"` // 次, 人次, 件, 万元 (whole ten-thousands only)
}

// RankingTop is how many places the ranking keeps (the seed's bureau named ten).
const RankingTop = 10

// DefaultFormula is the published ranking formula: points per record kind,
// weighted by the effort each takes, plus one point per full 10,000 yuan
// recovered. Equal points share a rank and are listed by adviser code.
var DefaultFormula = func() []Weight {
	pts := map[rules.Kind]float64{
		rules.Lecture: 5, rules.DocumentReview: 3, rules.Consultation: 0.5,
		rules.DocumentDrafting: 2, rules.LegalAid: 3, rules.Mediation: 4,
		rules.LegalAffairs: 3, rules.LegalOpinion: 3, rules.Visit: 1,
		rules.Training: 1, rules.LawStudy: 1,
	}
	var ws []Weight
	for _, k := range rules.Kinds() {
		ws = append(ws, Weight{Item: string(k), Label: k.Label(), Points: pts[k], Unit: k.Unit()})
	}
	return append(ws, Weight{Item: RecoveredYuan, Label: "挽回经济损失", Points: 1, Unit: "万元"})
}()

// Points scores totals by the formula. Money counts in whole 10,000 yuan.
func Points(t Totals, formula []Weight) float64 {
	var p float64
	for _, w := range formula {
		if w.Item == RecoveredYuan {
			p += w.Points * float64(t.AmountFen/1_000_000)
			continue
		}
		p += w.Points * float64(t.Counts[rules.Kind(w.Item)])
	}
	return p
}

// FormulaText is the formula in one line: "分值 = 法治讲座(次)×5 + …".
func FormulaText(formula []Weight) string {
	var b strings.Builder
	b.WriteString("分值 = ")
	for i, w := range formula {
		if i > 0 {
			b.WriteString(" + ")
		}
		per := w.Unit
		if w.Item == RecoveredYuan {
			per = "每满1万元"
		}
		fmt.Fprintf(&b, "%s(%s)×%s", w.Label, per, numText(w.Points))
	}
	return b.String()
}

// Rank scores every adviser by formula, sorts by points (descending) then
// code, gives equal points the same rank (1, 2, 2, 4) and keeps the places
// up to top, ties at the last place included. Advisers with no points are
// left out.
func Rank(scores []Score, formula []Weight, top int) []Score {
	out := make([]Score, 0, len(scores))
	for _, s := range scores {
		s.Points = Points(s.Totals, formula)
		if s.Points > 0 {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Points != out[j].Points {
			return out[i].Points > out[j].Points
		}
		return out[i].Code < out[j].Code
	})
	for i := range out {
		if i > 0 && out[i].Points == out[i-1].Points {
			out[i].Rank = out[i-1].Rank
		} else {
			out[i].Rank = i + 1
		}
		if out[i].Rank > top {
			return out[:i]
		}
	}
	return out
}

// RoundStats counts the inspection rounds run in the period.
type RoundStats struct {
	Total    int `json:"total"`
	Periodic int `json:"periodic"`
	Random   int `json:"random"`
	Manual   int `json:"manual"`
	Villages int `json:"villages"` // village inspections (a village per round)
}

// FindingStats counts the findings of the period by state.
type FindingStats struct {
	States []StateCount `json:"states"`
}

// N is the number of findings in state.
func (f *FindingStats) N(state string) int {
	for _, s := range f.States {
		if s.State == state {
			return s.N
		}
	}
	return 0
}

// Total is the number of findings in every state.
func (f *FindingStats) Total() int {
	n := 0
	for _, s := range f.States {
		n += s.N
	}
	return n
}

// Rate is the rectification rate (整改率): findings signed off over all
// findings not dismissed, in percent; 0 when there are none.
func (f *FindingStats) Rate() float64 {
	d := f.Total() - f.N("dismissed")
	if d == 0 {
		return 0
	}
	return 100 * float64(f.N("signed_off")) / float64(d)
}

// Record is one activity record behind a number (a drill-down row).
type Record struct {
	ID          int64      `json:"id"`
	Date        time.Time  `json:"date"`
	Township    string     `json:"township"`
	Village     string     `json:"village"`
	AdviserCode string     `json:"adviser_code"`
	Adviser     string     `json:"adviser"`
	Kind        rules.Kind `json:"kind"`
	Count       int64      `json:"count"`
	AmountFen   int64      `json:"amount_fen"`
	Note        string     `json:"note"`
}

// Title is the summary's headline.
func (s *Summary) Title() string {
	return fmt.Sprintf("%s%s精准脱贫村法律顾问工作统计", s.Township, periodText(s.From, s.To))
}

func (s *Summary) scopeName() string {
	if s.Township != "" {
		return s.Township
	}
	return "全县"
}

// ActivityChart is the activity records per month as bars.
func (s *Summary) ActivityChart() []Bar {
	bars := make([]Bar, len(s.Months))
	for i, m := range s.Months {
		bars[i] = Bar{Label: monthLabel(m.Name), Value: float64(m.Records)}
	}
	return bars
}

// FindingsChart is the findings by state as bars; nil without findings.
func (s *Summary) FindingsChart() []Bar {
	if s.Findings == nil {
		return nil
	}
	return stateBars(s.Findings.States)
}

func monthLabel(ym string) string {
	t, err := time.Parse("2006-01", ym)
	if err != nil {
		return ym
	}
	return fmt.Sprintf("%d月", int(t.Month()))
}
