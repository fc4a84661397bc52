package dashboard

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/budare/budare/internal/action"
)

// Charts are drawn here as inline SVG: no script, no stylesheet of their
// own (colours are presentation attributes, which the strict CSP allows),
// scaled to the page width by their viewBox so they read on a phone. Every
// text goes through template.HTMLEscapeString: names from the store are
// never markup.

// colors maps the classes a chart uses to a fill/stroke colour.
var colors = map[string]string{
	action.LevelStop: "#b3261e", action.LevelService: "#e8710a", action.LevelInspect: "#c99a00",
	action.LevelNone: "#2e7d32", action.LevelUnknown: "#8a8f98",
	"failure": "#6d1b1b", "fault": "#d9480f", "maintenance": "#1c64f2",
	"line": "#3b5bdb", "line2": "#9c36b5", "grid": "#e3e5e8", "axis": "#6b7280", "thr": "#c92a2a",
}

func color(class string) string {
	if c, ok := colors[class]; ok {
		return c
	}
	return colors["line"]
}

type tick struct {
	At    float64
	Label string
}

type chartPoint struct {
	X, Y  float64
	Class string // dot colour (a level); "" the series' colour
	Label string // tooltip
	Day   string // data-day, for tests and people reading the DOM
}

type chartSeries struct {
	Name   string
	Class  string
	Points []chartPoint
	Dots   bool
}

type chartLine struct {
	Y     float64
	Label string
	Class string
}

type chartMark struct {
	X     float64
	Label string
	Class string // failure, fault, maintenance
}

// chart is one x-y chart.
type chart struct {
	ID     string // data-chart
	Title  string // accessible name
	Empty  string // said instead of an empty chart
	W, H   int
	XMin   float64
	XMax   float64
	YMin   float64
	YMax   float64
	XTicks []tick
	YTicks []tick
	Series []chartSeries
	HLines []chartLine
	Marks  []chartMark
}

const padL, padR, padT, padB = 40.0, 12.0, 12.0, 30.0

func (c *chart) points() int {
	n := 0
	for _, s := range c.Series {
		n += len(s.Points)
	}
	return n
}

// SVG draws the chart, or a framed message when it has no point.
func (c *chart) SVG() template.HTML {
	w, h := float64(cmp.Or(c.W, 480)), float64(cmp.Or(c.H, 200))
	var b bytes.Buffer
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		esc(c.ID), w, h, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	if c.points() == 0 {
		fmt.Fprintf(&b, `<rect x="1" y="1" width="%.0f" height="%.0f" fill="#f6f7f9" stroke="%s" stroke-dasharray="4 4"/>`, w-2, h-2, colors["axis"])
		fmt.Fprintf(&b, `<text class="empty" x="%.0f" y="%.0f" text-anchor="middle" font-size="14" fill="%s">%s</text></svg>`,
			w/2, h/2, colors["axis"], esc(cmp.Or(c.Empty, "No data for this chart yet")))
		return template.HTML(b.String())
	}
	if c.XMax <= c.XMin {
		c.XMax = c.XMin + 1
	}
	if c.YMax <= c.YMin {
		c.YMax = c.YMin + 1
	}
	x := func(v float64) float64 { return padL + (v-c.XMin)/(c.XMax-c.XMin)*(w-padL-padR) }
	y := func(v float64) float64 { return h - padB - (v-c.YMin)/(c.YMax-c.YMin)*(h-padT-padB) }
	for _, t := range c.YTicks {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, padL, w-padR, y(t.At), y(t.At), colors["grid"])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="14" fill="%s">%s</text>`, padL-4, y(t.At)+4, colors["axis"], esc(t.Label))
	}
	for _, t := range c.XTicks {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14" fill="%s">%s</text>`, x(t.At), h-padB+18, colors["axis"], esc(t.Label))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, padL, w-padR, h-padB, h-padB, colors["axis"])
	for _, m := range c.Marks {
		fmt.Fprintf(&b, `<g class="mark" data-kind="%s"><title>%s</title><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="3 2"/><path d="M%.1f %.1fl5 -8h-10z" fill="%s"/></g>`,
			esc(m.Class), esc(m.Label), x(m.X), x(m.X), padT, h-padB, color(m.Class), x(m.X), padT+8, color(m.Class))
	}
	for _, l := range c.HLines {
		fmt.Fprintf(&b, `<g class="hline" data-line="%s"><title>%s</title><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 3"/><text x="%.1f" y="%.1f" font-size="13" fill="%s">%s</text></g>`,
			esc(l.Class), esc(l.Label), padL, w-padR, y(l.Y), y(l.Y), color(l.Class), padL+3, y(l.Y)-3, color(l.Class), esc(l.Label))
	}
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<g class="series" data-series="%s">`, esc(s.Name))
		if len(s.Points) > 1 {
			var d strings.Builder
			for i, p := range s.Points {
				op := "L"
				if i == 0 {
					op = "M"
				}
				fmt.Fprintf(&d, "%s%.1f %.1f", op, x(p.X), y(p.Y))
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, d.String(), color(s.Class))
		}
		if s.Dots || len(s.Points) == 1 {
			for _, p := range s.Points {
				cl := cmp.Or(p.Class, s.Class)
				fmt.Fprintf(&b, `<circle class="pt" data-day="%s" data-level="%s" cx="%.1f" cy="%.1f" r="4.5" fill="%s" stroke="#fff"><title>%s</title></circle>`,
					esc(p.Day), esc(p.Class), x(p.X), y(p.Y), color(cl), esc(p.Label))
			}
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceTicks returns about n round ticks covering lo..hi, and the range
// they span.
func niceTicks(lo, hi float64, n int) ([]tick, float64, float64) {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(max(n, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	start, end := math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	var ts []tick
	for v := start; v <= end+step/2; v += step {
		ts = append(ts, tick{At: v, Label: strconv.FormatFloat(math.Round(v*1e6)/1e6, 'g', 4, 64)})
	}
	return ts, start, end
}

// sparkSVG draws a kitchen's alarms per day as a standalone SVG image
// (for an <img>): one bar per day, a grey dash for a day without actions.
func sparkSVG(vals []int) []byte {
	const w, h, bw = 70.0, 20.0, 8.0
	top := 1
	for _, v := range vals {
		top = max(top, v)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f">`, w, h, w, h)
	for i, v := range vals {
		x := float64(i) * (w / float64(max(len(vals), 1)))
		switch {
		case v < 0:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="2" fill="%s"/>`, x, h-2, bw, colors[action.LevelUnknown])
		case v == 0:
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="2" fill="%s"/>`, x, h-2, bw, colors[action.LevelNone])
		default:
			bh := math.Max(3, float64(v)/float64(top)*(h-1))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.1f" fill="%s"/>`, x, h-bh, bw, bh, colors[action.LevelService])
		}
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}
