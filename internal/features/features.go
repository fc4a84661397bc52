// Package features turns a machine's recent cook records and events into the
// numeric vector the models score. The central trainer and the agent's
// morning decision both call it, so a model is always scored on exactly the
// features it was trained on: the Spec travels inside model.json.
package features

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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

// stats lists the per-metric statistics in vector order.
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

// Feature sets. A Spec's Set says which vector it computes; model.json files
// written before sets existed have no "set" and keep their exact vector.
const (
	Set1 = 1 // per-metric stats, then the window-wide features (also Set 0)
	// Set2 is Set1's vector, then the machine-relative stats2 of every
	// metric, then FeatDaysSinceFault. Kitchens differ per machine and a
	// machine's baseline moves after each repair, so these compare a
	// machine with its own recent noise instead of with the fleet.
	Set2 = 2
)

// Machine-relative per-metric statistics of Set2, scale-free: each divides
// by s_w, the metric's pooled within-day standard deviation over the window
// (sqrt(Σ(sumsq - sum²/n) / Σ(n-1)) over days with data), i.e. the machine's
// own cook-to-cook noise. NaN with fewer than 2 days with data or no day with
// 2 values.
const (
	StatZLast       = "z_last"       // (latest day's mean - mean of the earlier days' means) / s_w
	StatZTrend      = "z_trend"      // slope·(WindowDays-1) / s_w: drift over the window
	StatSpreadRatio = "spread_ratio" // log(within-day sd of the last 2 days with data / of the earlier days)
	StatZPeak       = "z_peak"       // (max - mean) / s_w: spikes
)

// stats2 lists the Set2 per-metric statistics in vector order.
var stats2 = [...]string{StatZLast, StatZTrend, StatSpreadRatio, StatZPeak}

// FeatDaysSinceFault is the last Set2 feature: days from the last fault event
// to D; WindowDays+1 if none in the window.
const FeatDaysSinceFault = "days_since_fault"

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
	// Set is the feature set version: 0 or Set1 for the original vector
	// (the zero value, so older model.json files decode unchanged), Set2 for
	// Set1 plus machine-relative features. See Names for the order.
	Set int `json:"set,omitempty"`
}

// set2 reports whether s computes the Set2 features.
func (s Spec) set2() bool { return s.Set == Set2 }

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
func (s Spec) Len() int {
	n := len(s.Metrics)*len(stats) + len(global)
	if s.set2() {
		n += len(s.Metrics)*len(stats2) + 1
	}
	return n
}

// Names returns the feature names in vector order: for each metric its
// stats ("<metric>:mean" ... "<metric>:delta"), then the window-wide
// features (cycles_per_day ... days_since_maintenance); with Set2 then, for
// each metric, "<metric>:z_last", ":z_trend", ":spread_ratio", ":z_peak",
// then days_since_fault. Set2 only appends, so a Set1 feature has the same
// index in both sets.
func (s Spec) Names() []string {
	out := make([]string, 0, s.Len())
	for _, m := range s.Metrics {
		for _, st := range stats {
			out = append(out, m+":"+st)
		}
	}
	out = append(out, global[:]...)
	if !s.set2() {
		return out
	}
	for _, m := range s.Metrics {
		for _, st := range stats2 {
			out = append(out, m+":"+st)
		}
	}
	return append(out, FeatDaysSinceFault)
}

// Index returns the index of "<metric>:<stat>" in the vector, or -1.
func (s Spec) Index(metric, stat string) int {
	k := slices.Index(s.Metrics, metric)
	if k < 0 {
		return -1
	}
	if j := slices.Index(stats[:], stat); j >= 0 {
		return k*len(stats) + j
	}
	if j := slices.Index(stats2[:], stat); j >= 0 && s.set2() {
		return s.set2Base() + k*len(stats2) + j
	}
	return -1
}

// set2Base is the index of the first Set2 feature.
func (s Spec) set2Base() int { return len(s.Metrics)*len(stats) + len(global) }

// BaselineIndices returns the indices of every metric's mean, std and slope
// features, ascending: the columns of the plain baseline model that every
// richer technique has to beat.
func (s Spec) BaselineIndices() []int {
	out := make([]int, 0, 3*len(s.Metrics))
	for k := range s.Metrics {
		for _, st := range []string{StatMean, StatStd, StatSlope} {
			out = append(out, k*len(stats)+slices.Index(stats[:], st))
		}
	}
	return out
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
	if s.Set < 0 || s.Set > Set2 {
		return fmt.Errorf("features: set %d unknown (want 0, 1 or 2)", s.Set)
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
	// The calendar date only (UTC): a midnight in a DST gap (Havana) would
	// otherwise fall on the day before and shift every index by one.
	d, err := time.Parse(time.DateOnly, day)
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
	if len(days) > n {
		days = days[len(days)-n:]
	}
	st := s.newAggs(len(days))
	for i, recs := range days {
		st.add(i, recs)
	}
	return st.compute(vec, 0, len(days), n)
}

// Series computes the vector of every window along a run of consecutive
// days of one machine and arepa type (days[i] as in Window.Days): for each
// end in 1..len(days), fn gets the vector of the window days[end-W:end]
// (shorter at the start), i.e. the features for the day after days[end-1].
// It gives exactly what Compute gives for each window, but summarises every
// day once, so a trainer can walk a machine's history cheaply. vec is reused
// between calls: copy it to keep it. fn returning false stops the walk.
func (s Spec) Series(days [][]record.Record, fn func(end int, vec []float64, ok bool) bool) {
	s.SeriesAt(days, nil, fn)
}

// SeriesAt is Series for the chosen window ends only (ascending, each in
// 1..len(days); nil means all), for callers that sample a long history.
func (s Spec) SeriesAt(days [][]record.Record, ends []int, fn func(end int, vec []float64, ok bool) bool) {
	n := s.Days()
	st := s.newAggs(len(days))
	for i, recs := range days {
		st.add(i, recs)
	}
	vec := make([]float64, s.Len())
	step := func(end int) bool {
		if end < 1 || end > len(days) {
			return true
		}
		ok := st.compute(vec, max(0, end-n), end, n)
		return fn(end, vec, ok)
	}
	if ends == nil {
		for end := 1; end <= len(days); end++ {
			if !step(end) {
				return
			}
		}
		return
	}
	for _, end := range ends {
		if !step(end) {
			return
		}
	}
}

// Per-day summary layout: for each metric k, 5 values at 5k (count, sum, sum
// of squares, min, max), then the day's cook count, failures, faults and
// maintenance events.
const (
	perMetric = 5
	dayCooks  = 0
	dayFail   = 1
	dayFault  = 2
	dayMaint  = 3
	dayExtra  = 4
)

type aggs struct {
	spec   Spec
	stride int
	days   []float64 // stride values per day
}

func (s Spec) newAggs(days int) *aggs {
	stride := perMetric*len(s.Metrics) + dayExtra
	return &aggs{spec: s, stride: stride, days: make([]float64, stride*days)}
}

// add summarises day i's records.
func (a *aggs) add(i int, recs []record.Record) {
	d := a.days[i*a.stride : (i+1)*a.stride]
	nm := len(a.spec.Metrics)
	for k := range nm {
		d[perMetric*k+3] = math.Inf(1)
		d[perMetric*k+4] = math.Inf(-1)
	}
	extra := d[perMetric*nm:]
	for ri := range recs {
		r := &recs[ri]
		switch r.Type {
		case record.TypeEvent:
			switch r.Kind {
			case record.KindFailure:
				extra[dayFail]++
			case record.KindFault:
				extra[dayFault]++
			case record.KindMaintenance:
				extra[dayMaint]++
			}
			continue
		case record.TypeCook:
		default:
			continue
		}
		extra[dayCooks]++
		for k, m := range a.spec.Metrics {
			v, has := r.Metrics[m]
			if !has || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			c := d[perMetric*k : perMetric*k+perMetric]
			c[0]++
			c[1] += v
			c[2] += v * v
			c[3] = math.Min(c[3], v)
			c[4] = math.Max(c[4], v)
		}
	}
}

// compute writes the vector of the window made of summarised days
// [from, to), which stands for the last to-from of n window days.
func (a *aggs) compute(vec []float64, from, to, n int) bool {
	nm := len(a.spec.Metrics)
	off := n - (to - from) // window position of day `from`
	cooks, active := 0.0, 0
	var failures, faults, maint float64
	lastMaint, lastFault := -1, -1
	for i := from; i < to; i++ {
		extra := a.days[i*a.stride+perMetric*nm : (i+1)*a.stride]
		if extra[dayCooks] > 0 {
			cooks += extra[dayCooks]
			active++
		}
		failures += extra[dayFail]
		faults += extra[dayFault]
		maint += extra[dayMaint]
		if extra[dayMaint] > 0 {
			lastMaint = off + i - from
		}
		if extra[dayFault] > 0 {
			lastFault = off + i - from
		}
	}
	set2 := a.spec.set2()
	for k := range nm {
		var cnt, sum, sumsq float64
		lo, hi := math.Inf(1), math.Inf(-1)
		// Least squares of daily means on window position, over days with data.
		var nd, sx, sy, sxy, sxx, last float64
		for i := from; i < to; i++ {
			c := a.days[i*a.stride+perMetric*k : i*a.stride+perMetric*k+perMetric]
			if c[0] == 0 {
				continue
			}
			cnt += c[0]
			sum += c[1]
			sumsq += c[2]
			lo = math.Min(lo, c[3])
			hi = math.Max(hi, c[4])
			x := float64(off + i - from)
			y := c[1] / c[0]
			nd++
			sx += x
			sy += y
			sxy += x * y
			sxx += x * x
			last = y
		}
		v := vec[k*len(stats) : (k+1)*len(stats)]
		var v2 []float64
		if set2 {
			base := nm*len(stats) + len(global) + k*len(stats2)
			v2 = vec[base : base+len(stats2)]
			for j := range v2 {
				v2[j] = math.NaN()
			}
		}
		if cnt == 0 {
			for j := range v {
				v[j] = math.NaN()
			}
			continue
		}
		mean := sum / cnt
		variance := math.Max(sumsq/cnt-mean*mean, 0)
		b := 0.0
		if den := nd*sxx - sx*sx; nd >= 2 && den > 0 {
			b = (nd*sxy - sx*sy) / den
		}
		v[0] = mean
		v[1] = math.Sqrt(variance)
		v[2] = b
		v[3] = lo
		v[4] = hi
		v[5] = last - mean
		if set2 && nd >= 2 {
			a.relative(v2, k, from, to, mean, hi, last, b, n)
		}
	}
	g := vec[nm*len(stats):]
	g[0] = 0
	if active > 0 {
		g[0] = cooks / float64(active)
	}
	g[1] = float64(active)
	g[2] = failures
	g[3] = faults
	g[4] = maint
	g[5] = float64(n + 1)
	if lastMaint >= 0 {
		g[5] = float64(n - lastMaint)
	}
	if set2 {
		f := &vec[len(vec)-1]
		*f = float64(n + 1)
		if lastFault >= 0 {
			*f = float64(n - lastFault)
		}
	}
	return active >= a.spec.MinActiveDays()
}

// relative writes metric k's Set2 stats (z_last, z_trend, spread_ratio,
// z_peak) into v2 for the summarised days [from, to) of an n-day window,
// given the window's mean, max, latest daily mean and slope of daily means.
// v2 is NaN on entry; entries that cannot be computed stay NaN. The caller
// has checked there are at least 2 days with data.
func (a *aggs) relative(v2 []float64, k, from, to int, mean, hi, last, slope float64, n int) {
	// Within-day sums of squared deviations and their degrees of freedom:
	// over the whole window, over the last 2 days with data, and over the
	// days before those. Daily means of the days before the latest one.
	var ss, df, ssRecent, dfRecent, sumEarlier, daysEarlier float64
	recent := 0
	for i := to - 1; i >= from; i-- {
		c := a.days[i*a.stride+perMetric*k : i*a.stride+perMetric*k+perMetric]
		if c[0] == 0 {
			continue
		}
		// sumsq - sum²/n rounds to slightly below 0 for constant values.
		dev := math.Max(c[2]-c[1]*c[1]/c[0], 0)
		ss += dev
		df += c[0] - 1
		if recent < 2 {
			ssRecent += dev
			dfRecent += c[0] - 1
		}
		if recent > 0 {
			sumEarlier += c[1] / c[0]
			daysEarlier++
		}
		recent++
	}
	if df < 1 {
		// No day with 2 values: the machine's own noise is unknown.
		return
	}
	// A machine whose values never vary within a day would divide by 0;
	// the floor keeps the features finite and scaled to the level.
	floor := 1e-6*math.Abs(mean) + 1e-9
	sw := math.Max(math.Sqrt(ss/df), floor)
	v2[0] = (last - sumEarlier/daysEarlier) / sw
	v2[1] = slope * float64(n-1) / sw
	if dfEarlier := df - dfRecent; dfRecent >= 1 && dfEarlier >= 1 {
		sdRecent := math.Max(math.Sqrt(ssRecent/dfRecent), floor)
		sdEarlier := math.Max(math.Sqrt((ss-ssRecent)/dfEarlier), floor)
		v2[2] = math.Log(sdRecent / sdEarlier)
	}
	v2[3] = (hi - mean) / sw
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
		case FeatDaysSinceFault:
			if v > float64(days) {
				return fmt.Sprintf("no fault in the last %d days", days)
			}
			return fmt.Sprintf("last fault %s days ago", num(v))
		}
		return fmt.Sprintf("%s %s (usual %s)", name, num(v), num(r))
	}
	level := math.NaN()
	if j := s.Index(metric, StatMean); j >= 0 {
		level = vec[j]
	}
	if math.IsNaN(v) {
		if !math.IsNaN(level) {
			// A Set2 stat needs 2 days with data and a day with 2 readings.
			return fmt.Sprintf("%s too few readings to compare with its own noise", metric)
		}
		return fmt.Sprintf("%s not reported in the last %d days", metric, days)
	}
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
	case StatZLast:
		return fmt.Sprintf("%s latest day %+.1f× its own noise from its earlier days", metric, v)
	case StatZTrend:
		return fmt.Sprintf("%s drift %+.1f× its own noise over %d days", metric, v, days)
	case StatSpreadRatio:
		return fmt.Sprintf("%s spread of the last 2 days %s× that of the earlier days", metric, num(math.Exp(v)))
	case StatZPeak:
		return fmt.Sprintf("%s peak %.1f× its own noise above its %d-day mean", metric, v, days)
	}
	return fmt.Sprintf("%s %s (usual %s)", name, num(v), num(r))
}

// Reason describes feature i's metric as a line a kitchen person can check
// on the machine, in the metric's unit, or "" if i is a window-wide feature
// (a count of cooks, days or events says nothing about what is wearing out)
// or the metric was not reported. A spread driver (std, spread_ratio) reads
// "vibration_mm_s spread 0.92, usual 0.31" (the window's std and ref's std);
// every other stat reads "vibration_mm_s 2.9, 7-day mean 1.4" (the latest
// day's mean, then the window mean): the z features are scale-free, so the
// person sees the values they summarise instead.
func (s Spec) Reason(vec, ref []float64, i int) string {
	names := s.Names()
	if i < 0 || i >= len(names) || len(vec) != len(names) {
		return ""
	}
	metric, stat, isMetric := strings.Cut(names[i], ":")
	if !isMetric {
		return ""
	}
	mean, std, delta := s.Index(metric, StatMean), s.Index(metric, StatStd), s.Index(metric, StatDelta)
	if math.IsNaN(vec[mean]) {
		return ""
	}
	if stat == StatStd || stat == StatSpreadRatio {
		usual := math.NaN()
		if len(ref) == len(names) {
			usual = ref[std]
		}
		return fmt.Sprintf("%s spread %s, usual %s", metric, short(vec[std]), short(usual))
	}
	return fmt.Sprintf("%s %s, %d-day mean %s", metric, short(vec[mean]+vec[delta]), s.Days(), short(vec[mean]))
}

// short prints a value in a metric's unit with 3 significant digits and no
// trailing zeros ("2.9", "0.31", "212"), which is as precise as a reading
// on a kitchen display.
func short(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	dec := 0
	if a := math.Abs(v); a > 0 && a < 100 {
		dec = min(2-int(math.Floor(math.Log10(a))), 6)
	}
	out := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	if out == "-0" {
		out = "0"
	}
	return out
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
