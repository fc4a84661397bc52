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
			loss := 0.0
			for i := lo; i < hi; i++ {
				z := Z[i]
				s := b + dot(w, z)
				wi := 1.0
				if weight != nil {
					wi = weight[i]
				}
				// log(1+e^s) - y*s, computed stably.
				var l float64
				if s > 0 {
					l = s + math.Log1p(math.Exp(-s))
				} else {
					l = math.Log1p(math.Exp(s))
				}
				yi := 0.0
				if y[i] {
					yi = 1
					l -= s
				}
				loss += wi * l
				r := wi * (sigmoid(s) - yi)
				g := grad[:p]
				for j, zj := range z {
					g[j] += r * zj
				}
				grad[p] += r
			}
			partLoss[c] = loss
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
