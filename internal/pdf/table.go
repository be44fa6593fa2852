package pdf

import (
	"math"
	"slices"
)

// Table is a ruled table whose heading row repeats on every page it runs
// onto. A row breaks across pages only when it is taller than a page.
type Table struct {
	Head   []string
	Rows   [][]string
	Body   Style   // cells; Before, After and Keep apply to the table
	Header Style   // heading row; Align is used for every heading cell
	Aligns []Align // per column for body cells; Left when missing
	Fill   *RGB    // heading row background; nil for none
	Rule   float64 // line width of the rules
	PadX   float64 // cell padding, points
	PadY   float64
}

// widths sizes the columns like CSS automatic table layout at width:100%:
// every column gets at least its longest unbreakable piece, the rest is
// shared in proportion to how much more each column's longest text wants.
// Unlike CSS, short cells (names, dates, numbers: up to 8 ems) count as
// unbreakable while the columns fit, so only long text wraps; and a word
// wider than the table breaks rather than pushing the other columns out.
func (t *Table) widths(avail float64) []float64 {
	n := len(t.Head)
	mins, soft, maxs := make([]float64, n), make([]float64, n), make([]float64, n)
	extra := 2*t.PadX + t.Rule
	measure := func(st *Style, cells []string) {
		for i, c := range cells[:min(n, len(cells))] {
			c = clean(c)
			w := 0.0
			// the longest line of a cell, for text with explicit newlines
			start := 0
			for j := 0; j <= len(c); j++ {
				if j == len(c) || c[j] == '\n' {
					w = max(w, st.Face.Width(c[start:j], st.Size, st.Spacing))
					start = j + 1
				}
			}
			m := st.Face.MinWidth(c, st.Size, st.Spacing)
			maxs[i] = max(maxs[i], w+extra)
			mins[i] = max(mins[i], m+extra)
			if w <= 8*st.Size {
				m = w
			}
			soft[i] = max(soft[i], m+extra)
		}
	}
	measure(&t.Header, t.Head)
	for _, r := range t.Rows {
		measure(&t.Body, r)
	}
	var sumMin, sumSoft, sumMax float64
	for i := range n {
		sumMin += mins[i]
		sumSoft += soft[i]
		sumMax += maxs[i]
	}
	if sumSoft <= avail {
		mins, sumMin = soft, sumSoft
	}
	if sumMin > avail {
		// Some column's unbreakable text (a long code, a URL) is wider than
		// the table can be, so some word must break. Scaling every minimum
		// down alike would squeeze the other columns narrower than a
		// character, their text drawn over each other; instead each column
		// keeps its short cells whole up to a common cap, chosen so that
		// the columns fit, and Break splits the capped columns' words.
		mins, sumMin = capTo(soft, avail), avail
	}
	out := make([]float64, n)
	for i := range n {
		switch {
		case sumMax == 0: // nothing in any cell, no padding, no rules
			out[i] = avail / float64(n)
		case sumMax <= avail:
			out[i] = maxs[i] * avail / sumMax
		case sumMin >= avail:
			out[i] = mins[i] * avail / sumMin
		default:
			out[i] = mins[i] + (maxs[i]-mins[i])*(avail-sumMin)/(sumMax-sumMin)
		}
	}
	return out
}

// capTo lowers the largest of ws to one level, as high as lets their sum be
// total (water-filling): widths below the level are kept. When ws already
// fit, they are returned as they are.
func capTo(ws []float64, total float64) []float64 {
	sorted := slices.Clone(ws)
	slices.Sort(sorted)
	level, rest := math.Inf(1), total
	for i, w := range sorted {
		if left := len(sorted) - i; w*float64(left) > rest {
			level = rest / float64(left)
			break
		}
		rest -= w
	}
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = min(w, level)
	}
	return out
}

// Table sets t across the flow's width. It returns the page and y of the
// table's top.
func (f *Flow) Table(t *Table) (*Page, float64) {
	ws := t.widths(f.Width())
	xs := make([]float64, len(ws)+1)
	xs[0] = f.Left
	for i, w := range ws {
		xs[i+1] = xs[i] + w
	}
	type row struct {
		cells  [][]string
		height float64
	}
	lay := func(st *Style, cells []string) row {
		r := row{cells: make([][]string, len(ws))}
		most := 1
		for i := range ws {
			if i < len(cells) {
				r.cells[i] = st.Face.Break(cells[i], st.Size, st.Spacing, ws[i]-2*t.PadX-t.Rule, 0)
				most = max(most, len(r.cells[i]))
			}
		}
		r.height = float64(most)*st.lineHeight() + 2*t.PadY + t.Rule
		return r
	}
	head := lay(&t.Header, t.Head)
	var segTop float64
	var hs [][4]float64 // horizontal rules of the current page's part
	draw := func(st *Style, r row, aligns []Align, fill bool) {
		p, y := f.page, f.y
		if fill && t.Fill != nil {
			p.Rect(xs[0], y, xs[len(xs)-1]-xs[0], r.height, *t.Fill)
		}
		lh := st.lineHeight()
		for i, lines := range r.cells {
			a := st.Align
			if aligns != nil {
				a = Left
				if i < len(aligns) {
					a = aligns[i]
				}
			}
			cst := *st
			cst.Align = a
			for k, l := range lines {
				f.setLine(p, xs[i]+t.PadX+t.Rule/2, y+t.PadY+t.Rule/2+float64(k)*lh, ws[i]-2*t.PadX-t.Rule, lh, &cst, l, true)
			}
		}
		f.y += r.height
		hs = append(hs, [4]float64{xs[0], f.y, xs[len(xs)-1], f.y})
	}
	closeSeg := func() {
		segs := hs
		for _, x := range xs {
			segs = append(segs, [4]float64{x, segTop, x, f.y})
		}
		f.page.Lines(t.Rule, Black, segs...)
		hs = hs[:0]
	}
	startSeg := func() {
		segTop = f.y
		hs = append(hs, [4]float64{xs[0], f.y, xs[len(xs)-1], f.y})
		draw(&t.Header, head, nil, true)
	}

	var first row
	if len(t.Rows) > 0 {
		first = lay(&t.Body, t.Rows[0])
	}
	top := f.begin(t.Body.Before, head.height+first.height+t.Body.Keep)
	page := f.page
	startSeg()
	newPage := func() {
		closeSeg()
		f.NewPage()
		f.atTop = false
		startSeg()
	}
	lh := t.Body.lineHeight()
	for i, cells := range t.Rows {
		r := first
		if i > 0 {
			r = lay(&t.Body, cells)
		}
		for r.height > f.room() {
			fresh := f.y <= segTop+head.height
			if !fresh && r.height <= f.Doc.H-f.Top-f.Bottom-head.height {
				newPage() // the row fits on the next page
				continue
			}
			// taller than a page: the lines that fit here, the rest on the next
			k := int((f.room() - 2*t.PadY - t.Rule) / lh)
			if k < 1 {
				if fresh {
					break // not one line fits on a page: let it run over
				}
				newPage()
				continue
			}
			part, rest := row{cells: make([][]string, len(r.cells))}, row{cells: make([][]string, len(r.cells))}
			for c, lines := range r.cells {
				part.cells[c], rest.cells[c] = lines[:min(k, len(lines))], lines[min(k, len(lines)):]
			}
			part.height = float64(k)*lh + 2*t.PadY + t.Rule
			rest.height = r.height - float64(k)*lh
			draw(&t.Body, part, t.Aligns, false)
			newPage()
			r = rest
		}
		draw(&t.Body, r, t.Aligns, false)
	}
	closeSeg()
	f.atTop = false
	f.end(t.Body.After)
	return page, top
}
