package model

import (
	"context"
	"fmt"
)

// BaselineTechnique is the plain model budare must always beat: the L2
// logistic regression of LogisticTechnique fitted on each metric's window
// mean, standard deviation and slope only (features.Spec.BaselineIndices).
// Its Model is an ordinary logistic one with technique "baseline" and weight
// exactly 0 on every other feature, so scoring, contributions, reasons and
// model.json need nothing of their own.
type BaselineTechnique struct {
	Lambda  float64 // 0 means 1e-3
	MaxIter int     // 0 means 200
}

// Name implements Technique.
func (BaselineTechnique) Name() string { return TechBaseline }

// Fit implements Technique.
func (t BaselineTechnique) Fit(ctx context.Context, d Dataset) (*Model, error) {
	m, Z, err := newModel(TechBaseline, d)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	cols := d.Spec.BaselineIndices()
	sub := make([][]float64, len(Z))
	flat := make([]float64, len(Z)*len(cols))
	for i, z := range Z {
		row := flat[i*len(cols) : (i+1)*len(cols) : (i+1)*len(cols)]
		for k, j := range cols {
			row[k] = z[j]
		}
		sub[i] = row
	}
	lambda := orDefault(t.Lambda, 1e-3)
	iters := orDefault(t.MaxIter, 200)
	// With no metrics the rows have no columns and the fit is the base rate.
	w, err := fitLogistic(ctx, sub, d.Y, nil, lambda, iters)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	weights := make([]float64, d.Spec.Len())
	for k, j := range cols {
		weights[j] = w[k]
	}
	m.Logistic = &Logistic{Weights: weights, Bias: w[len(cols)], Lambda: lambda}
	return m, nil
}
