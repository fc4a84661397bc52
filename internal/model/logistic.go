package model

import (
	"context"
	"errors"
	"fmt"
	"math"

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
	lambda := t.Lambda
	if lambda <= 0 {
		lambda = 1e-3
	}
	iters := t.MaxIter
	if iters <= 0 {
		iters = 200
	}
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
	lin := make([]float64, len(Z))
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

	fg := func(grad, x []float64) float64 {
		w, b := x[:p], x[p]
		loss := 0.0
		if grad != nil {
			clear(grad)
		}
		for i, z := range Z {
			s := b + dot(w, z)
			lin[i] = s
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
			if grad != nil {
				r := wi * (sigmoid(s) - yi)
				g := grad[:p]
				for j, zj := range z {
					g[j] += r * zj
				}
				grad[p] += r
			}
		}
		loss /= n
		reg := 0.0
		for _, wj := range w {
			reg += wj * wj
		}
		if grad != nil {
			for j := range grad {
				grad[j] /= n
			}
			for j := range p {
				grad[j] += lambda * w[j]
			}
		}
		return loss + lambda/2*reg
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 { return fg(nil, x) },
		Grad: func(grad, x []float64) { fg(grad, x) },
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
