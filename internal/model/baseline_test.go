package model

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/budare/budare/internal/features"
)

// withSet returns d with its spec switched to feature set 2 and the extra
// columns filled with noise that predicts nothing, so set-2 fits have
// something to (not) weigh.
func withSet2(d Dataset) Dataset {
	spec := d.Spec
	spec.Set = features.Set2
	out := Dataset{Spec: spec, Y: d.Y}
	for i, r := range d.X {
		x := make([]float64, spec.Len())
		copy(x, r)
		for j := len(r); j < len(x); j++ {
			x[j] = math.Sin(float64(i*31 + j*7))
		}
		out.X = append(out.X, x)
	}
	return out
}

func TestBaselineUsesOnlyMeanStdSlope(t *testing.T) {
	for _, d := range []Dataset{synthetic(400, 3), withSet2(synthetic(400, 3))} {
		t.Run(d.Spec.Names()[len(d.Spec.Names())-1], func(t *testing.T) {
			m, err := BaselineTechnique{}.Fit(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if m.Technique != TechBaseline || m.Logistic == nil || m.Gaussian != nil || m.Boosted != nil {
				t.Fatalf("technique %q, blocks %v %v %v", m.Technique, m.Logistic != nil, m.Gaussian != nil, m.Boosted != nil)
			}
			base := d.Spec.BaselineIndices()
			names := d.Spec.Names()
			for j, w := range m.Logistic.Weights {
				if in := slices.Contains(base, j); !in && w != 0 {
					t.Errorf("weight on %s is %v, want exactly 0", names[j], w)
				}
			}
			// The label depends on a:mean and a:slope, so those must be used.
			if m.Logistic.Weights[0] <= 0 || m.Logistic.Weights[2] <= 0 {
				t.Errorf("a:mean/a:slope weights %v %v, want > 0", m.Logistic.Weights[0], m.Logistic.Weights[2])
			}
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"technique": "baseline"`) {
				t.Errorf("model.json does not say technique baseline")
			}
			m2, err := Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if m2.Technique != TechBaseline || m2.Features.Set != d.Spec.Set {
				t.Errorf("round trip: technique %q set %d", m2.Technique, m2.Features.Set)
			}
			for i, x := range d.X[:50] {
				if a, b := m.Score(x), m2.Score(x); a != b {
					t.Fatalf("row %d: score %v after round trip, %v before", i, b, a)
				}
			}
			// A "baseline" that weighs another feature is not the baseline.
			m2.Logistic.Weights[3] = 0.5 // a:min
			if err := m2.Validate(); err == nil {
				t.Error("baseline with a weight on a:min validated")
			}
			m2.Technique = TechLogistic
			if err := m2.Validate(); err != nil {
				t.Errorf("the same weights as a logistic model: %v", err)
			}
		})
	}
}

// The baseline is listed first so Select's margin gives it near-ties.
func TestTechniquesBaselineFirst(t *testing.T) {
	var got []string
	for _, tech := range Techniques() {
		got = append(got, tech.Name())
		if TechniqueByName(tech.Name()) == nil {
			t.Errorf("TechniqueByName(%q) = nil", tech.Name())
		}
	}
	if want := []string{TechBaseline, TechLogistic, TechGaussian, TechBoosted}; !slices.Equal(got, want) {
		t.Errorf("Techniques() = %v, want %v", got, want)
	}
}

func TestBaselineNoMetrics(t *testing.T) {
	d := Dataset{Spec: features.Spec{WindowDays: 7}}
	for i := range 20 {
		x := make([]float64, d.Spec.Len())
		x[0] = float64(i)
		d.X = append(d.X, x)
		d.Y = append(d.Y, i%4 == 0)
	}
	m, err := BaselineTechnique{}.Fit(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	// Only the base rate: every row scores 1/4.
	if s := m.Score(d.X[3]); math.Abs(s-0.25) > 1e-3 || slices.ContainsFunc(m.Logistic.Weights, func(w float64) bool { return w != 0 }) {
		t.Errorf("score %v, weights %v; want the base rate and no weights", s, m.Logistic.Weights)
	}
}
