package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"
)

// LogisticTechnique fits an L2-regularised logistic regression on
// standardised features by minimising mean log-loss + Lambda/2·|w|² with
// L-BFGS (gonum/optimize). The bias is not penalised.
type LogisticTechnique struct {
	Lambda  float64 // 0 means 1e-3
	MaxIter int     // 0 means 200
}

// Name implements Technique.
func (LogisticTechnique) Name() string { return TechLogistic }

// Fit implements Technique.
func (t LogisticTechnique) Fit(ctx context.Context, d Dataset) (*Model, error) {
	m, Z, err := newModel(TechLogistic, d)
	if err != nil {
		return nil, fmt.Errorf("logistic: %w", err)
	}
	lambda := orDefault(t.Lambda, 1e-3)
	iters := orDefault(t.MaxIter, 200)
	w, err := fitLogistic(ctx, Z, d.Y, nil, lambda, iters)
	if err != nil {
		return nil, fmt.Errorf("logistic: %w", err)
	}
	p := len(w) - 1
	m.Logistic = &Logistic{Weights: w[:p:p], Bias: w[p], Lambda: lambda}
	return m, nil
}

// fitLogistic returns weights with the bias last. weight (optional) weighs
// each row's loss.
func fitLogistic(ctx context.Context, Z [][]float64, y []bool, weight []float64, lambda float64, iters int) ([]float64, error) {
	if len(Z) == 0 {
		return nil, errors.New("no rows")
	}
	p := len(Z[0])
	n := float64(len(Z))
	if weight != nil {
		n = 0
		for _, w := range weight {
			n += w
		}
	}
	// Start the bias at the log-odds of the base rate: fewer iterations.
	pos := 0.0
	for i, yi := range y {
		wi := 1.0
		if weight != nil {
			wi = weight[i]
		}
		if yi {
			pos += wi
		}
	}
	x0 := make([]float64, p+1)
	rate := math.Min(math.Max(pos/n, 1e-6), 1-1e-6)
	x0[p] = math.Log(rate / (1 - rate))

	// One pass computes loss and gradient; the optimizer asks for them
	// separately at the same point, so the last pair is cached.
	partLoss := make([]float64, chunks)
	partGrad := make([]float64, chunks*(p+1))
	var lastX, lastGrad []float64
	var lastF float64
	fg := func(x []float64) {
		if lastX != nil && slices.Equal(lastX, x) {
			return
		}
		w, b := x[:p], x[p]
		parallel(len(Z), p, func(c, lo, hi int) {
			grad := partGrad[c*(p+1) : (c+1)*(p+1)]
			clear(grad)
			partLoss[c] = logLossBlock(Z, y, weight, w, b, lo, hi, grad)
		})
		if lastGrad == nil {
			lastGrad = make([]float64, p+1)
		}
		clear(lastGrad)
		loss := 0.0
		for c := range chunks {
			loss += partLoss[c]
			for j, g := range partGrad[c*(p+1) : (c+1)*(p+1)] {
				lastGrad[j] += g
			}
		}
		reg := 0.0
		for j := range lastGrad {
			lastGrad[j] /= n
		}
		for j, wj := range w {
			reg += wj * wj
			lastGrad[j] += lambda * wj
		}
		lastF = loss/n + lambda/2*reg
		lastX = append(lastX[:0], x...)
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 { fg(x); return lastF },
		Grad: func(grad, x []float64) { fg(x); copy(grad, lastGrad) },
	}
	settings := &optimize.Settings{
		GradientThreshold: 1e-6,
		MajorIterations:   iters,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-9, Relative: 1e-9, Iterations: 10},
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res, err := optimize.Minimize(problem, x0, settings, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !allFinite(res.X) {
		return nil, errors.New("optimize: diverged")
	}
	// Hitting the iteration cap still leaves a usable (regularised) fit.
	return res.X, nil
}

// logLossBlock adds the log-loss gradient of rows lo..hi-1 to grad (bias
// last) and returns their weighted loss. Rows go four at a time so the four
// dot products overlap in the CPU; every sum still adds its terms in row
// order, so the result is the same, bit for bit, as one row at a time.
func logLossBlock(Z [][]float64, y []bool, weight, w []float64, b float64, lo, hi int, grad []float64) float64 {
	p := len(w)
	g := grad[:p]
	loss := 0.0
	i := lo
	for ; i+4 <= hi; i += 4 {
		z0, z1, z2, z3 := Z[i][:p], Z[i+1][:p], Z[i+2][:p], Z[i+3][:p]
		var d0, d1, d2, d3 float64
		for j, wj := range w {
			d0 += wj * z0[j]
			d1 += wj * z1[j]
			d2 += wj * z2[j]
			d3 += wj * z3[j]
		}
		var r [4]float64
		for k, d := range [4]float64{d0, d1, d2, d3} {
			var l float64
			l, r[k] = rowLoss(b+d, y[i+k], weight, i+k)
			loss += l
		}
		r0, r1, r2, r3 := r[0], r[1], r[2], r[3]
		for j := range g {
			gj := g[j]
			gj += r0 * z0[j]
			gj += r1 * z1[j]
			gj += r2 * z2[j]
			gj += r3 * z3[j]
			g[j] = gj
		}
		grad[p] += r0
		grad[p] += r1
		grad[p] += r2
		grad[p] += r3
	}
	for ; i < hi; i++ {
		z := Z[i]
		l, r := rowLoss(b+dot(w, z), y[i], weight, i)
		loss += l
		for j, zj := range z {
			g[j] += r * zj
		}
		grad[p] += r
	}
	return loss
}

// rowLoss returns one row's weighted log-loss log(1+e^s) - y*s, computed
// stably, and its weighted residual sigmoid(s) - y. Both come from one
// e^-|s|, which is the exponential either one would take on its own.
func rowLoss(s float64, yi bool, weight []float64, i int) (loss, resid float64) {
	wi := 1.0
	if weight != nil {
		wi = weight[i]
	}
	e := math.Exp(-math.Abs(s))
	var l, pr float64
	if s > 0 {
		l = s + math.Log1p(e)
		pr = 1 / (1 + e)
	} else {
		l = math.Log1p(e)
		pr = e / (1 + e)
	}
	yv := 0.0
	if yi {
		yv = 1
		l -= s
	}
	return wi * l, wi * (pr - yv)
}
