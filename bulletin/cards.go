package bulletin

import (
	"io"
	"sort"
)

// DefaultServices are the services a card offers (the seed's list).
var DefaultServices = []string{"法律咨询", "法律援助申请", "人民调解", "代写法律文书", "审查合同协议", "法治宣传"}

// Card is one village's service card (法律便民服务卡).
type Card struct {
	Township    string   `json:"township"`
	Village     string   `json:"village"`
	Adviser     string   `json:"adviser"`
	AdviserKind string   `json:"adviser_kind"` // 律师 / 基层法律服务工作者
	Firm        string   `json:"firm"`
	Services    []string `json:"services"`
	Phone       string   `json:"phone"`
	QQ          string   `json:"qq"`
	WeChat      string   `json:"wechat"`
	Email       string   `json:"email"`
}

type cardsView struct {
	Bureau string
	Pages  [][]Card
}

// CardsPerPage is how many cards an A4 page holds (two columns, four rows).
const CardsPerPage = 8

// WriteCardsHTML writes the cards, CardsPerPage to an A4 page, sorted by
// township and village, ready to print and cut.
func WriteCardsHTML(w io.Writer, bureau string, cards []Card) error {
	cs := append([]Card(nil), cards...)
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Township != cs[j].Township {
			return cs[i].Township < cs[j].Township
		}
		return cs[i].Village < cs[j].Village
	})
	v := cardsView{Bureau: bureau}
	for len(cs) > 0 {
		n := min(CardsPerPage, len(cs))
		v.Pages = append(v.Pages, cs[:n])
		cs = cs[n:]
	}
	return render(w, "cards.html", page{Title: bureau + " 法律便民服务卡", Body: v})
}
