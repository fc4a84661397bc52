package model

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/budare/budare/internal/features"
)

// reasonModel is a hand-made set-2 logistic model on metrics plate_temp_c
// and vibration_mm_s with Mean 0, Scale 1 and the given weights, so a
// feature's contribution is weight·value.
func reasonModel(t *testing.T, weights map[string]float64) *Model {
	t.Helper()
	spec := features.Spec{Metrics: []string{"plate_temp_c", "vibration_mm_s"}, WindowDays: 7, Set: features.Set2}
	names := spec.Names()
	m := &Model{V: Version, Technique: TechLogistic, Features: spec, Threshold: 0.5,
		Mean: make([]float64, len(names)), Scale: make([]float64, len(names)),
		Logistic: &Logistic{Weights: make([]float64, len(names))}}
	for i := range names {
		m.Scale[i] = 1
	}
	for name, w := range weights {
		i := slices.Index(names, name)
		if i < 0 {
			t.Fatalf("no feature %s", name)
		}
		m.Logistic.Weights[i] = w
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func vector(t *testing.T, m *Model, values map[string]float64) []float64 {
	t.Helper()
	names := m.Features.Names()
	vec := make([]float64, len(names))
	for name, v := range values {
		i := slices.Index(names, name)
		if i < 0 {
			t.Fatalf("no feature %s", name)
		}
		vec[i] = v
	}
	return vec
}

func TestReasonsNameMetrics(t *testing.T) {
	// Every window-wide feature pushes hard in every case: none may show.
	globals := map[string]float64{
		features.FeatFaults: 5, features.FeatFailures: 5, features.FeatActiveDays: 5, features.FeatCyclesPerDay: 5,
		features.FeatMaintenance: 5, features.FeatDaysSinceMaint: 5, features.FeatDaysSinceFault: 5,
	}
	gvals := map[string]float64{
		features.FeatFaults: 0, features.FeatFailures: 3, features.FeatActiveDays: 3, features.FeatCyclesPerDay: 12,
		features.FeatMaintenance: 1, features.FeatDaysSinceMaint: 2, features.FeatDaysSinceFault: 8,
	}
	tests := []struct {
		name    string
		weights map[string]float64
		values  map[string]float64
		n       int
		want    []string
	}{
		{
			name:    "z_last driver reads latest day vs window mean",
			weights: map[string]float64{"vibration_mm_s:z_last": 1},
			values:  map[string]float64{"vibration_mm_s:mean": 1.4, "vibration_mm_s:delta": 1.5, "vibration_mm_s:z_last": 3},
			n:       3,
			want:    []string{"vibration_mm_s 2.9, 7-day mean 1.4"},
		},
		{
			name:    "spread driver reads spread vs usual",
			weights: map[string]float64{"vibration_mm_s:spread_ratio": 1},
			values:  map[string]float64{"vibration_mm_s:mean": 1.4, "vibration_mm_s:std": 0.92, "vibration_mm_s:spread_ratio": 0.8},
			n:       3,
			want:    []string{"vibration_mm_s spread 0.92, usual 0"},
		},
		{
			name:    "strongest metric first, one line each, at most n",
			weights: map[string]float64{"vibration_mm_s:slope": 1, "vibration_mm_s:max": 1, "plate_temp_c:mean": 1},
			values: map[string]float64{"vibration_mm_s:mean": 2, "vibration_mm_s:slope": 0.5, "vibration_mm_s:max": 4,
				"plate_temp_c:mean": 3, "plate_temp_c:delta": -1},
			n:    3,
			want: []string{"vibration_mm_s 2, 7-day mean 2", "plate_temp_c 2, 7-day mean 3"},
		},
		{
			name:    "n cuts the list",
			weights: map[string]float64{"vibration_mm_s:slope": 1, "plate_temp_c:mean": 1},
			values:  map[string]float64{"vibration_mm_s:mean": 2, "vibration_mm_s:slope": 0.5, "plate_temp_c:mean": 3},
			n:       1,
			want:    []string{"plate_temp_c 3, 7-day mean 3"},
		},
		{
			name:    "a metric whose other stats pull the risk down more is no reason",
			weights: map[string]float64{"vibration_mm_s:mean": 1, "vibration_mm_s:min": 2},
			values:  map[string]float64{"vibration_mm_s:mean": 1, "vibration_mm_s:min": -1},
			n:       3,
			want:    nil,
		},
		{
			name:    "only window-wide features push: no reasons",
			weights: map[string]float64{},
			values:  map[string]float64{"vibration_mm_s:mean": 1},
			n:       3,
			want:    nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := map[string]float64{}
			for k, v := range globals {
				w[k] = v
			}
			for k, v := range tc.weights {
				w[k] = v
			}
			vals := map[string]float64{}
			for k, v := range gvals {
				vals[k] = v
			}
			for k, v := range tc.values {
				vals[k] = v
			}
			m := reasonModel(t, w)
			got := m.Reasons(vector(t, m, vals), tc.n)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Reasons = %q, want %q", got, tc.want)
			}
			for _, line := range got {
				for _, bad := range []string{"fault", "failure", "cook", "maintenance", "days"} {
					if strings.Contains(line, bad) {
						t.Errorf("reason %q names a window-wide feature (%s)", line, bad)
					}
				}
			}
		})
	}
}

// A metric that was not reported is not a reason even when the technique
// gives its (missing) features a push: the Gaussian's distance from a
// centre away from 0 does.
func TestReasonsSkipUnreportedMetric(t *testing.T) {
	m := reasonModel(t, nil)
	d := m.Dim()
	g := &Gaussian{Center: make([]float64, d), Precision: make([]float64, d*d), CalibA: 1}
	for i := range d {
		g.Precision[i*d+i] = 1
	}
	names := m.Features.Names()
	for i, n := range names {
		if strings.HasPrefix(n, "plate_temp_c:") {
			g.Center[i] = -2 // NaN scores as z = 0: distance 2 from here
		}
	}
	m.Technique, m.Logistic, m.Gaussian = TechGaussian, nil, g
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	vec := make([]float64, d)
	for i, n := range names {
		if strings.HasPrefix(n, "plate_temp_c:") {
			vec[i] = math.NaN()
		}
	}
	vec[slices.Index(names, "vibration_mm_s:mean")] = 1.5
	c := m.Contributions(vec)
	if c[slices.Index(names, "plate_temp_c:mean")] <= 0 {
		t.Fatal("the fixture no longer gives the unreported metric a push")
	}
	got := m.Reasons(vec, 3)
	if want := []string{"vibration_mm_s 1.5, 7-day mean 1.5"}; !slices.Equal(got, want) {
		t.Errorf("Reasons = %q, want %q", got, want)
	}
}
