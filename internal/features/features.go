// Package features turns a machine's recent cook records and events into the
// numeric vector the models score. The central trainer and the agent's
// morning decision both call it, so a model is always scored on exactly the
// features it was trained on: the Spec travels inside model.json.
package features

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/budare/budare/internal/record"
)

// DefaultWindowDays is the window length when Spec.WindowDays is 0: "the
// cooking metrics of the last 7 days".
const DefaultWindowDays = 7

// Per-metric statistics, in the order they appear in Names. A feature name is
// "<metric>:<stat>", e.g. "vibration_mm_s:slope".
const (
	StatMean  = "mean"  // level: mean of every value in the window
	StatStd   = "std"   // spread: standard deviation of every value in the window
	StatSlope = "slope" // trend: least-squares slope of the daily means, per day
	StatMin   = "min"   // lowest value in the window
	StatMax   = "max"   // highest value in the window
	StatDelta = "delta" // latest day's mean minus the window mean
)

// Stats lists the per-metric statistics in vector order.
var stats = [...]string{StatMean, StatStd, StatSlope, StatMin, StatMax, StatDelta}

// Window-wide features, after the per-metric ones, in this order.
const (
	FeatCyclesPerDay   = "cycles_per_day"         // cook records per active day
	FeatActiveDays     = "active_days"            // days with at least one cook record
	FeatFailures       = "failures"               // failure events in the window
	FeatFaults         = "faults"                 // fault events in the window
	FeatMaintenance    = "maintenance"            // maintenance events in the window
	FeatDaysSinceMaint = "days_since_maintenance" // days from the last maintenance to D; WindowDays+1 if none in the window
)

var global = [...]string{FeatCyclesPerDay, FeatActiveDays, FeatFailures, FeatFaults, FeatMaintenance, FeatDaysSinceMaint}

// Spec says which features are computed. It is stored in model.json so the
// agent computes exactly what the model was trained on.
type Spec struct {
	// Metrics are the cook metric names summarised, sorted. A metric absent
	// from a window yields NaN features, which models treat as "usual".
	Metrics []string `json:"metrics"`
	// WindowDays is the window length in days (0 means DefaultWindowDays).
	WindowDays int `json:"window_days"`
	// MinDays is how many days of the window must hold cook records for the
	// vector to be trusted (0 means half the window, rounded up).
	MinDays int `json:"min_days,omitempty"`
}

// Days returns the effective window length.
func (s Spec) Days() int {
	if s.WindowDays <= 0 {
		return DefaultWindowDays
	}
	return s.WindowDays
}

// MinActiveDays returns the effective minimum number of days with data.
func (s Spec) MinActiveDays() int {
	if s.MinDays > 0 {
		return min(s.MinDays, s.Days())
	}
	return (s.Days() + 1) / 2
}

// Len is the length of the vectors Compute returns.
func (s Spec) Len() int { return len(s.Metrics)*len(stats) + len(global) }

// Names returns the feature names in vector order.
func (s Spec) Names() []string {
	out := make([]string, 0, s.Len())
	for _, m := range s.Metrics {
		for _, st := range stats {
			out = append(out, m+":"+st)
		}
	}
	return append(out, global[:]...)
}

// Validate reports a Spec that cannot be computed: unsorted or duplicate
// metric names (vector order must not depend on who built the Spec), empty
// names, or a negative window.
func (s Spec) Validate() error {
	if s.WindowDays < 0 || s.WindowDays > 3660 {
		return fmt.Errorf("features: window_days %d out of range", s.WindowDays)
	}
	if s.MinDays < 0 {
		return fmt.Errorf("features: min_days %d is negative", s.MinDays)
	}
	for i, m := range s.Metrics {
		if m == "" || strings.Contains(m, ":") {
			return fmt.Errorf("features: bad metric name %q", m)
		}
		if i > 0 && s.Metrics[i-1] >= m {
			return fmt.Errorf("features: metrics must be sorted and unique (%q before %q)", s.Metrics[i-1], m)
		}
	}
	return nil
}

// Window is what one machine did on the WindowDays days before day D, oldest
// first: Days[i] holds day D-WindowDays+i, i.e. that day's cook records of the
// one arepa type being modelled and all of the machine's events. Compute does
// not filter by arepa type: build windows with Collect, or filter yourself.
type Window struct {
	Days [][]record.Record
}

// Collect builds the window of days [D-windowDays, D-1] ending before day
// (yyyy-mm-dd, local to loc) from recs, keeping cook records of arepa and all
// events. Records outside the window are ignored, so callers may pass more.
func Collect(recs []record.Record, arepa string, day string, windowDays int, loc *time.Location) (Window, error) {
	if windowDays <= 0 {
		windowDays = DefaultWindowDays
	}
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return Window{}, fmt.Errorf("features: day %q: %w", day, err)
	}
	index := make(map[string]int, windowDays)
	for i := range windowDays {
		index[d.AddDate(0, 0, i-windowDays).Format(time.DateOnly)] = i
	}
	w := Window{Days: make([][]record.Record, windowDays)}
	for _, r := range recs {
		if r.Type == record.TypeCook && r.Arepa != arepa {
			continue
		}
		if r.Type != record.TypeCook && r.Type != record.TypeEvent {
			continue
		}
		i, ok := index[record.LocalDay(r.TS, loc)]
		if !ok {
			continue
		}
		w.Days[i] = append(w.Days[i], r)
	}
	return w, nil
}

// Compute returns the feature vector of w, in Names order. ok is false when
// fewer than MinActiveDays days hold cook records: the vector is then not
// trustworthy and the machine's risk is unknown. Days beyond the window length
// (if w.Days is longer than WindowDays) are ignored from the oldest end; a
// shorter w.Days counts as missing oldest days.
func (s Spec) Compute(w Window) (vec []float64, ok bool) {
	vec = make([]float64, s.Len())
	return vec, s.ComputeInto(vec, w)
}

// ComputeInto is Compute writing into vec (len s.Len()), for callers that
// build large matrices without an allocation per row.
func (s Spec) ComputeInto(vec []float64, w Window) (ok bool) {
	n := s.Days()
	days := w.Days
	off := 0 // window position of days[0]
	if len(days) > n {
		days = days[len(days)-n:]
	} else {
		off = n - len(days)
	}
	nm := len(s.Metrics)
	// Running sums per metric over the window and per day.
	// Per metric k, acc[5k:5k+5] holds count, sum, sum of squares, min, max.
	acc := make([]float64, 5*nm)
	for k := range nm {
		acc[5*k+3] = math.Inf(1)
		acc[5*k+4] = math.Inf(-1)
	}
	slope := make([][4]float64, nm) // per metric over days with data: n, sum x, sum y, sum xy
	sxx := make([]float64, nm)
	lastDay := make([]int, nm)
	lastMean := make([]float64, nm)
	for k := range lastDay {
		lastDay[k] = -1
	}
	daySum := make([]float64, nm)
	dayCnt := make([]float64, nm)

	cooks, active := 0, 0
	var failures, faults, maint float64
	lastMaint := -1
	for i, recs := range days {
		x := float64(off + i)
		clear(daySum)
		clear(dayCnt)
		dayCooks := 0
		for ri := range recs {
			r := &recs[ri]
			switch r.Type {
			case record.TypeEvent:
				switch r.Kind {
				case record.KindFailure:
					failures++
				case record.KindFault:
					faults++
				case record.KindMaintenance:
					maint++
					lastMaint = off + i
				}
				continue
			case record.TypeCook:
			default:
				continue
			}
			dayCooks++
			for k, m := range s.Metrics {
				v, has := r.Metrics[m]
				if !has || math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				a := acc[5*k : 5*k+5]
				a[0]++
				a[1] += v
				a[2] += v * v
				a[3] = math.Min(a[3], v)
				a[4] = math.Max(a[4], v)
				daySum[k] += v
				dayCnt[k]++
			}
		}
		if dayCooks > 0 {
			cooks += dayCooks
			active++
		}
		for k := range nm {
			if dayCnt[k] == 0 {
				continue
			}
			y := daySum[k] / dayCnt[k]
			sl := &slope[k]
			sl[0]++
			sl[1] += x
			sl[2] += y
			sl[3] += x * y
			sxx[k] += x * x
			lastDay[k] = off + i
			lastMean[k] = y
		}
	}

	for k := range nm {
		a := acc[5*k : 5*k+5]
		v := vec[k*len(stats) : (k+1)*len(stats)]
		if a[0] == 0 {
			for j := range v {
				v[j] = math.NaN()
			}
			continue
		}
		mean := a[1] / a[0]
		variance := a[2]/a[0] - mean*mean
		if variance < 0 {
			variance = 0
		}
		sl := slope[k]
		b := 0.0
		if sl[0] >= 2 {
			den := sl[0]*sxx[k] - sl[1]*sl[1]
			if den > 0 {
				b = (sl[0]*sl[3] - sl[1]*sl[2]) / den
			}
		}
		v[0] = mean
		v[1] = math.Sqrt(variance)
		v[2] = b
		v[3] = a[3]
		v[4] = a[4]
		v[5] = lastMean[k] - mean
	}
	g := vec[nm*len(stats):]
	if active > 0 {
		g[0] = float64(cooks) / float64(active)
	}
	g[1] = float64(active)
	g[2] = failures
	g[3] = faults
	g[4] = maint
	g[5] = float64(n + 1)
	if lastMaint >= 0 {
		g[5] = float64(n - lastMaint)
	}
	return active >= s.MinActiveDays()
}

// DiscoverMetrics returns the sorted names of every metric present in the
// cook records, with how many records carry each, keeping only metrics seen
// in at least minShare (0..1) of cook records so a metric one odd machine sends
// does not become a feature everyone lacks.
func DiscoverMetrics(recs []record.Record, minShare float64) []string {
	counts := map[string]int{}
	cooks := 0
	for i := range recs {
		if recs[i].Type != record.TypeCook {
			continue
		}
		cooks++
		for m, v := range recs[i].Metrics {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				counts[m]++
			}
		}
	}
	return MetricsFromCounts(counts, cooks, minShare)
}

// MetricsFromCounts is DiscoverMetrics for callers that stream records and
// count metric occurrences themselves (counts[name] = records carrying it).
func MetricsFromCounts(counts map[string]int, cooks int, minShare float64) []string {
	out := make([]string, 0, len(counts))
	for m, c := range counts {
		if m == "" || strings.Contains(m, ":") {
			continue
		}
		if cooks > 0 && float64(c) >= minShare*float64(cooks) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// Describe turns feature i of vec into a short line a kitchen person can read,
// comparing it with ref (the usual value, e.g. the training mean of the same
// feature vector). Examples: "vibration_mm_s trend +38% over 7 days",
// "plate_temp_c level 212.4 (usual 231.0)", "2 faults in the last 7 days".
func (s Spec) Describe(vec, ref []float64, i int) string {
	names := s.Names()
	if i < 0 || i >= len(names) || len(vec) != len(names) {
		return ""
	}
	days := s.Days()
	v := vec[i]
	r := math.NaN()
	if len(ref) == len(names) {
		r = ref[i]
	}
	name := names[i]
	metric, stat, isMetric := strings.Cut(name, ":")
	if !isMetric {
		switch name {
		case FeatCyclesPerDay:
			return fmt.Sprintf("%s cooks per day (usual %s)", num(v), num(r))
		case FeatActiveDays:
			return fmt.Sprintf("cooked on %s of the last %d days", num(v), days)
		case FeatFailures:
			return fmt.Sprintf("%s failures in the last %d days", num(v), days)
		case FeatFaults:
			return fmt.Sprintf("%s faults in the last %d days", num(v), days)
		case FeatMaintenance:
			return fmt.Sprintf("%s maintenance visits in the last %d days", num(v), days)
		case FeatDaysSinceMaint:
			if v > float64(days) {
				return fmt.Sprintf("no maintenance in the last %d days", days)
			}
			return fmt.Sprintf("last maintenance %s days ago", num(v))
		}
		return fmt.Sprintf("%s %s (usual %s)", name, num(v), num(r))
	}
	if math.IsNaN(v) {
		return fmt.Sprintf("%s not reported in the last %d days", metric, days)
	}
	level := vec[i-indexOf(stat)] // the metric's mean sits at the start of its block
	switch stat {
	case StatSlope:
		change := v * float64(days-1)
		if level != 0 {
			return fmt.Sprintf("%s trend %+.0f%% over %d days", metric, 100*change/math.Abs(level), days)
		}
		return fmt.Sprintf("%s trend %+s over %d days", metric, num(change), days)
	case StatMean:
		return fmt.Sprintf("%s level %s (usual %s)", metric, num(v), num(r))
	case StatStd:
		return fmt.Sprintf("%s unsteady: spread %s (usual %s)", metric, num(v), num(r))
	case StatMin:
		return fmt.Sprintf("%s low %s (usual low %s)", metric, num(v), num(r))
	case StatMax:
		return fmt.Sprintf("%s peak %s (usual peak %s)", metric, num(v), num(r))
	case StatDelta:
		return fmt.Sprintf("%s yesterday %s vs %d-day mean %s", metric, num(level+v), days, num(level))
	}
	return fmt.Sprintf("%s %s (usual %s)", name, num(v), num(r))
}

func indexOf(stat string) int {
	for i, s := range stats {
		if s == stat {
			return i
		}
	}
	return 0
}

// num prints a value compactly with up to 3 significant decimals.
func num(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	a := math.Abs(v)
	switch {
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
