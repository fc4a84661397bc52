package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/budare/budare/internal/features"
)

// Dataset is a labelled feature matrix: row i is a vector computed with Spec
// (NaN allowed for unreported metrics) and Y[i] says whether the machine
// failed within the horizon.
type Dataset struct {
	Spec features.Spec
	X    [][]float64
	Y    []bool
	// std, when set (Shared), holds the standardisation once for every fit.
	std *standardization
}

// standardization is a Dataset's standardisation and standardised rows,
// computed once for every technique fitted on it.
type standardization struct {
	once        sync.Once
	mean, scale []float64
	Z           [][]float64 // read only: techniques share it
	err         error
}

// Shared returns d set up for several fits (concurrent ones too): they
// standardise its rows once between them instead of once each. The models
// are the same.
func (d Dataset) Shared() Dataset {
	d.std = &standardization{}
	return d
}

// Validate checks shapes: every row has Spec.Len() entries and there is one
// label per row.
func (d Dataset) Validate() error {
	if len(d.X) != len(d.Y) {
		return fmt.Errorf("model: %d rows but %d labels", len(d.X), len(d.Y))
	}
	if len(d.X) == 0 {
		return errors.New("model: empty dataset")
	}
	n := d.Spec.Len()
	for i, r := range d.X {
		if len(r) != n {
			return fmt.Errorf("model: row %d has %d features, spec has %d", i, len(r), n)
		}
	}
	return nil
}

// Positives counts rows labelled true.
func (d Dataset) Positives() int {
	p := 0
	for _, y := range d.Y {
		if y {
			p++
		}
	}
	return p
}

// Technique fits one kind of model. Fit returns a Model with Threshold 0.5;
// choose the real threshold on validation data with ChooseThreshold.
type Technique interface {
	Name() string
	Fit(ctx context.Context, d Dataset) (*Model, error)
}

// Techniques returns the competing techniques with their default settings,
// in a fixed order. The baseline comes first so that Select's margin rule
// gives it every near-tie: a richer technique is chosen only if it clearly
// beats the plain mean/std/slope regression.
func Techniques() []Technique {
	return []Technique{BaselineTechnique{}, LogisticTechnique{}, GaussianTechnique{}, BoostedTechnique{}}
}

// TechniqueByName returns the default technique of that name, or nil.
func TechniqueByName(name string) Technique {
	for _, t := range Techniques() {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

// Candidate is one technique fitted on training rows and judged on
// validation rows; Model.Threshold is already the validation-chosen one.
type Candidate struct {
	Technique string  `json:"technique"`
	Model     *Model  `json:"-"`
	Valid     Metrics `json:"valid"`
	Err       string  `json:"error,omitempty"`
}

// SelectMargin is how much higher a technique's validation PR-AUC must be
// to beat one listed before it in Select. Validation sets are small enough
// that differences of a few thousandths are noise; the margin makes such
// near-ties go to the earlier, simpler technique instead of a coin flip.
const SelectMargin = 0.005

// Select fits every technique on train, chooses each one's threshold on
// valid (max F1), and returns all candidates plus the index of the best: the
// highest validation PR-AUC, where a later technique must beat the current
// best by SelectMargin (ties then go to ROC-AUC under the same margin). It
// fails only if every technique fails.
func Select(ctx context.Context, techs []Technique, train, valid Dataset) ([]Candidate, int, error) {
	if err := valid.Validate(); err != nil {
		return nil, -1, fmt.Errorf("validation set: %w", err)
	}
	// Fits are independent, so they run concurrently (each one's result does
	// not depend on scheduling); judging happens afterwards in list order.
	train = train.Shared()
	models := make([]*Model, len(techs))
	errs := make([]error, len(techs))
	var wg sync.WaitGroup
	for i, t := range techs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			models[i], errs[i] = t.Fit(ctx, train)
		}()
	}
	wg.Wait()
	out := make([]Candidate, 0, len(techs))
	best := -1
	for i, t := range techs {
		c := Candidate{Technique: t.Name()}
		m, err := models[i], errs[i]
		if err != nil {
			if ctx.Err() != nil {
				return nil, -1, ctx.Err()
			}
			c.Err = err.Error()
			out = append(out, c)
			continue
		}
		scores := m.ScoreAll(valid.X)
		m.Threshold = ChooseThreshold(scores, valid.Y)
		c.Model = m
		c.Valid = Evaluate(scores, valid.Y, m.Threshold)
		out = append(out, c)
		if best < 0 || better(c.Valid, out[best].Valid) {
			best = len(out) - 1
		}
	}
	if best < 0 {
		return out, -1, errors.New("model: every technique failed")
	}
	return out, best, nil
}

// better reports whether a (listed later) beats b on validation: PR-AUC
// higher by more than SelectMargin, or, with PR-AUCs within the margin,
// ROC-AUC higher by more than it.
func better(a, b Metrics) bool {
	pa, pb := orZero(a.PRAUC), orZero(b.PRAUC)
	if math.Abs(pa-pb) > SelectMargin {
		return pa > pb
	}
	return orZero(a.ROCAUC) > orZero(b.ROCAUC)+SelectMargin
}

func orZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// ScoreAll scores every row.
func (m *Model) ScoreAll(X [][]float64) []float64 {
	out := make([]float64, len(X))
	z := make([]float64, m.Dim())
	for i, x := range X {
		if len(x) != len(z) {
			out[i] = math.NaN()
			continue
		}
		m.standardize(z, x)
		out[i] = m.scoreZ(z)
	}
	return out
}

// newModel computes the standardisation of d (NaN ignored; constant features
// get Scale 1) and returns a model shell plus the standardised rows (which
// the caller must not change: a Shared dataset's fits share them).
func newModel(technique string, d Dataset) (*Model, [][]float64, error) {
	std := d.std
	if std == nil {
		std = &standardization{}
	}
	std.once.Do(func() { std.mean, std.scale, std.Z, std.err = standardize(d) })
	if std.err != nil {
		return nil, nil, std.err
	}
	m := &Model{V: Version, Technique: technique, Features: d.Spec, Threshold: 0.5,
		Mean: slices.Clone(std.mean), Scale: slices.Clone(std.scale)}
	return m, std.Z, nil
}

// standardize returns the mean and scale of d's features and its rows
// standardised with them.
func standardize(d Dataset) (mean, scale []float64, Z [][]float64, err error) {
	if err := d.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if err := d.Spec.Validate(); err != nil {
		return nil, nil, nil, err
	}
	p := d.Spec.Len()
	mean = make([]float64, p)
	scale = make([]float64, p)
	cnt := make([]float64, p)
	for _, r := range d.X {
		for j, x := range r {
			if finite(x) {
				mean[j] += x
				cnt[j]++
			}
		}
	}
	for j := range mean {
		if cnt[j] > 0 {
			mean[j] /= cnt[j]
		}
	}
	for _, r := range d.X {
		for j, x := range r {
			if finite(x) {
				scale[j] += (x - mean[j]) * (x - mean[j])
			}
		}
	}
	for j := range scale {
		if cnt[j] > 1 {
			scale[j] = math.Sqrt(scale[j] / (cnt[j] - 1))
		}
		// A (near) constant feature carries no information; scale 1 keeps
		// its z at ~0 instead of blowing rounding noise up.
		if !(scale[j] > 1e-12*math.Max(1, math.Abs(mean[j]))) {
			scale[j] = 1
		}
	}
	m := &Model{Mean: mean, Scale: scale}
	Z = make([][]float64, len(d.X))
	flat := make([]float64, len(d.X)*p)
	for i, r := range d.X {
		Z[i] = flat[i*p : (i+1)*p : (i+1)*p]
		m.standardize(Z[i], r)
	}
	return mean, scale, Z, nil
}
