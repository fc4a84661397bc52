package decision

import (
	"math"
	"testing"
)

func TestRiskIsTheMeanOfTheKnownRisks(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{0.2}, 0.2},
		{[]float64{0.2, 0.6}, 0.4},
		{[]float64{0.1, math.NaN(), 0.3, 0.5}, 0.3},
	} {
		if got := Risk(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Risk(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	for _, in := range [][]float64{nil, {}, {math.NaN(), math.NaN()}} {
		if got := Risk(in); !math.IsNaN(got) {
			t.Errorf("Risk(%v) = %v, want NaN", in, got)
		}
	}
}
