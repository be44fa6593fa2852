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
	const (
		width, height = 640, 260
		left, right   = 48, 12
		top, bottom   = 36, 40
	)
	var max float64
	for _, b := range bars {
		max = math.Max(max, b.Value)
	}
	scaleMax := niceCeil(max)
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, height, width, height, html.EscapeString(title))
	fmt.Fprintf(&s, `<text x="%d" y="20" font-size="15" text-anchor="middle" class="chart-title">%s</text>`, width/2, html.EscapeString(title))
	// axis and grid: four steps
	for i := 0; i <= 4; i++ {
		v := scaleMax * float64(i) / 4
		y := float64(top) + plotH - plotH*float64(i)/4
		fmt.Fprintf(&s, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ccc" stroke-width="0.5"/>`, left, y, width-right, y)
		fmt.Fprintf(&s, `<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>`, left-4, y+3, numText(math.Round(v*10)/10))
	}
	if len(bars) > 0 {
		slot := plotW / float64(len(bars))
		bw := math.Min(slot*0.6, 60)
		for i, b := range bars {
			h := 0.0
			if scaleMax > 0 {
				h = plotH * b.Value / scaleMax
			}
			x := float64(left) + slot*float64(i) + (slot-bw)/2
			y := float64(top) + plotH - h
			fmt.Fprintf(&s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c00"><title>%s: %s%s</title></rect>`,
				x, y, bw, h, html.EscapeString(b.Label), numText(b.Value), html.EscapeString(unit))
			fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%s</text>`, x+bw/2, y-3, numText(b.Value))
			fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x+bw/2, height-bottom+16, html.EscapeString(b.Label))
		}
	}
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000" stroke-width="1"/>`, left, height-bottom, width-right, height-bottom)
	if unit != "" {
		fmt.Fprintf(&s, `<text x="%d" y="%d" font-size="10" text-anchor="start">单位：%s</text>`, 4, top-8, html.EscapeString(unit))
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
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
