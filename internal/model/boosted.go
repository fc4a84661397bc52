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
	splits := candidateSplits(Z, p, bins)
	// Rows are laid out by subsample (rows first, first+sub, ... of each
	// offset together, in row order), so a round reads its rows
	// contiguously; every sum still runs over the same rows in the same
	// order.
	lay := newSubsampleLayout(n, sub)
	bin := lay.binColumns(Z, splits)
	y := make([]bool, n)
	for q, i := range lay.order {
		y[q] = d.Y[i]
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
	G := make([]histogram, p)
	H := make([]histogram, p)
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
		lo, hi := lay.rows(round % sub)
		var gt, ht float64
		for q := lo; q < hi; q++ {
			pr := sigmoid(F[q])
			yq := 0.0
			if y[q] {
				yq = 1
			}
			g[q] = pr - yq
			h[q] = math.Max(pr*(1-pr), 1e-12)
			gt += g[q]
			ht += h[q]
		}
		// Histograms per feature: each feature's sums run over the rows in
		// order whatever the split of features across goroutines.
		parallel(len(active), hi-lo, func(_, a, b int) {
			fillHistograms(active[a:b], bin, n, lo, hi, g, h, G, H, bins+1)
		})
		parent := gt * gt / (ht + lambda)
		bestGain, bestJ, bestK := 1e-9, -1, -1
		var bestL, bestR float64
		for _, j := range active {
			var gl, hl float64
			for k := range splits[j] {
				gl += G[j][k]
				hl += H[j][k]
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
		for q, b := range bin[bestJ*n : (bestJ+1)*n] {
			if int(b) <= bestK {
				F[q] += s.Left
			} else {
				F[q] += s.Right
			}
		}
	}
	m.Boosted = boost
	return m, nil
}

// histogram sums a quantity per bin; a uint8 bin index needs no bounds
// check.
type histogram [256]float64

// fillHistograms sums g and h of rows lo..hi-1 per bin of each feature of
// feats, into G[j] and H[j] (the first nb bins). Four features share one
// pass over the rows, so their sums overlap in the CPU; each feature's sums
// still add its rows in order.
func fillHistograms(feats []int, bin []uint8, n, lo, hi int, g, h []float64, G, H []histogram, nb int) {
	g, h = g[lo:hi], h[lo:hi]
	for _, j := range feats {
		clear(G[j][:nb])
		clear(H[j][:nb])
	}
	for len(feats) >= 4 {
		j0, j1, j2, j3 := feats[0], feats[1], feats[2], feats[3]
		c0, c1, c2, c3 := bin[j0*n+lo:j0*n+hi], bin[j1*n+lo:j1*n+hi], bin[j2*n+lo:j2*n+hi], bin[j3*n+lo:j3*n+hi]
		c0, c1, c2, c3 = c0[:len(g)], c1[:len(g)], c2[:len(g)], c3[:len(g)]
		G0, G1, G2, G3 := &G[j0], &G[j1], &G[j2], &G[j3]
		H0, H1, H2, H3 := &H[j0], &H[j1], &H[j2], &H[j3]
		h := h[:len(g)]
		for q, gq := range g {
			hq := h[q]
			b0, b1, b2, b3 := c0[q], c1[q], c2[q], c3[q]
			G0[b0] += gq
			H0[b0] += hq
			G1[b1] += gq
			H1[b1] += hq
			G2[b2] += gq
			H2[b2] += hq
			G3[b3] += gq
			H3[b3] += hq
		}
		feats = feats[4:]
	}
	for _, j := range feats {
		col := bin[j*n+lo : j*n+hi]
		col = col[:len(g)]
		Gj, Hj := &G[j], &H[j]
		for q, gq := range g {
			b := col[q]
			Gj[b] += gq
			Hj[b] += h[q]
		}
	}
}

// candidateSplits returns each feature's candidate splits: distinct
// quantiles of its values, taken from a systematic sample of rows (plenty
// for 32 quantiles) so large training sets do not pay for full sorts.
func candidateSplits(Z [][]float64, p, bins int) [][]float64 {
	n := len(Z)
	splits := make([][]float64, p)
	step := max(1, n/8192)
	col := make([]float64, 0, n/step+1)
	var sorter floatSorter
	for j := range p {
		col = col[:0]
		for i := 0; i < n; i += step {
			col = append(col, Z[i][j])
		}
		sorter.sort(col)
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
	return splits
}

// subsampleLayout orders rows by subsample: order[q] is the row at
// position q; the rows of offset r (r, r+sub, ...) are at off[r]..off[r+1].
type subsampleLayout struct {
	order []int
	off   []int
}

func newSubsampleLayout(n, sub int) subsampleLayout {
	l := subsampleLayout{order: make([]int, 0, n), off: make([]int, sub+1)}
	for r := range sub {
		for i := r; i < n; i += sub {
			l.order = append(l.order, i)
		}
		l.off[r+1] = len(l.order)
	}
	return l
}

// rows returns the positions of subsample r.
func (l subsampleLayout) rows(r int) (lo, hi int) { return l.off[r], l.off[r+1] }

// binColumns returns bin[j*n+q] = how many of feature j's splits are <=
// the feature of the row at position q; stored by feature so each
// histogram pass reads memory in order.
func (l subsampleLayout) binColumns(Z [][]float64, splits [][]float64) []uint8 {
	n, p := len(Z), len(splits)
	bin := make([]uint8, n*p)
	for q, i := range l.order {
		for j, v := range Z[i][:p] {
			bin[j*n+q] = uint8(countAtMost(splits[j], v))
		}
	}
	return bin
}

// countAtMost returns how many of the increasing splits are <= v (v is
// never NaN: standardised features are finite or 0).
func countAtMost(splits []float64, v float64) int {
	k, m := 0, len(splits)
	for m > 0 {
		half := m / 2
		if splits[k+half] <= v {
			k += half + 1
			m -= half + 1
		} else {
			m = half
		}
	}
	return k
}

// orDefault returns v, or def when v is not positive (a zero setting).
func orDefault[T int | float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// floatSorter sorts float64 columns with a radix sort on their bits,
// reusing its buffers. It gives exactly slices.Sort's order: a column
// without NaN or negative zero has no two elements that compare equal yet
// differ in bits, so any sort gives the same sequence; a column with either
// is left to slices.Sort.
type floatSorter struct {
	keys, tmp []uint64
}

func (s *floatSorter) sort(col []float64) {
	if len(col) < 64 {
		slices.Sort(col)
		return
	}
	keys := slices.Grow(s.keys[:0], len(col))[:len(col)]
	for i, v := range col {
		b := math.Float64bits(v)
		if v != v || b == 1<<63 {
			slices.Sort(col)
			return
		}
		// Flip negatives entirely and set the sign bit of positives: the
		// keys then order as the floats do.
		if b>>63 != 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	tmp := slices.Grow(s.tmp[:0], len(col))[:len(col)]
	s.keys, s.tmp = keys, tmp
	for i, b := range radixSort(keys, tmp) {
		if b>>63 != 0 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		col[i] = math.Float64frombits(b)
	}
}

// radixSort sorts keys by bytes, least significant first, using tmp (as
// long as keys) as the other buffer; it returns whichever buffer holds the
// result. Bytes that every key shares cost no pass.
func radixSort(keys, tmp []uint64) []uint64 {
	var count [8][256]int
	for _, k := range keys {
		for d := range 8 {
			count[d][byte(k>>(8*d))]++
		}
	}
	for d := range 8 {
		c := &count[d]
		if c[byte(keys[0]>>(8*d))] == len(keys) {
			continue
		}
		sum := 0
		for b := range c {
			c[b], sum = sum, sum+c[b]
		}
		for _, k := range keys {
			b := byte(k >> (8 * d))
			tmp[c[b]] = k
			c[b]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}
