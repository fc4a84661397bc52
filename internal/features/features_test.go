package features

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func cook(day int, arepa string, m map[string]float64) record.Record {
	return record.Record{Machine: "m-01", Type: record.TypeCook, TS: t0.AddDate(0, 0, day), Arepa: arepa, Metrics: m}
}

func event(day int, kind string) record.Record {
	return record.Record{Machine: "m-01", Type: record.TypeEvent, TS: t0.AddDate(0, 0, day), Kind: kind}
}

// days builds a Window of n days from per-day records.
func days(n int, byDay map[int][]record.Record) Window {
	w := Window{Days: make([][]record.Record, n)}
	for i := range n {
		w.Days[i] = byDay[i]
	}
	return w
}

func feature(t *testing.T, s Spec, vec []float64, name string) float64 {
	t.Helper()
	i := slices.Index(s.Names(), name)
	if i < 0 {
		t.Fatalf("no feature %q in %v", name, s.Names())
	}
	return vec[i]
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestCompute(t *testing.T) {
	spec := Spec{Metrics: []string{"temp", "vib"}, WindowDays: 4, MinDays: 2}
	tests := []struct {
		name   string
		w      Window
		ok     bool
		expect map[string]float64 // NaN means the feature must be NaN
	}{
		{
			name: "rising vibration, steady temperature",
			w: days(4, map[int][]record.Record{
				0: {cook(0, "a", map[string]float64{"temp": 200, "vib": 1})},
				1: {cook(1, "a", map[string]float64{"temp": 200, "vib": 2}), cook(1, "a", map[string]float64{"temp": 200, "vib": 2})},
				2: {cook(2, "a", map[string]float64{"temp": 200, "vib": 3})},
				3: {cook(3, "a", map[string]float64{"temp": 200, "vib": 4})},
			}),
			ok: true,
			expect: map[string]float64{
				"vib:mean": 2.4, "vib:slope": 1, "vib:min": 1, "vib:max": 4, "vib:delta": 4 - 2.4,
				"vib:std":   math.Sqrt((1.4*1.4 + 0.4*0.4*2 + 0.6*0.6 + 1.6*1.6) / 5),
				"temp:mean": 200, "temp:std": 0, "temp:slope": 0,
				"cycles_per_day": 5.0 / 4, "active_days": 4, "failures": 0, "days_since_maintenance": 5,
			},
		},
		{
			name: "missing days: slope uses day positions, not record order",
			w: days(4, map[int][]record.Record{
				0: {cook(0, "a", map[string]float64{"vib": 1})},
				3: {cook(3, "a", map[string]float64{"vib": 7})},
			}),
			ok:     true,
			expect: map[string]float64{"vib:slope": 2, "active_days": 2, "temp:mean": math.NaN(), "temp:slope": math.NaN()},
		},
		{
			name: "events counted, days since maintenance",
			w: days(4, map[int][]record.Record{
				0: {cook(0, "a", map[string]float64{"vib": 1}), event(0, record.KindFault)},
				1: {event(1, record.KindMaintenance), event(1, record.KindFailure)},
				2: {cook(2, "a", map[string]float64{"vib": 1}), event(2, record.KindFault)},
			}),
			ok:     true,
			expect: map[string]float64{"faults": 2, "failures": 1, "maintenance": 1, "days_since_maintenance": 3, "active_days": 2},
		},
		{
			name:   "too few days with data",
			w:      days(4, map[int][]record.Record{3: {cook(3, "a", map[string]float64{"vib": 1})}}),
			ok:     false,
			expect: map[string]float64{"vib:slope": 0, "vib:delta": 0, "active_days": 1},
		},
		{
			name:   "empty window",
			w:      Window{},
			ok:     false,
			expect: map[string]float64{"vib:mean": math.NaN(), "active_days": 0, "cycles_per_day": 0},
		},
		{
			name: "short window counts as missing oldest days",
			w: Window{Days: [][]record.Record{
				{cook(2, "a", map[string]float64{"vib": 1})},
				{cook(3, "a", map[string]float64{"vib": 2})},
			}},
			ok:     true,
			expect: map[string]float64{"vib:slope": 1, "active_days": 2},
		},
		{
			name: "NaN and Inf metric values are ignored",
			w: days(4, map[int][]record.Record{
				0: {cook(0, "a", map[string]float64{"vib": math.NaN()})},
				1: {cook(1, "a", map[string]float64{"vib": 3})},
				2: {cook(2, "a", map[string]float64{"vib": math.Inf(1)})},
			}),
			ok:     true,
			expect: map[string]float64{"vib:mean": 3, "vib:max": 3, "active_days": 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vec, ok := spec.Compute(tc.w)
			if ok != tc.ok {
				t.Errorf("ok = %v, want %v", ok, tc.ok)
			}
			if len(vec) != spec.Len() || len(spec.Names()) != spec.Len() {
				t.Fatalf("len(vec) = %d, Len() = %d, names %d", len(vec), spec.Len(), len(spec.Names()))
			}
			for name, want := range tc.expect {
				got := feature(t, spec, vec, name)
				if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && !near(got, want)) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// A record outside the window (the day D itself, or later) must not change
// the vector: Collect drops it, so a future failure cannot leak into the
// features that are meant to predict it.
func TestCollectNoLeakage(t *testing.T) {
	spec := Spec{Metrics: []string{"vib"}, WindowDays: 3}
	base := []record.Record{
		cook(0, "a", map[string]float64{"vib": 1}),
		cook(1, "a", map[string]float64{"vib": 2}),
		cook(2, "a", map[string]float64{"vib": 3}),
	}
	// Day D is t0+3: the window is t0..t0+2.
	day := t0.AddDate(0, 0, 3).Format(time.DateOnly)
	w, err := Collect(base, "a", day, spec.WindowDays, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := spec.Compute(w)
	for _, extra := range []record.Record{
		cook(3, "a", map[string]float64{"vib": 100}),  // day D
		cook(10, "a", map[string]float64{"vib": 100}), // future
		cook(-1, "a", map[string]float64{"vib": 100}), // before the window
		event(3, record.KindFailure),                  // the failure being predicted
		cook(1, "b", map[string]float64{"vib": 100}),  // another arepa type
	} {
		w, err := Collect(append(slices.Clone(base), extra), "a", day, spec.WindowDays, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := spec.Compute(w)
		if !slices.Equal(got, want) {
			t.Errorf("record %+v changed the vector: %v, want %v", extra, got, want)
		}
	}
	// And a record inside the window does change it (the test can fail).
	w, _ = Collect(append(slices.Clone(base), event(2, record.KindFault)), "a", day, spec.WindowDays, time.UTC)
	if got, _ := spec.Compute(w); slices.Equal(got, want) {
		t.Error("a fault inside the window did not change the vector")
	}
}

func TestCollectTimeZone(t *testing.T) {
	loc := time.FixedZone("VET", -4*3600)
	// 02:00 UTC on the 23rd is 22:00 on the 22nd in Caracas.
	r := cook(0, "a", map[string]float64{"vib": 1})
	r.TS = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	w, err := Collect([]record.Record{r}, "a", "2026-11-23", 1, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Days[0]) != 1 {
		t.Errorf("record at 22:00 local on the 22nd not in the window before the 23rd")
	}
	if _, err := Collect(nil, "a", "23/11/2026", 7, loc); err == nil {
		t.Error("bad day accepted")
	}
}

// Series must give exactly what Compute gives for every window.
func TestSeriesEqualsCompute(t *testing.T) {
	for _, set := range []int{0, Set1, Set2} {
		t.Run(fmt.Sprint("set", set), func(t *testing.T) {
			seriesEqualsCompute(t, Spec{Metrics: []string{"temp", "vib"}, WindowDays: 5, MinDays: 2, Set: set})
		})
	}
}

func seriesEqualsCompute(t *testing.T, spec Spec) {
	t.Helper()
	var all [][]record.Record
	for d := range 17 {
		var recs []record.Record
		for c := range d % 4 {
			recs = append(recs, cook(d, "a", map[string]float64{"temp": 200 + float64(d*c), "vib": math.Sin(float64(d + c))}))
		}
		if d%6 == 0 {
			recs = append(recs, event(d, record.KindMaintenance))
		}
		if d%5 == 1 {
			recs = append(recs, event(d, record.KindFault))
		}
		all = append(all, recs)
	}
	calls := 0
	spec.Series(all, func(end int, vec []float64, ok bool) bool {
		calls++
		want, wantOK := spec.Compute(Window{Days: all[max(0, end-spec.WindowDays):end]})
		if ok != wantOK || !equalNaN(vec, want) {
			t.Errorf("end %d: Series %v %v, Compute %v %v", end, vec, ok, want, wantOK)
		}
		return true
	})
	if calls != len(all) {
		t.Errorf("Series made %d calls, want %d", calls, len(all))
	}
	var got []int
	spec.SeriesAt(all, []int{3, 9, 99}, func(end int, _ []float64, _ bool) bool {
		got = append(got, end)
		return true
	})
	if !slices.Equal(got, []int{3, 9}) {
		t.Errorf("SeriesAt visited %v, want [3 9]", got)
	}
}

func equalNaN(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) })
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec Spec
		ok   bool
	}{
		{Spec{Metrics: []string{"a", "b"}}, true},
		{Spec{Metrics: []string{"b", "a"}}, false},
		{Spec{Metrics: []string{"a", "a"}}, false},
		{Spec{Metrics: []string{"a:b"}}, false},
		{Spec{Metrics: []string{""}}, false},
		{Spec{WindowDays: -1}, false},
		{Spec{MinDays: -1}, false},
		{Spec{Set: 1}, true},
		{Spec{Set: 2}, true},
		{Spec{Set: -1}, false},
		{Spec{Set: 3}, false},
	}
	for _, tc := range tests {
		if err := tc.spec.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v, want ok=%v", tc.spec, err, tc.ok)
		}
	}
	if (Spec{}).Days() != DefaultWindowDays || (Spec{WindowDays: 7}).MinActiveDays() != 4 {
		t.Error("defaults changed")
	}
}

func TestDiscoverMetrics(t *testing.T) {
	recs := []record.Record{
		cook(0, "a", map[string]float64{"z": 1, "a": 2}),
		cook(0, "a", map[string]float64{"z": 1, "a": 2, "odd": 3}),
		cook(0, "a", map[string]float64{"z": 1, "a": math.NaN()}),
		event(0, record.KindFault),
	}
	if got := DiscoverMetrics(recs, 0.5); !slices.Equal(got, []string{"a", "z"}) {
		t.Errorf("DiscoverMetrics = %v, want [a z]", got)
	}
	if got := DiscoverMetrics(recs, 0); !slices.Equal(got, []string{"a", "odd", "z"}) {
		t.Errorf("DiscoverMetrics(0) = %v, want [a odd z]", got)
	}
}

func TestDescribe(t *testing.T) {
	spec := Spec{Metrics: []string{"vibration_mm_s"}, WindowDays: 7}
	vec := make([]float64, spec.Len())
	ref := make([]float64, spec.Len())
	names := spec.Names()
	set := func(v []float64, name string, x float64) { v[slices.Index(names, name)] = x }
	set(vec, "vibration_mm_s:mean", 2)
	set(vec, "vibration_mm_s:slope", 2*0.38/6) // +38% of the level over 7 days
	set(vec, "faults", 2)
	set(ref, "vibration_mm_s:mean", 1.5)
	tests := map[string]string{
		"vibration_mm_s:slope":   "vibration_mm_s trend +38% over 7 days",
		"vibration_mm_s:mean":    "vibration_mm_s level 2 (usual 1.50)",
		"faults":                 "2 faults in the last 7 days",
		"days_since_maintenance": "last maintenance 0 days ago",
	}
	for name, want := range tests {
		if got := spec.Describe(vec, ref, slices.Index(names, name)); got != want {
			t.Errorf("Describe(%s) = %q, want %q", name, got, want)
		}
	}
	for i := range names {
		if s := spec.Describe(vec, ref, i); s == "" || strings.Contains(s, "%!") {
			t.Errorf("Describe(%s) = %q", names[i], s)
		}
	}
	// Set 2: every name is described, NaN z features included.
	s2 := spec
	s2.Set = Set2
	names2 := s2.Names()
	vec2 := make([]float64, s2.Len())
	copy(vec2, vec)
	vec2[slices.Index(names2, "vibration_mm_s:z_trend")] = 2.5
	vec2[slices.Index(names2, "vibration_mm_s:spread_ratio")] = math.NaN()
	vec2[slices.Index(names2, FeatDaysSinceFault)] = 8
	for i := range names2 {
		if s := s2.Describe(vec2, nil, i); s == "" || strings.Contains(s, "%!") {
			t.Errorf("set 2: Describe(%s) = %q", names2[i], s)
		}
	}
	tests2 := map[string]string{
		"vibration_mm_s:z_trend":      "vibration_mm_s drift +2.5× its own noise over 7 days",
		"vibration_mm_s:spread_ratio": "vibration_mm_s too few readings to compare with its own noise",
		FeatDaysSinceFault:            "no fault in the last 7 days",
		"vibration_mm_s:slope":        "vibration_mm_s trend +38% over 7 days",
	}
	for name, want := range tests2 {
		if got := s2.Describe(vec2, nil, slices.Index(names2, name)); got != want {
			t.Errorf("set 2: Describe(%s) = %q, want %q", name, got, want)
		}
	}
	if spec.Describe(vec, ref, -1) != "" || spec.Describe(vec[:1], ref, 0) != "" {
		t.Error("Describe accepted a bad index or vector")
	}
}

// vals builds one day's cook records of metric vib with these values.
func vals(day int, vs ...float64) []record.Record {
	out := make([]record.Record, len(vs))
	for i, v := range vs {
		out[i] = cook(day, "a", map[string]float64{"vib": v})
	}
	return out
}

// TestComputeSet2 checks the machine-relative features against values
// worked out by hand in the comments.
func TestComputeSet2(t *testing.T) {
	spec := Spec{Metrics: []string{"temp", "vib"}, WindowDays: 4, MinDays: 1, Set: Set2}
	nan := math.NaN()
	tests := []struct {
		name   string
		w      Window
		expect map[string]float64 // NaN means the feature must be NaN
	}{
		{
			// Daily means 2, 3, 4, 6; within-day squared deviations 2, 2, 2,
			// 8 on 1 degree of freedom each: s_w = sqrt(14/4). Slope of the
			// daily means on days 0..3 is 6.5/5 = 1.3. Window mean 30/8.
			name: "rising level and spread, fault on day 1",
			w: days(4, map[int][]record.Record{
				0: vals(0, 1, 3),
				1: append(vals(1, 2, 4), event(1, record.KindFault)),
				2: vals(2, 3, 5),
				3: vals(3, 4, 8),
			}),
			expect: map[string]float64{
				"vib:z_last":       (6 - 3) / math.Sqrt(3.5),
				"vib:z_trend":      1.3 * 3 / math.Sqrt(3.5),
				"vib:spread_ratio": math.Log(math.Sqrt(10.0/2) / math.Sqrt(4.0/2)),
				"vib:z_peak":       (8 - 30.0/8) / math.Sqrt(3.5),
				"vib:slope":        1.3,
				"temp:z_last":      nan, "temp:z_trend": nan, "temp:spread_ratio": nan, "temp:z_peak": nan,
				"days_since_fault": 3, "faults": 1, "days_since_maintenance": 5,
			},
		},
		{
			// Only 2 days with data: no earlier days for the spread ratio.
			// s_w = sqrt((2+2)/2); daily means 2 and 4 on days 2 and 3.
			name: "two days with data",
			w: days(4, map[int][]record.Record{
				2: vals(2, 1, 3),
				3: append(vals(3, 3, 5), event(3, record.KindFault)),
			}),
			expect: map[string]float64{
				"vib:z_last":       2 / math.Sqrt2,
				"vib:z_trend":      2 * 3 / math.Sqrt2,
				"vib:spread_ratio": nan,
				"vib:z_peak":       (5 - 3) / math.Sqrt2,
				"days_since_fault": 1,
			},
		},
		{
			name: "one value per day: own noise unknown",
			w: days(4, map[int][]record.Record{
				0: vals(0, 1), 1: vals(1, 2), 2: vals(2, 3), 3: vals(3, 9),
			}),
			expect: map[string]float64{
				"vib:z_last": nan, "vib:z_trend": nan, "vib:spread_ratio": nan, "vib:z_peak": nan,
				"vib:mean": 15.0 / 4, "days_since_fault": 5,
			},
		},
		{
			name: "one day with data",
			w:    days(4, map[int][]record.Record{3: vals(3, 1, 3)}),
			expect: map[string]float64{
				"vib:z_last": nan, "vib:z_trend": nan, "vib:spread_ratio": nan, "vib:z_peak": nan, "vib:mean": 2,
			},
		},
		{
			// No within-day variation: s_w is the floor 1e-6·|mean|+1e-9,
			// and both spreads are floored alike, so their log ratio is 0.
			name: "constant within days",
			w: days(4, map[int][]record.Record{
				0: vals(0, 5, 5), 1: vals(1, 5, 5), 2: vals(2, 6, 6),
			}),
			expect: map[string]float64{
				"vib:z_last":       1 / (1e-6*16.0/3 + 1e-9),
				"vib:spread_ratio": 0,
				"vib:z_peak":       (6 - 16.0/3) / (1e-6*16.0/3 + 1e-9),
			},
		},
	}
	set1 := spec
	set1.Set = 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vec, _ := spec.Compute(tc.w)
			if len(vec) != spec.Len() || len(spec.Names()) != spec.Len() {
				t.Fatalf("len(vec) = %d, Len() = %d, names %d", len(vec), spec.Len(), len(spec.Names()))
			}
			for name, want := range tc.expect {
				got := feature(t, spec, vec, name)
				if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want))) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			// Set 2 starts with exactly the set-1 vector.
			old, _ := set1.Compute(tc.w)
			if !equalNaN(vec[:len(old)], old) {
				t.Errorf("set-2 prefix %v differs from the set-1 vector %v", vec[:len(old)], old)
			}
		})
	}
}

// Set 0 and Set 1 are today's vector exactly; Set 2 only appends, so a
// set-1 feature keeps its index.
func TestSetNames(t *testing.T) {
	s0 := Spec{Metrics: []string{"temp", "vib"}}
	s1, s2 := s0, s0
	s1.Set, s2.Set = Set1, Set2
	want0 := []string{
		"temp:mean", "temp:std", "temp:slope", "temp:min", "temp:max", "temp:delta",
		"vib:mean", "vib:std", "vib:slope", "vib:min", "vib:max", "vib:delta",
		"cycles_per_day", "active_days", "failures", "faults", "maintenance", "days_since_maintenance",
	}
	want2 := append(slices.Clone(want0),
		"temp:z_last", "temp:z_trend", "temp:spread_ratio", "temp:z_peak",
		"vib:z_last", "vib:z_trend", "vib:spread_ratio", "vib:z_peak",
		"days_since_fault")
	tests := []struct {
		spec Spec
		want []string
	}{{s0, want0}, {s1, want0}, {s2, want2}}
	for _, tc := range tests {
		if got := tc.spec.Names(); !slices.Equal(got, tc.want) || tc.spec.Len() != len(tc.want) {
			t.Errorf("set %d: Names %v (Len %d), want %v", tc.spec.Set, got, tc.spec.Len(), tc.want)
		}
		for i, name := range tc.want {
			metric, stat, ok := strings.Cut(name, ":")
			if ok && tc.spec.Index(metric, stat) != i {
				t.Errorf("set %d: Index(%s) = %d, want %d", tc.spec.Set, name, tc.spec.Index(metric, stat), i)
			}
		}
	}
	if s1.Index("vib", StatZLast) != -1 || s2.Index("nope", StatMean) != -1 {
		t.Error("Index found a feature the spec does not have")
	}
	// Older model.json files have no "set": writing set 0 must not add one.
	b, err := json.Marshal(s0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "set") {
		t.Errorf("set 0 marshals as %s", b)
	}
}

func TestBaselineIndices(t *testing.T) {
	for _, set := range []int{0, Set2} {
		s := Spec{Metrics: []string{"a", "b"}, Set: set}
		got := s.BaselineIndices()
		if !slices.Equal(got, []int{0, 1, 2, 6, 7, 8}) {
			t.Errorf("set %d: BaselineIndices = %v", set, got)
		}
		names := s.Names()
		var want []string
		for _, i := range got {
			want = append(want, names[i])
		}
		if !slices.Equal(want, []string{"a:mean", "a:std", "a:slope", "b:mean", "b:std", "b:slope"}) {
			t.Errorf("set %d: baseline features %v", set, want)
		}
	}
	if got := (Spec{}).BaselineIndices(); len(got) != 0 {
		t.Errorf("no metrics: BaselineIndices = %v", got)
	}
}

func TestReason(t *testing.T) {
	spec := Spec{Metrics: []string{"plate_temp_c", "vibration_mm_s"}, WindowDays: 7, Set: Set2}
	names := spec.Names()
	vec := make([]float64, spec.Len())
	ref := make([]float64, spec.Len())
	set := func(v []float64, name string, x float64) {
		t.Helper()
		i := slices.Index(names, name)
		if i < 0 {
			t.Fatalf("no feature %s", name)
		}
		v[i] = x
	}
	set(vec, "vibration_mm_s:mean", 1.4)
	set(vec, "vibration_mm_s:delta", 1.5)
	set(vec, "vibration_mm_s:std", 0.92)
	set(ref, "vibration_mm_s:std", 0.31)
	set(vec, "plate_temp_c:mean", math.NaN())
	tests := map[string]string{
		"vibration_mm_s:mean":         "vibration_mm_s 2.9, 7-day mean 1.4",
		"vibration_mm_s:slope":        "vibration_mm_s 2.9, 7-day mean 1.4",
		"vibration_mm_s:z_last":       "vibration_mm_s 2.9, 7-day mean 1.4",
		"vibration_mm_s:z_peak":       "vibration_mm_s 2.9, 7-day mean 1.4",
		"vibration_mm_s:std":          "vibration_mm_s spread 0.92, usual 0.31",
		"vibration_mm_s:spread_ratio": "vibration_mm_s spread 0.92, usual 0.31",
		"plate_temp_c:mean":           "", // not reported
		"plate_temp_c:z_trend":        "",
		FeatFaults:                    "", // never a window-wide feature
		FeatActiveDays:                "",
		FeatDaysSinceFault:            "",
		FeatDaysSinceMaint:            "",
	}
	for name, want := range tests {
		if got := spec.Reason(vec, ref, slices.Index(names, name)); got != want {
			t.Errorf("Reason(%s) = %q, want %q", name, got, want)
		}
	}
	if spec.Reason(vec, ref, -1) != "" || spec.Reason(vec[:3], ref, 0) != "" {
		t.Error("Reason accepted a bad index or vector")
	}
}

func TestShort(t *testing.T) {
	tests := map[float64]string{
		2.9: "2.9", 1.4: "1.4", 0.92: "0.92", 212.4: "212", 1234.5: "1234", 23.46: "23.5",
		0.0001234: "0.000123", 0: "0", -1.25: "-1.25", -0.0000001: "0", 3: "3",
	}
	for v, want := range tests {
		if got := short(v); got != want {
			t.Errorf("short(%v) = %q, want %q", v, got, want)
		}
	}
	if short(math.NaN()) != "?" {
		t.Error("short(NaN) is not ?")
	}
}
