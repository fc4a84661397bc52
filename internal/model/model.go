// Package model holds the failure-risk models budare trains centrally and
// scores in the kitchens: the competing techniques (all built on gonum), the
// self-contained Model that is model.json, and the quality metrics used to
// pick thresholds and compare champion and challenger.
package model

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/budare/budare/internal/features"
)

// Version is the model.json format version this package writes and reads.
const Version = 1

// MaxJSON is the largest model.json Decode accepts.
const MaxJSON = 32 << 20

// Technique names, as stored in Model.Technique.
const (
	TechBaseline = "baseline" // logistic regression on each metric's mean, std and slope only
	TechLogistic = "logistic" // L2-regularised logistic regression (gonum/optimize)
	TechGaussian = "gaussian" // multivariate Gaussian health baseline, Mahalanobis distance
	TechBoosted  = "boosted"  // gradient-boosted decision stumps
)

// Model is one trained model, self-contained: the feature Spec, the
// standardisation, the technique's parameters and the decision threshold.
// Marshalled as JSON it is model.json.
type Model struct {
	V         int           `json:"v"`
	Arepa     string        `json:"arepa,omitempty"`
	Technique string        `json:"technique"`
	Features  features.Spec `json:"features"`
	// Threshold is the risk at or above which a machine is flagged; it is
	// chosen on validation data (ChooseThreshold), never on the holdout.
	Threshold float64 `json:"threshold"`
	// Mean and Scale standardise a feature vector: z = (x - Mean) / Scale.
	// Mean is also the "usual" value Reasons compares against. A NaN
	// feature (metric not reported) is replaced by Mean, i.e. z = 0.
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`

	Logistic *Logistic `json:"logistic,omitempty"`
	Gaussian *Gaussian `json:"gaussian,omitempty"`
	Boosted  *Boosted  `json:"boosted,omitempty"`
}

// Logistic is an L2-regularised logistic regression on standardised features:
// risk = sigmoid(Bias + Weights·z).
type Logistic struct {
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
	Lambda  float64   `json:"lambda"`
}

// Gaussian is a health baseline: the mean and precision (inverse covariance)
// of healthy rows' standardised features. The squared Mahalanobis distance d²
// of a vector from it is calibrated to a risk:
// risk = sigmoid(CalibA*log(1+d²) + CalibB).
type Gaussian struct {
	Center    []float64 `json:"center"`
	Precision []float64 `json:"precision"` // row-major, len(Center)²
	CalibA    float64   `json:"calib_a"`
	CalibB    float64   `json:"calib_b"`
}

// Boosted is an additive model of decision stumps on standardised features:
// risk = sigmoid(Base + Σ stump(z)).
type Boosted struct {
	Base   float64 `json:"base"`
	Stumps []Stump `json:"stumps"`
}

// Stump adds Left when z[Feature] < Split (or z is NaN), else Right.
type Stump struct {
	Feature int     `json:"feature"`
	Split   float64 `json:"split"`
	Left    float64 `json:"left"`
	Right   float64 `json:"right"`
}

// Dim is the feature vector length the model expects.
func (m *Model) Dim() int { return len(m.Mean) }

// standardize writes z for vec into dst (len Dim).
func (m *Model) standardize(dst, vec []float64) {
	for j := range dst {
		x := vec[j]
		if math.IsNaN(x) || math.IsInf(x, 0) {
			dst[j] = 0
			continue
		}
		dst[j] = (x - m.Mean[j]) / m.Scale[j]
	}
}

// Score returns the failure risk in [0,1] of a feature vector computed with
// m.Features. A vector of the wrong length scores NaN.
func (m *Model) Score(vec []float64) float64 {
	if len(vec) != m.Dim() {
		return math.NaN()
	}
	z := make([]float64, len(vec))
	m.standardize(z, vec)
	return m.scoreZ(z)
}

func (m *Model) scoreZ(z []float64) float64 {
	switch {
	case m.Logistic != nil:
		return sigmoid(m.Logistic.Bias + dot(m.Logistic.Weights, z))
	case m.Gaussian != nil:
		g := m.Gaussian
		return sigmoid(g.CalibA*math.Log1p(g.mahalanobis2(z, nil)) + g.CalibB)
	case m.Boosted != nil:
		f := m.Boosted.Base
		for _, s := range m.Boosted.Stumps {
			f += s.value(z[s.Feature])
		}
		return sigmoid(f)
	}
	return math.NaN()
}

func (s Stump) value(z float64) float64 {
	if math.IsNaN(z) || z < s.Split {
		return s.Left
	}
	return s.Right
}

// mahalanobis2 returns (z-c)ᵀP(z-c); if contrib is not nil it receives each
// feature's share (z-c)_j (P(z-c))_j, which sums to the total.
func (g *Gaussian) mahalanobis2(z, contrib []float64) float64 {
	d := len(g.Center)
	diff := make([]float64, d)
	for j := range d {
		diff[j] = z[j] - g.Center[j]
	}
	total := 0.0
	for i := range d {
		row := g.Precision[i*d : (i+1)*d]
		if contrib != nil {
			c := diff[i] * dot(row, diff)
			contrib[i] = c
			total += c
			continue
		}
		// P is symmetric: the diagonal once, the upper triangle twice.
		total += diff[i] * (row[i]*diff[i] + 2*dot(row[i+1:], diff[i+1:]))
	}
	if total < 0 {
		total = 0
	}
	return total
}

// Contributions returns each feature's push on the risk (positive = towards
// failure) in the technique's own units: weight·z for logistic, share of the
// Mahalanobis distance for gaussian, stump values relative to a usual vector
// for boosted.
func (m *Model) Contributions(vec []float64) []float64 {
	if len(vec) != m.Dim() {
		return nil
	}
	z := make([]float64, len(vec))
	m.standardize(z, vec)
	c := make([]float64, len(z))
	switch {
	case m.Logistic != nil:
		for j, w := range m.Logistic.Weights {
			c[j] = w * z[j]
		}
	case m.Gaussian != nil:
		m.Gaussian.mahalanobis2(z, c)
	case m.Boosted != nil:
		for _, s := range m.Boosted.Stumps {
			c[s.Feature] += s.value(z[s.Feature]) - s.value(0)
		}
	}
	return c
}

// Reasons returns up to n short lines, strongest first, each naming one
// metric of the machine that is out of its own recent normal and pushes vec's
// risk up, in the metric's unit: "vibration_mm_s 2.9, 7-day mean 1.4" (latest
// day, window mean) or, when the metric's spread is what drives the risk,
// "vibration_mm_s spread 0.92, usual 0.31" (see features.Spec.Reason).
//
// A metric's push is the sum of its features' contributions, so a metric
// whose level raises the risk while its other stats lower it more is not a
// reason; the line's shape follows its strongest feature. Window-wide
// features (cook counts, days with data, failure, fault and maintenance
// counts) are never reasons: "0 faults" or "cooked on 3 days" read as a
// cause for "stop" only confuse the kitchen, and are no part that can be
// checked. A metric that was not reported is not a reason either, so a
// healthy machine may get none.
func (m *Model) Reasons(vec []float64, n int) []string {
	c := m.Contributions(vec)
	if c == nil || n <= 0 {
		return nil
	}
	names := m.Features.Names()
	if len(names) != len(c) {
		return nil
	}
	type push struct {
		total     float64
		strongest int // the metric's feature with the largest contribution
	}
	byMetric := map[string]*push{}
	var metrics []string
	for j, name := range names {
		metric, _, isMetric := strings.Cut(name, ":")
		if !isMetric || math.IsNaN(c[j]) {
			continue
		}
		p := byMetric[metric]
		if p == nil {
			p = &push{strongest: j}
			byMetric[metric] = p
			metrics = append(metrics, metric)
		}
		p.total += c[j]
		if c[j] > c[p.strongest] {
			p.strongest = j
		}
	}
	// By push, then by name, so equal inputs give equal reasons on every run.
	slices.SortFunc(metrics, func(a, b string) int {
		if d := cmp.Compare(byMetric[b].total, byMetric[a].total); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	out := make([]string, 0, n)
	for _, metric := range metrics {
		p := byMetric[metric]
		if len(out) == n || p.total <= 1e-9 {
			break
		}
		if s := m.Features.Reason(vec, m.Mean, p.strongest); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Marshal returns model.json.
func (m *Model) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("model: marshal: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode reads and validates model.json (outside input: the agent downloads
// it). Unknown fields are rejected so a newer format is not half-understood.
func Decode(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("model: read: %w", err)
	}
	if len(data) > MaxJSON {
		return nil, fmt.Errorf("model: model.json larger than %d bytes", MaxJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model: decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("model: trailing data after model.json")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that m can be scored safely: known version and technique,
// exactly one parameter block, dimensions that match the feature Spec, and
// finite numbers.
func (m *Model) Validate() error {
	if m.V != Version {
		return fmt.Errorf("model: v=%d, this build understands v=%d", m.V, Version)
	}
	if err := m.Features.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	d := m.Features.Len()
	if len(m.Mean) != d || len(m.Scale) != d {
		return fmt.Errorf("model: mean/scale have %d/%d entries, features need %d", len(m.Mean), len(m.Scale), d)
	}
	if !finite(m.Threshold) || m.Threshold < 0 || m.Threshold > 1 {
		return fmt.Errorf("model: threshold %v not in [0,1]", m.Threshold)
	}
	if !allFinite(m.Mean) || !allFinite(m.Scale) {
		return errors.New("model: mean/scale not finite")
	}
	for _, s := range m.Scale {
		if s <= 0 {
			return errors.New("model: scale must be positive")
		}
	}
	blocks := 0
	for _, p := range []bool{m.Logistic != nil, m.Gaussian != nil, m.Boosted != nil} {
		if p {
			blocks++
		}
	}
	if blocks != 1 {
		return fmt.Errorf("model: want exactly one parameter block, got %d", blocks)
	}
	switch m.Technique {
	case TechLogistic, TechBaseline:
		l := m.Logistic
		if l == nil || len(l.Weights) != d || !allFinite(l.Weights) || !finite(l.Bias) || !finite(l.Lambda) {
			return fmt.Errorf("model: bad %s parameters", m.Technique)
		}
		if m.Technique == TechBaseline {
			// The baseline is the yardstick challengers must beat; one that
			// weighs other features is not that yardstick, whatever it says.
			base := m.Features.BaselineIndices()
			for j, w := range l.Weights {
				if w != 0 && !slices.Contains(base, j) {
					return fmt.Errorf("model: baseline weighs feature %d, which is not a mean, std or slope", j)
				}
			}
		}
	case TechGaussian:
		g := m.Gaussian
		if g == nil || len(g.Center) != d || len(g.Precision) != d*d || !allFinite(g.Center) ||
			!allFinite(g.Precision) || !finite(g.CalibA) || !finite(g.CalibB) {
			return errors.New("model: bad gaussian parameters")
		}
	case TechBoosted:
		b := m.Boosted
		if b == nil || !finite(b.Base) || len(b.Stumps) > 100000 {
			return errors.New("model: bad boosted parameters")
		}
		for _, s := range b.Stumps {
			if s.Feature < 0 || s.Feature >= d || !finite(s.Split) || !finite(s.Left) || !finite(s.Right) {
				return errors.New("model: bad boosted stump")
			}
		}
	default:
		return fmt.Errorf("model: unknown technique %q", m.Technique)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func allFinite(xs []float64) bool {
	for _, x := range xs {
		if !finite(x) {
			return false
		}
	}
	return true
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
