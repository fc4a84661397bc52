package model

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/budare/budare/internal/features"
)

// synthetic returns a dataset whose label depends on the first metric's
// mean and slope features, with noise features around.
func synthetic(n int, seed uint64) Dataset {
	spec := features.Spec{Metrics: []string{"a", "b"}, WindowDays: 7}
	rng := rand.New(rand.NewPCG(seed, 1))
	d := Dataset{Spec: spec}
	for range n {
		x := make([]float64, spec.Len())
		for j := range x {
			x[j] = rng.NormFloat64()
		}
		y := rng.Float64() < 0.3
		if y {
			x[0] += 4 // a:mean
			x[2] += 3 // a:slope
		}
		d.X = append(d.X, x)
		d.Y = append(d.Y, y)
	}
	return d
}

func TestTechniquesSeparate(t *testing.T) {
	train, valid := synthetic(600, 1), synthetic(300, 2)
	for _, tech := range Techniques() {
		t.Run(tech.Name(), func(t *testing.T) {
			m, err := tech.Fit(context.Background(), train)
			if err != nil {
				t.Fatal(err)
			}
			scores := m.ScoreAll(valid.X)
			m.Threshold = ChooseThreshold(scores, valid.Y)
			got := Evaluate(scores, valid.Y, m.Threshold)
			if got.ROCAUC < 0.95 || got.F1 < 0.85 {
				t.Errorf("%s: auc %.3f f1 %.3f, want >= 0.95 / 0.85", tech.Name(), got.ROCAUC, got.F1)
			}
			for _, s := range scores {
				if !(s >= 0 && s <= 1) {
					t.Fatalf("score %v outside [0,1]", s)
				}
			}
			// Round trip through model.json gives identical scores.
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range valid.X {
				if a, b := m.Score(x), m2.Score(x); a != b {
					t.Fatalf("row %d: score %v after round trip, %v before", i, b, a)
				}
			}
			// A clearly failing vector gets reasons naming metric a.
			bad := make([]float64, train.Spec.Len())
			copy(bad, m.Mean)
			bad[0] += 5 * m.Scale[0]
			bad[2] += 5 * m.Scale[2]
			r := m.Reasons(bad, 2)
			if len(r) == 0 || r[0][:2] != "a " {
				t.Errorf("reasons %q, want a line about metric a first", r)
			}
			for _, line := range r[1:] {
				if line[:2] == "a " {
					t.Errorf("reasons %q name metric a twice", r)
				}
			}
			if len(m.Reasons(m.Mean, 3)) != 0 && (tech.Name() == TechLogistic || tech.Name() == TechBaseline) {
				t.Errorf("the usual vector got reasons %q", m.Reasons(m.Mean, 3))
			}
			if math.IsNaN(m.Score(bad)) || m.Score(bad) < m.Threshold {
				t.Errorf("failing vector scores %v below threshold %v", m.Score(bad), m.Threshold)
			}
		})
	}
}
