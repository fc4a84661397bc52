package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/budare/budare/internal/features"
)

// awkward returns a dataset with the values that test a fit's arithmetic:
// NaN and infinite features (standardised to 0), constant and two-valued
// columns, heavy ties, and a row count that leaves the subsamples uneven.
func awkward(n int, seed uint64) Dataset {
	spec := features.Spec{Metrics: []string{"a", "b", "c"}, WindowDays: 7, Set: features.Set2}
	rng := rand.New(rand.NewPCG(seed, 7))
	d := Dataset{Spec: spec}
	for i := range n {
		x := make([]float64, spec.Len())
		for j := range x {
			switch j % 5 {
			case 0:
				x[j] = rng.NormFloat64()
			case 1:
				x[j] = math.Round(rng.NormFloat64() * 2) // ties
			case 2:
				x[j] = float64(i % 2) // two values
			case 3:
				x[j] = 3 // constant
			default:
				x[j] = rng.ExpFloat64()
			}
			if rng.Float64() < 0.05 {
				x[j] = math.NaN()
			}
		}
		if i%97 == 0 {
			x[0] = math.Inf(1)
		}
		y := rng.Float64() < 0.2
		if y {
			x[0] += 2
			x[6] -= 1.5
		}
		d.X = append(d.X, x)
		d.Y = append(d.Y, y)
	}
	return d
}

// TestFitsAreUnchanged pins every technique's model.json, bit for bit, on
// fixed data: speed-ups of the fits must not change a single model (the
// released models and the decisions built on them depend on it). The
// hashes were taken before the fits were optimised.
func TestFitsAreUnchanged(t *testing.T) {
	want := []string{
		"1a930084eb4e3e1b",
		"98c6441d09755aa9",
		"d41efe1ed7863485",
		"6955d263e1557c56",
		"6955d263e1557c56",
		"6955d263e1557c56",
		"86efcb1a472a096f",
		"2d1f32d2a1c818eb",
		"b5efdae08a3259d4",
		"f7ce9c210adce2ed",
		"e5defe0ff4bf3fbb",
		"9c955313144d401c",
		"75156b96539e3678",
		"5787b2b1d257648a",
		"7d901bf1cef22886",
		"e4d5982299827e67",
		"93ac91ee52651a2f",
		"3b31ce7970d4ef52",
	}
	k := 0
	for _, n := range []int{7, 601, 20000} {
		plain := awkward(n, uint64(n))
		shared := plain.Shared() // one standardisation for every fit: same models
		k0 := k
		for _, d := range []Dataset{plain, shared} {
			k = k0
			for _, tech := range append(Techniques(), BoostedTechnique{Subsample: 1}, BoostedTechnique{Subsample: 4, Bins: 200}) {
				m, err := tech.Fit(context.Background(), d)
				got := "error"
				if err == nil {
					b, err := m.Marshal()
					if err != nil {
						t.Fatal(err)
					}
					s := sha256.Sum256(b)
					got = hex.EncodeToString(s[:8])
				}
				if got != want[k] {
					t.Errorf("%d rows (shared %v), %s %+v: model hash %s, want %s", n, d.std != nil, tech.Name(), tech, got, want[k])
				}
				k++
			}
		}
	}
}

// TestMahalanobis2AllIsPerRow: the four-row pass gives each row's own
// mahalanobis2, bit for bit.
func TestMahalanobis2AllIsPerRow(t *testing.T) {
	d := awkward(203, 5)
	m, err := (GaussianTechnique{}).Fit(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	Z := make([][]float64, len(d.X))
	for i, x := range d.X {
		Z[i] = make([]float64, m.Dim())
		m.standardize(Z[i], x)
	}
	got := make([]float64, len(Z))
	m.Gaussian.mahalanobis2All(Z, got)
	for i, z := range Z {
		if want := m.Gaussian.mahalanobis2(z, nil); math.Float64bits(got[i]) != math.Float64bits(want) {
			t.Fatalf("row %d: %v, want %v", i, got[i], want)
		}
	}
}
