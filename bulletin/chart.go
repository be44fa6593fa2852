package bulletin

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// BarChartSVG draws bars as an inline SVG (no scripts, no external
// resources), with each value over its bar and the label under it.
func BarChartSVG(title string, bars []Bar, unit string) template.HTML {
	const width, height = barChartWidth, barChartHeight
	const left, right, top, bottom = barLeft, barRight, barTop, barBottom
	g := newBarGeometry(bars)
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, height, width, height, html.EscapeString(title))
	fmt.Fprintf(&s, `<text x="%d" y="20" font-size="15" text-anchor="middle" class="chart-title">%s</text>`, width/2, html.EscapeString(title))
	// axis and grid: four steps
	for _, t := range g.ticks {
		fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ccc" stroke-width="0.5"/>`, left, t.y, width-right, t.y)
		fmt.Fprintf(&s, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`, left-4, t.y+3, t.label)
	}
	for i, b := range bars {
		r := g.bars[i]
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c00"><title>%s: %s%s</title></rect>`,
			r.x, r.y, r.w, r.h, html.EscapeString(b.Label), numText(b.Value), html.EscapeString(unit))
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, r.x+r.w/2, r.y-3, numText(b.Value))
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, r.x+r.w/2, height-bottom+16, html.EscapeString(b.Label))
	}
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000" stroke-width="1"/>`, left, height-bottom, width-right, height-bottom)
	if unit != "" {
		fmt.Fprintf(&s, `<text x="%d" y="%d" font-size="10" text-anchor="start">单位：%s</text>`, 4, top-8, html.EscapeString(unit))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}

// The chart's box and plot margins, in SVG units (CSS px).
const (
	barChartWidth, barChartHeight = 640, 260
	barLeft, barRight             = 48, 12
	barTop, barBottom             = 36, 40
)

// barGeometry is where a bar chart's grid lines and bars go, shared by the
// SVG of the HTML and the drawing of the PDF.
type barGeometry struct {
	ticks []struct {
		y     float64
		label string
	}
	bars []struct{ x, y, w, h float64 }
}

func newBarGeometry(bars []Bar) barGeometry {
	var max float64
	for _, b := range bars {
		max = math.Max(max, b.Value)
	}
	scaleMax := niceCeil(max)
	plotW, plotH := float64(barChartWidth-barLeft-barRight), float64(barChartHeight-barTop-barBottom)
	var g barGeometry
	for i := 0; i <= 4; i++ {
		v := scaleMax * float64(i) / 4
		g.ticks = append(g.ticks, struct {
			y     float64
			label string
		}{float64(barTop) + plotH - plotH*float64(i)/4, numText(math.Round(v*10) / 10)})
	}
	if len(bars) > 0 {
		slot := plotW / float64(len(bars))
		bw := math.Min(slot*0.6, 60)
		for i, b := range bars {
			h := 0.0
			if scaleMax > 0 {
				h = plotH * b.Value / scaleMax
			}
			x := float64(barLeft) + slot*float64(i) + (slot-bw)/2
			g.bars = append(g.bars, struct{ x, y, w, h float64 }{x, float64(barTop) + plotH - h, bw, h})
		}
	}
	return g
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
