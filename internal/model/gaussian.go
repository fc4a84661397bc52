package model

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// GaussianTechnique models the healthy state: the mean and covariance of the
// standardised features of rows labelled false. A row's squared Mahalanobis
// distance from it is the anomaly score, calibrated to a risk with a
// one-feature logistic regression on log(1+d²) over all training rows.
type GaussianTechnique struct {
	// Ridge is added to the covariance diagonal (standardised units) so
	// collinear features still give an invertible matrix; 0 means 0.05.
	Ridge float64
}

// Name implements Technique.
func (GaussianTechnique) Name() string { return TechGaussian }

// Fit implements Technique.
func (t GaussianTechnique) Fit(ctx context.Context, d Dataset) (*Model, error) {
	m, Z, err := newModel(TechGaussian, d)
	if err != nil {
		return nil, fmt.Errorf("gaussian: %w", err)
	}
	ridge := orDefault(t.Ridge, 0.05)
	p := m.Dim()
	healthy := mat.NewDense(len(Z)-d.Positives(), p, nil)
	r := 0
	for i, z := range Z {
		if !d.Y[i] {
			healthy.SetRow(r, z)
			r++
		}
	}
	if r < 2 {
		return nil, errors.New("gaussian: fewer than 2 healthy rows")
	}
	var cov mat.SymDense
	stat.CovarianceMatrix(&cov, healthy, nil)
	for j := range p {
		cov.SetSym(j, j, cov.At(j, j)+ridge)
	}
	var chol mat.Cholesky
	if !chol.Factorize(&cov) {
		return nil, errors.New("gaussian: covariance not positive definite")
	}
	var prec mat.SymDense
	if err := chol.InverseTo(&prec); err != nil {
		return nil, fmt.Errorf("gaussian: invert covariance: %w", err)
	}
	center := make([]float64, p)
	for j := range p {
		center[j] = stat.Mean(mat.Col(nil, j, healthy), nil)
	}
	g := &Gaussian{Center: center, Precision: make([]float64, p*p)}
	for i := range p {
		for j := range p {
			g.Precision[i*p+j] = prec.At(i, j)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Calibrate: risk = sigmoid(a·u + b), u = log(1+d²).
	U := make([][]float64, len(Z))
	flat := make([]float64, len(Z))
	for i, z := range Z {
		flat[i] = math.Log1p(g.mahalanobis2(z, nil))
		U[i] = flat[i : i+1 : i+1]
	}
	mu, sd := stat.MeanStdDev(flat, nil)
	if !(sd > 0) {
		sd = 1
	}
	for i := range flat {
		flat[i] = (flat[i] - mu) / sd
	}
	w, err := fitLogistic(ctx, U, d.Y, nil, 1e-6, 100)
	if err != nil {
		return nil, fmt.Errorf("gaussian: calibrate: %w", err)
	}
	g.CalibA = w[0] / sd
	g.CalibB = w[1] - w[0]*mu/sd
	m.Gaussian = g
	return m, nil
}
