package features

import (
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
	spec := Spec{Metrics: []string{"temp", "vib"}, WindowDays: 5, MinDays: 2}
	var all [][]record.Record
	for d := range 17 {
		var recs []record.Record
		for c := range d % 4 {
			recs = append(recs, cook(d, "a", map[string]float64{"temp": 200 + float64(d*c), "vib": math.Sin(float64(d + c))}))
		}
		if d%6 == 0 {
			recs = append(recs, event(d, record.KindMaintenance))
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
	if spec.Describe(vec, ref, -1) != "" || spec.Describe(vec[:1], ref, 0) != "" {
		t.Error("Describe accepted a bad index or vector")
	}
}
