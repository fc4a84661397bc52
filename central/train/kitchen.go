package train

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"

	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/record"
)

// typeRows are one arepa type's rows from some kitchens, in kitchen order,
// before the type's feature Spec is known: the Spec comes from metric counts
// over every kitchen, and a rows worker sees only its own. Each vector is
// the Set2 vector of every metric the kitchens sent for the type (Metrics);
// a Spec's vector is a pick of its columns, since every per-metric feature
// depends on its own metric only and a metric absent from a window has NaN
// features (project).
type typeRows struct {
	Metrics []string  // sorted; X holds rowSpec(Metrics) vectors
	X       []float64 // rowSpec(Metrics).Len() per row
	Day     []int32
	Y       []bool
	Machine []string // kitchen/machine
	// Champ holds vectors under the champion's own Spec for the validation
	// and holdout rows (ChampRow[i] is row i's, or -1), only when that Spec
	// is not a pick of the columns (another window length).
	ChampDim int
	Champ    []float64
	ChampRow []int32
}

func (r *typeRows) n() int { return len(r.Y) }

// rowSpec is the Spec the rows are computed with: the trainer's Spec shape
// (specFor) with every metric seen.
func rowSpec(metrics []string, window int) features.Spec {
	return features.Spec{Metrics: metrics, WindowDays: window, Set: features.Set2}
}

// pickable reports whether a Spec's vectors can be picked from rowSpec
// vectors of a window of window days.
func pickable(s features.Spec, window int) bool { return s.Days() == window }

// projector maps a vector of one Spec onto another's layout by feature name:
// dst[i] = src[idx[i]], NaN where idx[i] < 0.
type projector []int

func newProjector(src, dst features.Spec) projector {
	at := map[string]int{}
	for i, n := range src.Names() {
		at[n] = i
	}
	p := make(projector, dst.Len())
	for i, n := range dst.Names() {
		j, ok := at[n]
		if !ok {
			j = -1
		}
		p[i] = j
	}
	return p
}

func (p projector) appendTo(dst, src []float64) []float64 {
	for _, j := range p {
		if j < 0 {
			dst = append(dst, math.NaN())
		} else {
			dst = append(dst, src[j])
		}
	}
	return dst
}

// widen re-lays r's rows for a larger metric list.
func (r *typeRows) widen(metrics []string, window int) {
	if slices.Equal(metrics, r.Metrics) {
		return
	}
	from, to := rowSpec(r.Metrics, window), rowSpec(metrics, window)
	if n := r.n(); n > 0 {
		p := newProjector(from, to)
		dim := from.Len()
		x := make([]float64, 0, n*to.Len())
		for i := range n {
			x = p.appendTo(x, r.X[i*dim:(i+1)*dim])
		}
		r.X = x
	}
	r.Metrics = slices.Clone(metrics)
}

// metricCounts are, per arepa type, the cook records of the sampled days and
// how many carry each metric: what the feature Spec is derived from.
type metricCounts struct {
	Counts map[string]map[string]int `json:"counts"`
	Cooks  map[string]int            `json:"cooks"`
}

func (c *metricCounts) add(o metricCounts) {
	if c.Counts == nil {
		c.Counts, c.Cooks = map[string]map[string]int{}, map[string]int{}
	}
	for a, n := range o.Cooks {
		c.Cooks[a] += n
	}
	for a, ms := range o.Counts {
		if c.Counts[a] == nil {
			c.Counts[a] = map[string]int{}
		}
		for m, n := range ms {
			c.Counts[a][m] += n
		}
	}
}

// sampleDay reports whether day index i is one of the days the metric
// counts are taken on: every 7th, counting back from the span's last day.
func (s *Span) sampleDay(i int) bool { return (len(s.days)-1-i)%7 == 0 }

// kitchenOut is what one kitchen's windows gave.
type kitchenOut struct {
	rows   map[string]*typeRows
	counts metricCounts
	st     readStats
}

// kitchenRows streams one kitchen's windows oldest first, keeping only the
// last Window+Horizon days in memory. It counts metrics on the sample days
// for every type of want, and builds the rows of the types of rowTypes (nil:
// all of want), whose other cook lines it skips on the other days. champ
// holds, for the types whose champion Spec is not pickable, that Spec: its
// vectors are computed for validation and holdout rows.
func kitchenRows(ctx context.Context, b Bucket, k Kitchen, span *Span, want, rowTypes map[string]bool, champ map[string]*features.Spec, bar *progress.Bar, log *slog.Logger) (*kitchenOut, error) {
	if rowTypes == nil {
		rowTypes = want
	}
	var skip func([]byte) bool
	if len(rowTypes) < len(want) {
		skip = skipOthers(rowTypes)
	}
	ks := newKitchenScan(k, span, rowTypes, champ)
	dec := &lineDecoder{reference: span.referenceDecoder}
	for i := range span.days {
		dayWant, daySkip := rowTypes, skip
		sample := span.sampleDay(i)
		if sample {
			dayWant, daySkip = want, nil
		}
		dd, err := readDay(ctx, b, k.Name, span.days[i], dayWant, daySkip, dec, &ks.out.st, log)
		if err != nil {
			return nil, err
		}
		bar.Add(1)
		ks.ring[i%ks.keep] = dd
		if sample {
			ks.out.counts.addDay(dd)
		}
		ks.noteMetrics(dd)
		// Day i completes the horizon of row day d = i-H+1.
		if d := i - span.Horizon + 1; d >= span.Window && span.sliceOf(d) >= 0 {
			ks.addRows(d)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return ks.out, nil
}

// addDay counts the cook records of one sampled day and their metrics.
func (c *metricCounts) addDay(dd dayData) {
	for _, md := range dd {
		for a, recs := range md.cooks {
			n := c.Counts[a]
			if n == nil {
				n = map[string]int{}
				c.Counts[a] = n
			}
			for ri := range recs {
				c.Cooks[a]++
				for m := range recs[ri].Metrics {
					n[m]++
				}
			}
		}
	}
}

// kitchenScan is kitchenRows' state: the days in memory and, per row type,
// every metric seen so far and the Spec its rows are computed with.
type kitchenScan struct {
	kitchen  string
	span     *Span
	rowTypes map[string]bool
	champ    map[string]*features.Spec
	keep     int
	ring     []dayData         // ring[i%keep] holds day i
	days     [][]record.Record // one window's records per day, reused
	seen     map[string]map[string]bool
	specs    map[string]*features.Spec // nil when the Spec must grow
	vec      map[string][]float64
	out      *kitchenOut
}

func newKitchenScan(k Kitchen, span *Span, rowTypes map[string]bool, champ map[string]*features.Spec) *kitchenScan {
	keep := span.Window + span.Horizon
	return &kitchenScan{kitchen: k.Name, span: span, rowTypes: rowTypes, champ: champ, keep: keep,
		ring: make([]dayData, keep), days: make([][]record.Record, span.Window),
		seen: map[string]map[string]bool{}, specs: map[string]*features.Spec{}, vec: map[string][]float64{},
		out: &kitchenOut{rows: map[string]*typeRows{}, counts: metricCounts{Counts: map[string]map[string]int{}, Cooks: map[string]int{}}}}
}

// noteMetrics records the metrics a day's cooks of the row types carry; a
// new one makes the type's Spec grow before its next row.
func (ks *kitchenScan) noteMetrics(dd dayData) {
	for _, md := range dd {
		for a, recs := range md.cooks {
			if !ks.rowTypes[a] {
				continue
			}
			s := ks.seen[a]
			if s == nil {
				s = map[string]bool{}
				ks.seen[a] = s
			}
			for ri := range recs {
				for m := range recs[ri].Metrics {
					if !s[m] {
						s[m] = true
						ks.specs[a] = nil
					}
				}
			}
		}
	}
}

// addRows adds the rows of row day d: one per machine seen in its window and
// row type it cooked there, machines sorted for a deterministic row order.
func (ks *kitchenScan) addRows(d int) {
	machines := map[string]bool{}
	for j := d - ks.span.Window; j < d; j++ {
		for m := range ks.ring[j%ks.keep] {
			machines[m] = true
		}
	}
	for _, m := range sortedKeys(machines) {
		label := ks.label(m, d)
		for _, a := range sortedKeys(ks.windowTypes(m, d)) {
			ks.addRow(a, m, d, label)
		}
	}
}

// label reports whether machine m had a failure in row day d's horizon.
func (ks *kitchenScan) label(m string, d int) bool {
	label := false
	for j := d; j < d+ks.span.Horizon; j++ {
		if md := ks.ring[j%ks.keep][m]; md != nil {
			for ei := range md.events {
				label = label || ks.span.failure.Match(&md.events[ei])
			}
		}
	}
	return label
}

// windowTypes returns the row types machine m cooked in row day d's window.
func (ks *kitchenScan) windowTypes(m string, d int) map[string]bool {
	types := map[string]bool{}
	for j := d - ks.span.Window; j < d; j++ {
		if md := ks.ring[j%ks.keep][m]; md != nil {
			for a := range md.cooks {
				if ks.rowTypes[a] {
					types[a] = true
				}
			}
		}
	}
	return types
}

// rowsOf returns type a's rows and the Spec they are computed with, widened
// to every metric seen so far.
func (ks *kitchenScan) rowsOf(a string) (*typeRows, *features.Spec) {
	rs := ks.out.rows[a]
	if rs == nil {
		rs = &typeRows{}
		if c := ks.champ[a]; c != nil {
			rs.ChampDim = c.Len()
		}
		ks.out.rows[a] = rs
	}
	spec := ks.specs[a]
	if spec == nil {
		rs.widen(slices.Sorted(maps.Keys(ks.seen[a])), ks.span.Window)
		s := rowSpec(rs.Metrics, ks.span.Window)
		spec = &s
		ks.specs[a] = spec
		ks.vec[a] = make([]float64, spec.Len())
	}
	return rs, spec
}

// window returns machine m's window of row day d for type a: its cooks of
// a and its events, per day (in the scan's buffer).
func (ks *kitchenScan) window(a, m string, d int) features.Window {
	w0 := d - ks.span.Window
	for w := range ks.span.Window {
		ks.days[w] = nil
		if md := ks.ring[(w0+w)%ks.keep][m]; md != nil {
			ks.days[w] = md.dayWindow(a)
		}
	}
	return features.Window{Days: ks.days}
}

// addRow computes and appends machine m's row of type a on row day d, and
// the champion's own vector for validation and holdout rows when it needs
// one. A window with too few days of data gives no row.
func (ks *kitchenScan) addRow(a, m string, d int, label bool) {
	rs, spec := ks.rowsOf(a)
	win := ks.window(a, m, d)
	v := ks.vec[a]
	if !spec.ComputeInto(v, win) {
		return // too few days with data: not a trustworthy row
	}
	rs.X = append(rs.X, v...)
	rs.Day = append(rs.Day, int32(d))
	rs.Y = append(rs.Y, label)
	rs.Machine = append(rs.Machine, ks.kitchen+"/"+m)
	c := ks.champ[a]
	switch {
	case c == nil:
	case ks.span.sliceOf(d) == SliceTrain:
		rs.ChampRow = append(rs.ChampRow, -1)
	default:
		rs.ChampRow = append(rs.ChampRow, int32(len(rs.Champ)/rs.ChampDim))
		cv := make([]float64, c.Len())
		c.ComputeInto(cv, win)
		rs.Champ = append(rs.Champ, cv...)
	}
}

// buildRowSet lays a type's rows (parts in kitchen order) out under its
// Spec and, when champ is set (the champion's Spec differs), computes the
// champion's vectors for the validation and holdout rows, as one pass over
// the windows with both Specs would.
func buildRowSet(parts []*typeRows, spec, champ *features.Spec, span *Span) (*rowSet, error) {
	rs := &rowSet{dim: spec.Len()}
	if champ != nil {
		rs.champDim = champ.Len()
	}
	n := 0
	for _, p := range parts {
		n += p.n()
	}
	rs.x = make([]float64, 0, n*rs.dim)
	for _, p := range parts {
		src := rowSpec(p.Metrics, span.Window)
		dim := src.Len()
		proj := newProjector(src, *spec)
		var cproj projector
		if champ != nil && pickable(*champ, span.Window) {
			cproj = newProjector(src, *champ)
		} else if champ != nil && (p.ChampDim != rs.champDim || len(p.ChampRow) != p.n()) {
			return nil, fmt.Errorf("rows lack the champion's own feature vectors")
		}
		for i := range p.n() {
			x := p.X[i*dim : (i+1)*dim]
			rs.x = proj.appendTo(rs.x, x)
			if champ == nil {
				continue
			}
			if span.sliceOf(int(p.Day[i])) == SliceTrain {
				rs.champRow = append(rs.champRow, -1)
				continue
			}
			rs.champRow = append(rs.champRow, int32(len(rs.champ)/rs.champDim))
			if cproj != nil {
				rs.champ = cproj.appendTo(rs.champ, x)
			} else {
				c := int(p.ChampRow[i])
				rs.champ = append(rs.champ, p.Champ[c*p.ChampDim:(c+1)*p.ChampDim]...)
			}
		}
		rs.day = append(rs.day, p.Day...)
		rs.y = append(rs.y, p.Y...)
		rs.machine = append(rs.machine, p.Machine...)
	}
	return rs, nil
}
