package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"ducha/bulletin"
	"ducha/store"
)

// Bulletins (督查通报): the list, one bulletin as published (frozen), and its
// downloads. Published bulletins are circulated to every user.

func bulletinNumber(r *http.Request) (bulletin.Number, error) {
	y, err1 := strconv.Atoi(r.PathValue("year"))
	n, err2 := strconv.Atoi(r.PathValue("seq"))
	if err1 != nil || err2 != nil || y < 2000 || n < 1 {
		return bulletin.Number{}, &webError{http.StatusNotFound, fmt.Sprintf("通报编号 %s/%s 无效", r.PathValue("year"), r.PathValue("seq"))}
	}
	return bulletin.Number{Year: y, Seq: n}, nil
}

// BulletinBrief is a line of the bulletin list.
type BulletinBrief struct {
	Year        int    `json:"year"`
	Seq         int    `json:"seq"`
	Number      string `json:"number"`
	Title       string `json:"title"`
	RoundID     int64  `json:"round_id,omitempty"`
	Corrects    bool   `json:"correction"`
	Reason      string `json:"reason,omitempty"`
	PublishedAt string `json:"published_at"`
	PublishedBy string `json:"published_by"`
}

func briefOf(p *store.Published) BulletinBrief {
	return BulletinBrief{Year: p.Number.Year, Seq: p.Number.Seq, Number: p.Number.String(), Title: p.Title,
		RoundID: p.RoundID, Corrects: p.CorrectsID != 0, Reason: p.Reason,
		PublishedAt: p.PublishedAt.Format("2006-01-02 15:04"), PublishedBy: p.PublishedBy}
}

// bulletins lists the published bulletins, newest first.
func (s *Server) bulletins(ctx context.Context, year int) ([]BulletinBrief, error) {
	ps, err := s.db.Bulletins(ctx, year)
	if err != nil {
		return nil, err
	}
	out := make([]BulletinBrief, 0, len(ps))
	for i := len(ps) - 1; i >= 0; i-- {
		out = append(out, briefOf(ps[i]))
	}
	return out, nil
}

func queryYear(r *http.Request) (int, error) {
	v := r.URL.Query().Get("year")
	if v == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 2000 {
		return 0, &inputError{"year", fmt.Sprintf("年份 %q 无效", v)}
	}
	return y, nil
}

type bulletinsView struct {
	Year      string
	Bulletins []BulletinBrief
}

func (s *Server) bulletinsPage(w http.ResponseWriter, r *http.Request, c *call) {
	y, err := queryYear(r)
	if err == nil {
		var list []BulletinBrief
		if list, err = s.bulletins(r.Context(), y); err == nil {
			s.render(w, r, http.StatusOK, "bulletins", c, "督查通报", bulletinsView{r.URL.Query().Get("year"), list})
			return
		}
	}
	s.fail(w, r, c, err)
}

type bulletinView struct {
	BulletinBrief
	Base string
	PDF  bool
}

func (s *Server) bulletinPage(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := bulletinNumber(r)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	p, err := s.db.Bulletin(r.Context(), n)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	s.render(w, r, http.StatusOK, "bulletin", c, p.Number.String()+"督查通报", bulletinView{briefOf(p),
		fmt.Sprintf("/bulletins/%d/%d", n.Year, n.Seq), s.canPDF()})
}

// canPDF says whether bulletins are offered as PDF: typeset in Go where a
// TrueType CJK font is installed (no browser needed), else printed by the
// Printer if there is one.
func (s *Server) canPDF() bool {
	return s.opt.Printer != nil || bulletin.CanTypeset() == nil
}

// bulletinFile renders a published bulletin as html, md, xlsx or pdf.
func (s *Server) bulletinFile(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := bulletinNumber(r)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	format := r.PathValue("format")
	types := map[string]string{"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
		"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}
	if pdf := s.canPDF(); types[format] == "" || (format == "pdf" && !pdf) {
		s.fail(w, r, c, &webError{http.StatusNotFound, fmt.Sprintf("不提供格式 %q (可用: html, md, xlsx%s)", format, map[bool]string{true: ", pdf"}[pdf])})
		return
	}
	p, err := s.db.Bulletin(r.Context(), n)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	var buf bytes.Buffer
	switch format {
	case "html":
		err = p.Bulletin.WriteHTML(&buf)
	case "md":
		err = p.Bulletin.WriteMarkdown(&buf)
	case "xlsx":
		err = p.Bulletin.WriteXLSX(&buf)
	case "pdf":
		var pdf []byte
		if pdf, err = p.Bulletin.PDF(r.Context(), s.opt.Printer); err == nil {
			buf.Write(pdf)
		}
	}
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	w.Header().Set("Content-Type", types[format])
	if format != "html" || r.URL.Query().Get("download") == "1" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="bulletin-%d-%d.%s"`, n.Year, n.Seq, format))
	}
	w.Write(buf.Bytes())
}

func (s *Server) apiBulletins(w http.ResponseWriter, r *http.Request, c *call) {
	y, err := queryYear(r)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	list, err := s.bulletins(r.Context(), y)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) apiBulletin(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := bulletinNumber(r)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	p, err := s.db.Bulletin(r.Context(), n)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bulletin": briefOf(p), "content": p.Bulletin})
}
