package model

import (
	"encoding/json"
	"math"
	"testing"
)

func TestROCAUC(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.9, 0.8, 0.2, 0.1}, []bool{true, true, false, false}, 1},
		{"inverted", []float64{0.1, 0.2, 0.8, 0.9}, []bool{true, true, false, false}, 0},
		// Positives at ranks 1 and 3 of 4: pairs won (p1>n1, p1>n2, p2>n2) = 3 of 4.
		{"one swap", []float64{0.9, 0.8, 0.7, 0.1}, []bool{true, false, true, false}, 0.75},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false}, 0.5},
		// One positive tied with one of two negatives, above the other: (0.5+1)/2.
		{"partial tie", []float64{0.5, 0.5, 0.1}, []bool{true, false, false}, 0.75},
		{"one class", []float64{0.5, 0.6}, []bool{false, false}, math.NaN()},
	}
	for _, tc := range tests {
		got := ROCAUC(tc.scores, tc.labels)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
			t.Errorf("%s: ROCAUC = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPRAUC(t *testing.T) {
	// Ranking P N P N: precision 1 at recall 0.5, 2/3 at recall 1 -> 0.5*1 + 0.5*2/3.
	got := PRAUC([]float64{0.9, 0.8, 0.7, 0.1}, []bool{true, false, true, false})
	if want := 0.5 + 1.0/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("PRAUC = %v, want %v", got, want)
	}
	if got := PRAUC([]float64{0.9, 0.1}, []bool{true, false}); got != 1 {
		t.Errorf("perfect PRAUC = %v", got)
	}
	if !math.IsNaN(PRAUC([]float64{0.9}, []bool{false})) {
		t.Error("PRAUC without positives should be NaN")
	}
}

func TestEvaluate(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.6, 0.4, 0.3, 0.1}
	labels := []bool{true, false, true, true, false, false}
	m := Evaluate(scores, labels, 0.5)
	// Flagged: 0.9 (tp), 0.8 (fp), 0.6 (tp); missed 0.4: P=2/3, R=2/3.
	if m.N != 6 || m.Positives != 3 {
		t.Errorf("N/Positives = %d/%d", m.N, m.Positives)
	}
	if math.Abs(m.Precision-2.0/3) > 1e-12 || math.Abs(m.Recall-2.0/3) > 1e-12 || math.Abs(m.F1-2.0/3) > 1e-12 {
		t.Errorf("P/R/F1 = %v/%v/%v, want 2/3 each", m.Precision, m.Recall, m.F1)
	}
	brier := (0.01 + 0.64 + 0.16 + 0.36 + 0.09 + 0.01) / 6
	if math.Abs(m.Brier-brier) > 1e-12 {
		t.Errorf("Brier = %v, want %v", m.Brier, brier)
	}
	// Nothing flagged: precision and F1 are 0, not NaN.
	if m := Evaluate(scores, labels, 0.95); m.Precision != 0 || m.F1 != 0 || m.Recall != 0 {
		t.Errorf("nothing flagged: %+v", m)
	}
}

func TestChooseThreshold(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.6, 0.4, 0.3, 0.1}
	labels := []bool{true, false, true, true, false, false}
	// Best F1 flags the top 4 (P=3/4, R=1, F1=6/7): threshold between 0.4 and 0.3.
	th := ChooseThreshold(scores, labels)
	if math.Abs(th-0.35) > 1e-12 {
		t.Errorf("threshold %v, want 0.35", th)
	}
	if f1 := Evaluate(scores, labels, th).F1; math.Abs(f1-6.0/7) > 1e-12 {
		t.Errorf("F1 at chosen threshold %v, want 6/7", f1)
	}
	if th := ChooseThreshold([]float64{0.2, 0.3}, []bool{false, false}); th != 1 {
		t.Errorf("no positives: threshold %v, want 1", th)
	}
	// The lowest-scored row flagged: threshold is halfway to 0.
	if th := ChooseThreshold([]float64{0.4}, []bool{true}); th != 0.2 {
		t.Errorf("single positive: threshold %v, want 0.2", th)
	}
}

func TestMetricsJSON(t *testing.T) {
	m := Metrics{ROCAUC: math.NaN(), PRAUC: math.NaN(), F1: 0.5, Precision: 1, Recall: 1.0 / 3, Brier: 0.1, Threshold: 0.4, N: 10, Positives: 0}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Metrics
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.ROCAUC) || back.F1 != 0.5 || back.Recall != 1.0/3 || back.N != 10 {
		t.Errorf("round trip %s gave %+v", b, back)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || raw["roc_auc"] != nil || raw["f1"] != 0.5 {
		t.Errorf("JSON %s: want roc_auc null and f1 0.5", b)
	}
}

func TestPRCurve(t *testing.T) {
	tests := []struct {
		name      string
		scores    []float64
		labels    []bool
		max       int
		wantLen   int
		wantFirst PRPoint
	}{
		{"no positives", []float64{0.1, 0.2}, []bool{false, false}, 50, 0, PRPoint{}},
		{"small", []float64{0.9, 0.8, 0.3, 0.1}, []bool{true, false, true, false}, 50, 4, PRPoint{0.9, 1, 0.5}},
		{"ties are one point", []float64{0.5, 0.5, 0.2}, []bool{true, false, true}, 50, 2, PRPoint{0.5, 0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PRCurve(tt.scores, tt.labels, tt.max)
			if len(got) != tt.wantLen {
				t.Fatalf("len %d, want %d: %+v", len(got), tt.wantLen, got)
			}
			if tt.wantLen > 0 && got[0] != tt.wantFirst {
				t.Errorf("first %+v, want %+v", got[0], tt.wantFirst)
			}
		})
	}

	// Thinning: 1,000 distinct scores become at most 50 points, recall
	// never falls, and the curve still ends at recall 1.
	scores := make([]float64, 1000)
	labels := make([]bool, 1000)
	for i := range scores {
		scores[i] = float64(i) / 1000
		labels[i] = i%3 == 0
	}
	got := PRCurve(scores, labels, 50)
	if len(got) > 50 || len(got) < 40 {
		t.Fatalf("thinned to %d points, want 40..50", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Recall < got[i-1].Recall || got[i].Threshold >= got[i-1].Threshold {
			t.Fatalf("point %d %+v after %+v", i, got[i], got[i-1])
		}
	}
	if last := got[len(got)-1]; last.Recall != 1 {
		t.Errorf("last point %+v, want recall 1", last)
	}
}
