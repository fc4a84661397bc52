package model

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// BoostedTechnique fits gradient-boosted decision stumps (Newton steps on the
// log-loss, one split per round) on standardised features. Stumps capture
// thresholds and saturation the linear model cannot, and stay readable: each
// adds to the risk of one feature.
type BoostedTechnique struct {
	Rounds  int     // 0 means 200
	Rate    float64 // learning rate; 0 means 0.1
	Bins    int     // candidate splits per feature (quantiles); 0 means 32
	Lambda  float64 // L2 on leaf values; 0 means 1
	MinLeaf float64 // minimum hessian sum per side; 0 means 1
	// Subsample: each round fits on every Subsample-th row (offset by the
	// round), which cuts the work to 1/Subsample and regularises like
	// stochastic boosting while staying deterministic; 0 means 3, 1 uses
	// every row.
	Subsample int
}

// Name implements Technique.
func (BoostedTechnique) Name() string { return TechBoosted }

// Fit implements Technique.
func (t BoostedTechnique) Fit(ctx context.Context, d Dataset) (*Model, error) {
	m, Z, err := newModel(TechBoosted, d)
	if err != nil {
		return nil, fmt.Errorf("boosted: %w", err)
	}
	rounds := orDefault(t.Rounds, 200)
	bins := min(orDefault(t.Bins, 32), 255)
	rate := orDefault(t.Rate, 0.1)
	lambda := orDefault(t.Lambda, 1)
	minLeaf := orDefault(t.MinLeaf, 1)
	sub := orDefault(t.Subsample, 3)
	n, p := len(Z), m.Dim()

	// Candidate splits per feature: distinct quantiles of its values, taken
	// from a systematic sample of rows (plenty for 32 quantiles) so large
	// training sets do not pay for full sorts.
	splits := make([][]float64, p)
	step := max(1, n/8192)
	col := make([]float64, 0, n/step+1)
	for j := range p {
		col = col[:0]
		for i := 0; i < n; i += step {
			col = append(col, Z[i][j])
		}
		slices.Sort(col)
		m := len(col)
		var s []float64
		for b := 1; b < bins+1; b++ {
			v := col[b*(m-1)/(bins+1)]
			if v > col[0] && (len(s) == 0 || v > s[len(s)-1]) {
				s = append(s, v)
			}
		}
		splits[j] = s
	}
	// bin[j*n+i] = how many of feature j's splits are <= Z[i][j]; stored by
	// feature so each histogram pass reads memory in order.
	bin := make([]uint8, n*p)
	for i, z := range Z {
		for j, v := range z {
			k, _ := slices.BinarySearch(splits[j], v)
			if k < len(splits[j]) && splits[j][k] == v {
				k++
			}
			bin[j*n+i] = uint8(k)
		}
	}

	pos := float64(d.Positives())
	rateBase := math.Min(math.Max(pos/float64(n), 1e-6), 1-1e-6)
	base := math.Log(rateBase / (1 - rateBase))
	F := make([]float64, n)
	for i := range F {
		F[i] = base
	}
	g := make([]float64, n)
	h := make([]float64, n)
	nb := bins + 1
	G := make([]float64, nb*p)
	H := make([]float64, nb*p)
	boost := &Boosted{Base: base}
	// Features without candidate splits (constant) are never scanned.
	var active []int
	for j := range p {
		if len(splits[j]) > 0 {
			active = append(active, j)
		}
	}
	for round := range rounds {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		first := round % sub
		var gt, ht float64
		for i := first; i < n; i += sub {
			pr := sigmoid(F[i])
			y := 0.0
			if d.Y[i] {
				y = 1
			}
			g[i] = pr - y
			h[i] = math.Max(pr*(1-pr), 1e-12)
			gt += g[i]
			ht += h[i]
		}
		// Histograms per feature (G[j*nb+b]): each feature's sums run over
		// the rows in order whatever the split of features across goroutines.
		parallel(len(active), n/sub, func(_, lo, hi int) {
			for _, j := range active[lo:hi] {
				Gj, Hj := G[j*nb:(j+1)*nb], H[j*nb:(j+1)*nb]
				clear(Gj)
				clear(Hj)
				col := bin[j*n : (j+1)*n]
				for i := first; i < n; i += sub {
					b := col[i]
					Gj[b] += g[i]
					Hj[b] += h[i]
				}
			}
		})
		parent := gt * gt / (ht + lambda)
		bestGain, bestJ, bestK := 1e-9, -1, -1
		var bestL, bestR float64
		for _, j := range active {
			var gl, hl float64
			for k := range splits[j] {
				gl += G[j*nb+k]
				hl += H[j*nb+k]
				gr, hr := gt-gl, ht-hl
				if hl < minLeaf || hr < minLeaf {
					continue
				}
				gain := gl*gl/(hl+lambda) + gr*gr/(hr+lambda) - parent
				if gain > bestGain {
					bestGain, bestJ, bestK = gain, j, k
					bestL, bestR = -gl/(hl+lambda), -gr/(hr+lambda)
				}
			}
		}
		if bestJ < 0 {
			break
		}
		s := Stump{Feature: bestJ, Split: splits[bestJ][bestK], Left: rate * bestL, Right: rate * bestR}
		boost.Stumps = append(boost.Stumps, s)
		for i, b := range bin[bestJ*n : (bestJ+1)*n] {
			if int(b) <= bestK {
				F[i] += s.Left
			} else {
				F[i] += s.Right
			}
		}
	}
	m.Boosted = boost
	return m, nil
}

// orDefault returns v, or def when v is not positive (a zero setting).
func orDefault[T int | float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
