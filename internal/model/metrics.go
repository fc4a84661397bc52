package model

import (
	"encoding/json"
	"math"
	"slices"
)

// Metrics are a model's quality on one labelled set, at one threshold. A
// metric that is undefined on the set (AUC with a single class) is NaN, and
// null in JSON.
type Metrics struct {
	ROCAUC    float64 // area under the ROC curve, ties counted half
	PRAUC     float64 // average precision (area under the precision-recall curve)
	F1        float64 // at Threshold
	Precision float64 // at Threshold; 0 when nothing is flagged
	Recall    float64 // at Threshold; 0 when there are no positives
	Brier     float64 // mean squared error of the risk
	Threshold float64 // risk >= Threshold is flagged
	N         int     // rows
	Positives int     // rows labelled true
}

type metricsJSON struct {
	ROCAUC    *float64 `json:"roc_auc"`
	PRAUC     *float64 `json:"pr_auc"`
	F1        *float64 `json:"f1"`
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	Brier     *float64 `json:"brier"`
	Threshold *float64 `json:"threshold"`
	N         int      `json:"n"`
	Positives int      `json:"positives"`
}

// Nullable is x for JSON: nil (null) when x is NaN or infinite, which JSON
// cannot hold. Other packages' reports of undefined figures use it too.
func Nullable(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// FromNullable reads back what Nullable wrote: nil is NaN.
func FromNullable(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes snake_case keys and null for undefined metrics.
func (m Metrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricsJSON{Nullable(m.ROCAUC), Nullable(m.PRAUC), Nullable(m.F1),
		Nullable(m.Precision), Nullable(m.Recall), Nullable(m.Brier), Nullable(m.Threshold), m.N, m.Positives})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var j metricsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metrics{FromNullable(j.ROCAUC), FromNullable(j.PRAUC), FromNullable(j.F1), FromNullable(j.Precision),
		FromNullable(j.Recall), FromNullable(j.Brier), FromNullable(j.Threshold), j.N, j.Positives}
	return nil
}

// Evaluate computes every metric of scores against labels (same length) at
// threshold.
func Evaluate(scores []float64, labels []bool, threshold float64) Metrics {
	m := Metrics{Threshold: threshold, N: len(scores)}
	var tp, fp, fn int
	brier := 0.0
	for i, s := range scores {
		y := 0.0
		if labels[i] {
			y = 1
			m.Positives++
		}
		brier += (s - y) * (s - y)
		switch pred := s >= threshold; {
		case pred && labels[i]:
			tp++
		case pred:
			fp++
		case labels[i]:
			fn++
		}
	}
	m.Precision, m.Recall, m.F1 = prf(tp, fp, fn)
	m.Brier = math.NaN()
	if m.N > 0 {
		m.Brier = brier / float64(m.N)
	}
	m.ROCAUC = ROCAUC(scores, labels)
	m.PRAUC = PRAUC(scores, labels)
	return m
}

func prf(tp, fp, fn int) (p, r, f1 float64) {
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	return p, r, f1
}

// order returns row indices sorted by descending score.
func order(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, byDescending(scores))
	return idx
}

// byDescending compares indices into v by descending value; the index breaks
// ties, so results never depend on the sort's internals.
func byDescending(v []float64) func(a, b int) int {
	return func(a, b int) int {
		switch {
		case v[a] > v[b]:
			return -1
		case v[a] < v[b]:
			return 1
		}
		return a - b
	}
}

// classCounts returns how many labels are positive and negative.
func classCounts(labels []bool) (pos, neg int) {
	for _, y := range labels {
		if y {
			pos++
		} else {
			neg++
		}
	}
	return pos, neg
}

// eachTie visits the groups of tied scores from the highest down, with each
// group's positives and negatives, its score, and the next lower score (0
// after the last group). The three ranking metrics are walks over it.
func eachTie(scores []float64, labels []bool, fn func(gp, gn int, hi, lo float64)) {
	idx := order(scores)
	for i := 0; i < len(idx); {
		j := i
		gp, gn := 0, 0
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if labels[idx[j]] {
				gp++
			} else {
				gn++
			}
			j++
		}
		lo := 0.0
		if j < len(idx) {
			lo = scores[idx[j]]
		}
		fn(gp, gn, scores[idx[i]], lo)
		i = j
	}
}

// ROCAUC is the probability that a random positive scores above a random
// negative (ties count half); NaN when either class is absent.
func ROCAUC(scores []float64, labels []bool) float64 {
	p, n := classCounts(labels)
	if p == 0 || n == 0 {
		return math.NaN()
	}
	pos, neg := float64(p), float64(n)
	// Walk groups of tied scores from the top: each positive wins against
	// every negative below it and half of the negatives tied with it.
	var wins, negAbove float64
	eachTie(scores, labels, func(gpi, gni int, _, _ float64) {
		gp, gn := float64(gpi), float64(gni)
		wins += gp * (neg - negAbove - gn + gn/2)
		negAbove += gn
	})
	return wins / (pos * neg)
}

// PRAUC is the average precision: Σ (R_k - R_{k-1}) P_k over the distinct
// score thresholds, as scikit-learn computes it; NaN with no positives.
func PRAUC(scores []float64, labels []bool) float64 {
	pos, _ := classCounts(labels)
	if pos == 0 {
		return math.NaN()
	}
	ap, tp, fp, prevR := 0.0, 0, 0, 0.0
	eachTie(scores, labels, func(gp, gn int, _, _ float64) {
		tp += gp
		fp += gn
		r := float64(tp) / float64(pos)
		ap += (r - prevR) * float64(tp) / float64(tp+fp)
		prevR = r
	})
	return ap
}

// ChooseThreshold returns the risk threshold that maximises F1 on
// (validation) scores and labels, halfway between the lowest flagged score and
// the next lower one so that it is not tied to one sample's exact value. With
// no positives it returns 1.
func ChooseThreshold(scores []float64, labels []bool) float64 {
	pos, _ := classCounts(labels)
	if pos == 0 || len(scores) == 0 {
		return 1
	}
	best, bestF1 := 1.0, -1.0
	tp, fp := 0, 0
	eachTie(scores, labels, func(gp, gn int, hi, lo float64) {
		tp += gp
		fp += gn
		if _, _, f1 := prf(tp, fp, pos-tp); f1 > bestF1 {
			bestF1 = f1
			best = (hi + lo) / 2
			if best <= lo { // adjacent floats: keep the flagged score flagged
				best = hi
			}
		}
	})
	return best
}

// PRPoint is one point of a precision-recall curve: flagging every row whose
// risk is at least Threshold gives Precision and Recall.
type PRPoint struct {
	Threshold float64 `json:"threshold"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// PRCurve returns the precision-recall curve over the distinct score
// thresholds, highest threshold first, thinned to at most maxPoints points
// (evenly spaced in recall, always keeping the last) so it fits in a model
// card. Nil with no positives or maxPoints < 2.
func PRCurve(scores []float64, labels []bool, maxPoints int) []PRPoint {
	pos, _ := classCounts(labels)
	if pos == 0 || maxPoints < 2 {
		return nil
	}
	var all []PRPoint
	tp, fp := 0, 0
	eachTie(scores, labels, func(gp, gn int, hi, _ float64) {
		tp += gp
		fp += gn
		all = append(all, PRPoint{Threshold: hi, Precision: float64(tp) / float64(tp+fp), Recall: float64(tp) / float64(pos)})
	})
	if len(all) <= maxPoints {
		return all
	}
	// Keep the first point at or past each recall step of 1/(maxPoints-1).
	out := make([]PRPoint, 0, maxPoints)
	step := 1 / float64(maxPoints-1)
	next := 0.0
	for i, p := range all {
		if i == len(all)-1 || (p.Recall >= next && len(out) < maxPoints-1) {
			out = append(out, p)
			next = p.Recall + step
		}
	}
	return out
}
