package model

import (
	"bytes"
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
)

func fitted(t testing.TB, tech Technique) *Model {
	t.Helper()
	m, err := tech.Fit(context.Background(), synthetic(200, 7))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeRejects(t *testing.T) {
	good, err := fitted(t, LogisticTechnique{}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(bytes.NewReader(good)); err != nil {
		t.Fatalf("valid model.json rejected: %v", err)
	}
	tests := map[string]string{
		"not json":           "hello",
		"trailing data":      string(good) + "{}",
		"unknown field":      strings.Replace(string(good), `"v": 1`, `"v": 1, "extra": 2`, 1),
		"future version":     strings.Replace(string(good), `"v": 1`, `"v": 2`, 1),
		"unknown tech":       strings.Replace(string(good), `"technique": "logistic"`, `"technique": "magic"`, 1),
		"two blocks":         strings.Replace(string(good), `"logistic": {`, `"boosted": {"base": 0, "stumps": []}, "logistic": {`, 1),
		"short weights":      strings.Replace(string(good), `"weights": [`, `"weights": [1,`, 1),
		"threshold > 1":      strings.Replace(string(good), `"threshold": 0.5`, `"threshold": 1.5`, 1),
		"unsorted spec":      strings.Replace(string(good), `"a",`, `"c",`, 1),
		"empty":              "",
		"null":               "null",
		"negative scale":     `{"v":1,"technique":"logistic","features":{"metrics":[],"window_days":7},"threshold":0.5,"mean":[0,0,0,0,0,0],"scale":[-1,1,1,1,1,1],"logistic":{"weights":[0,0,0,0,0,0],"bias":0,"lambda":0}}`,
		"stump out of range": `{"v":1,"technique":"boosted","features":{"metrics":[],"window_days":7},"threshold":0.5,"mean":[0,0,0,0,0,0],"scale":[1,1,1,1,1,1],"boosted":{"base":0,"stumps":[{"feature":6,"split":0,"left":0,"right":0}]}}`,
	}
	for name, in := range tests {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Decode(strings.NewReader(strings.Repeat(" ", MaxJSON+1))); err == nil {
		t.Error("oversized model.json accepted")
	}
}

func TestScoreWrongLength(t *testing.T) {
	m := fitted(t, GaussianTechnique{})
	if !math.IsNaN(m.Score([]float64{1, 2})) {
		t.Error("wrong-length vector scored")
	}
	// Unreported metrics (NaN) score as usual values, not as NaN.
	vec := make([]float64, m.Dim())
	for i := range vec {
		vec[i] = math.NaN()
	}
	if s := m.Score(vec); math.IsNaN(s) {
		t.Error("all-NaN vector scored NaN")
	}
}

func TestSelectPicksBetter(t *testing.T) {
	train, valid := synthetic(400, 11), synthetic(200, 12)
	cands, best, err := Select(context.Background(), Techniques(), train, valid)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != len(Techniques()) {
		t.Fatalf("%d candidates", len(cands))
	}
	for i, c := range cands {
		if c.Model == nil || c.Valid.N != len(valid.Y) {
			t.Fatalf("candidate %s incomplete: %+v", c.Technique, c)
		}
		if c.Valid.PRAUC > cands[best].Valid.PRAUC+SelectMargin {
			t.Errorf("candidate %d (%s) has clearly higher PR-AUC than the chosen %s", i, c.Technique, cands[best].Technique)
		}
		if i < best && cands[best].Valid.PRAUC <= c.Valid.PRAUC+SelectMargin && cands[best].Valid.ROCAUC <= c.Valid.ROCAUC+SelectMargin {
			t.Errorf("%s chosen over the earlier %s without beating it by the margin", cands[best].Technique, c.Technique)
		}
		if c.Model.Threshold != c.Valid.Threshold {
			t.Errorf("%s: model threshold %v, validation threshold %v", c.Technique, c.Model.Threshold, c.Valid.Threshold)
		}
	}
	if _, _, err := Select(context.Background(), Techniques(), Dataset{Spec: train.Spec}, valid); err == nil {
		t.Error("empty training set accepted")
	}
}

func TestBetterMargin(t *testing.T) {
	m := func(pr, roc float64) Metrics { return Metrics{PRAUC: pr, ROCAUC: roc} }
	tests := []struct {
		a, b Metrics
		want bool
	}{
		{m(0.90, 0.9), m(0.80, 0.9), true},
		{m(0.803, 0.9), m(0.80, 0.9), false},     // within the margin: earlier stays
		{m(0.80, 0.99), m(0.80, 0.90), true},     // PR tie, clearly better ROC
		{m(0.70, 0.99), m(0.80, 0.90), false},    // clearly worse PR
		{m(math.NaN(), 0.9), m(0.1, 0.9), false}, // undefined counts as 0
	}
	for i, tc := range tests {
		if got := better(tc.a, tc.b); got != tc.want {
			t.Errorf("case %d: better = %v, want %v", i, got, tc.want)
		}
	}
}

// Fits must be bit-for-bit reproducible, whatever the number of cores:
// sharded training runs must produce the same models as one run.
func TestFitDeterministic(t *testing.T) {
	d := synthetic(6000, 9) // large enough for the parallel paths
	fit := func(tech Technique) []byte {
		m, err := tech.Fit(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tech := range Techniques() {
		runtime.GOMAXPROCS(1)
		a := fit(tech)
		runtime.GOMAXPROCS(4)
		b := fit(tech)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: fits with 1 and 4 cores differ", tech.Name())
		}
	}
}

// FuzzDecode: model.json comes from the object store; no input may panic,
// and whatever decodes must score without panicking and re-encode.
func FuzzDecode(f *testing.F) {
	for _, tech := range Techniques() {
		b, err := fitted(f, tech).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		vec := make([]float64, m.Features.Len())
		s := m.Score(vec)
		if !(s >= 0 && s <= 1) && !math.IsNaN(s) {
			t.Fatalf("score %v outside [0,1]", s)
		}
		m.Reasons(vec, 3)
		if _, err := m.Marshal(); err != nil {
			t.Fatalf("decoded model does not re-encode: %v", err)
		}
	})
}
