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
	g.mahalanobis2All(Z, flat)
	for i, d2 := range flat {
		flat[i] = math.Log1p(d2)
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

// mahalanobis2All sets out[i] = mahalanobis2(Z[i], nil) for every row. Rows
// go four at a time so their sums overlap in the CPU; each row's sums add
// their terms in mahalanobis2's order, so every value is the same, bit for
// bit.
func (g *Gaussian) mahalanobis2All(Z [][]float64, out []float64) {
	d := len(g.Center)
	var diff [4][]float64
	for k := range diff {
		diff[k] = make([]float64, d)
	}
	i := 0
	for ; i+4 <= len(Z); i += 4 {
		for k := range diff {
			z := Z[i+k][:d]
			for j, c := range g.Center {
				diff[k][j] = z[j] - c
			}
		}
		d0, d1, d2, d3 := diff[0], diff[1], diff[2], diff[3]
		var t0, t1, t2, t3 float64
		for r := range d {
			row := g.Precision[r*d : (r+1)*d]
			var s0, s1, s2, s3 float64
			for j := r + 1; j < d; j++ {
				pj := row[j]
				s0 += pj * d0[j]
				s1 += pj * d1[j]
				s2 += pj * d2[j]
				s3 += pj * d3[j]
			}
			// P is symmetric: the diagonal once, the upper triangle twice.
			t0 += d0[r] * (row[r]*d0[r] + 2*s0)
			t1 += d1[r] * (row[r]*d1[r] + 2*s1)
			t2 += d2[r] * (row[r]*d2[r] + 2*s2)
			t3 += d3[r] * (row[r]*d3[r] + 2*s3)
		}
		for k, t := range [4]float64{t0, t1, t2, t3} {
			if t < 0 {
				t = 0
			}
			out[i+k] = t
		}
	}
	for ; i < len(Z); i++ {
		out[i] = g.mahalanobis2(Z[i], nil)
	}
}
