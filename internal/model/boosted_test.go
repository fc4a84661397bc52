package model

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFloatSorterSortsAsSlicesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s floatSorter // reused across columns, as a fit does
	for _, tc := range []struct {
		name string
		gen  func(i int) float64
		n    int
	}{
		{"normal", func(int) float64 { return rng.NormFloat64() }, 5000},
		{"ties", func(int) float64 { return math.Round(rng.NormFloat64() * 3) }, 3000},
		{"short", func(int) float64 { return rng.NormFloat64() }, 10},
		{"infinities", func(i int) float64 { return []float64{math.Inf(-1), math.Inf(1), 0, -1e-300, 5e-324}[i%5] }, 1000},
		{"negative zero", func(i int) float64 { return []float64{math.Copysign(0, -1), 0, -1, 1}[i%4] }, 1000},
		{"nan", func(i int) float64 { return []float64{math.NaN(), 2, -2}[i%3] }, 1000},
		{"normal again", func(int) float64 { return rng.ExpFloat64() - 1 }, 9000},
	} {
		col := make([]float64, tc.n)
		for i := range col {
			col[i] = tc.gen(i)
		}
		want := slices.Clone(col)
		slices.Sort(want)
		s.sort(col)
		for i := range col {
			if math.Float64bits(col[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: element %d is %v, slices.Sort has %v", tc.name, i, col[i], want[i])
			}
		}
	}
}

func TestCountAtMost(t *testing.T) {
	splits := []float64{-2, -1, 0, 0.5, 3}
	for v, want := range map[float64]int{-5: 0, -2: 1, -1.5: 1, 0: 3, math.Copysign(0, -1): 3, 0.7: 4, 3: 5, 9: 5, math.NaN(): 0} {
		if got := countAtMost(splits, v); got != want {
			t.Errorf("countAtMost(%v) = %d, want %d", v, got, want)
		}
	}
	if got := countAtMost(nil, 1); got != 0 {
		t.Errorf("no splits: %d", got)
	}
}

func BenchmarkBoostedFit(b *testing.B) {
	d := awkward(20000, 9)
	for b.Loop() {
		if _, err := (BoostedTechnique{}).Fit(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogisticFit(b *testing.B) {
	d := awkward(20000, 9)
	for b.Loop() {
		if _, err := (LogisticTechnique{}).Fit(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
}
