package cmapss

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/record"
)

// Options configure an evaluation. Zero values take the defaults, which are
// the same for every subset.
type Options struct {
	Dir        string // directory with the subset's files
	Subset     string // e.g. "FD001"
	WindowDays int    // cycles per feature window; default 30
	MinDays    int    // cycles a window needs to be scored; default 5
	Horizon    int    // label: fails within this many cycles; default 30
	// ValidEvery puts every ValidEvery-th training unit (by position) in the
	// validation set that picks technique and threshold; default 5.
	ValidEvery int
	// Techniques compete; default logistic, gaussian and boosted: the list
	// the reference figures were measured with, before model.Techniques()
	// put the baseline first (which changes Select's near-tie winner).
	Techniques []model.Technique
	// Progress counts the engines whose feature rows are built (nil: not shown).
	Progress *progress.Bar
	// MaxRegimes bounds the operating-condition clustering; default 8.
	MaxRegimes int
	// Stride takes a training row every Stride cycles of each training unit
	// (counted back from its last cycle, so the cycles near failure are always
	// in); consecutive windows overlap almost entirely. Default 3.
	Stride int
}

func (o *Options) defaults() {
	if o.WindowDays <= 0 {
		o.WindowDays = 30
	}
	if o.MinDays <= 0 {
		o.MinDays = 5
	}
	if o.Horizon <= 0 {
		o.Horizon = 30
	}
	if o.ValidEvery <= 1 {
		o.ValidEvery = 5
	}
	if o.Techniques == nil {
		o.Techniques = []model.Technique{model.LogisticTechnique{}, model.GaussianTechnique{}, model.BoostedTechnique{}}
	}
	if o.MaxRegimes <= 0 {
		o.MaxRegimes = 8
	}
	if o.Stride <= 0 {
		o.Stride = 3
	}
}

// Result is the outcome of one evaluation. F1, AUC, Precision and Recall are
// measured on the test units at their last cycle, with the technique and
// threshold chosen on validation units split from the training units.
type Result struct {
	Subset     string       `json:"subset"`
	Technique  string       `json:"technique"`
	Threshold  float64      `json:"threshold"`
	F1         float64      `json:"f1"`
	AUC        float64      `json:"auc"`
	PRAUC      float64      `json:"pr_auc"`
	Precision  float64      `json:"precision"`
	Recall     float64      `json:"recall"`
	Brier      float64      `json:"brier"`
	N          int          `json:"n"`
	Positives  int          `json:"positives"`
	Unknown    int          `json:"unknown"` // test units with too few cycles for a trusted window (still scored)
	WindowDays int          `json:"window"`
	Horizon    int          `json:"horizon"`
	Regimes    int          `json:"regimes"`
	Sensors    []string     `json:"sensors"`
	TrainRows  int          `json:"train_rows"`
	ValidRows  int          `json:"valid_rows"`
	Candidates []Candidate  `json:"candidates"`
	Seconds    float64      `json:"seconds"`
	Model      *model.Model `json:"-"`
}

// Candidate is one technique's figures. Valid chose the technique and its
// threshold; Test (at that threshold) is reported for information only and
// never used to choose anything.
type Candidate struct {
	Technique string         `json:"technique"`
	Valid     model.Metrics  `json:"valid"`
	Test      *model.Metrics `json:"test,omitempty"`
	Err       string         `json:"error,omitempty"`
}

// Run loads the subset and evaluates: fit regimes and sensor normalisation on
// the training units, build a feature row every Stride cycles of each
// training unit (label: the engine fails within Horizon cycles), fit every
// technique on the training split, choose technique and threshold on the
// validation split, and score each test unit at its last cycle. The scored
// model is the one fitted on the training split: refitting on all training
// units would leave the threshold chosen for a different model.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	o.defaults()
	s, err := Load(o.Dir, o.Subset)
	if err != nil {
		return nil, err
	}
	res, err := Evaluate(ctx, s, o)
	if err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// Evaluate is Run on an already loaded subset.
func Evaluate(ctx context.Context, s *Subset, o Options) (*Result, error) {
	o.defaults()
	var trainRows []Row
	for _, u := range s.Train {
		trainRows = append(trainRows, u.Rows...)
	}
	regimes := FitRegimes(trainRows, o.MaxRegimes, 0.999)
	nz, err := FitNormalizer(trainRows, regimes)
	if err != nil {
		return nil, err
	}
	spec := features.Spec{Metrics: nz.Names(), WindowDays: o.WindowDays, MinDays: o.MinDays}
	if err := spec.Validate(); err != nil {
		return nil, err
	}

	// Training rows: every Stride-th cycle of every training unit whose
	// window is trusted, labelled by its remaining life. Units are split by
	// position, never by row, so no engine is on both sides.
	var trainIdx, validIdx []int
	for i := range s.Train {
		if (i+1)%o.ValidEvery == 0 {
			validIdx = append(validIdx, i)
		} else {
			trainIdx = append(trainIdx, i)
		}
	}
	o.Progress.SetTotal(len(s.Train) + len(s.Test))
	defer o.Progress.Done()
	train, err := unitRows(ctx, spec, nz, s.Train, trainIdx, o.Horizon, o.Stride, o.Progress)
	if err != nil {
		return nil, err
	}
	valid, err := unitRows(ctx, spec, nz, s.Train, validIdx, o.Horizon, o.Stride, o.Progress)
	if err != nil {
		return nil, err
	}
	cands, best, err := model.Select(ctx, o.Techniques, train.Dataset, valid.Dataset)
	if err != nil {
		return nil, err
	}
	m := cands[best].Model

	// Test: one row per unit, at its last cycle.
	allTest := make([]int, len(s.Test))
	for i := range allTest {
		allTest[i] = i
	}
	test, err := unitRows(ctx, spec, nz, s.Test, allTest, o.Horizon, 0, o.Progress)
	if err != nil {
		return nil, err
	}
	scores := m.ScoreAll(test.X)
	met := model.Evaluate(scores, test.Y, m.Threshold)
	var cr []Candidate
	for _, c := range cands {
		r := Candidate{Technique: c.Technique, Valid: c.Valid, Err: c.Err}
		if c.Model != nil {
			t := model.Evaluate(c.Model.ScoreAll(test.X), test.Y, c.Model.Threshold)
			r.Test = &t
		}
		cr = append(cr, r)
	}
	res := &Result{
		Subset: s.Name, Technique: m.Technique, Threshold: m.Threshold,
		F1: met.F1, AUC: met.ROCAUC, PRAUC: met.PRAUC, Precision: met.Precision, Recall: met.Recall, Brier: met.Brier,
		N: met.N, Positives: met.Positives, Unknown: test.unknown,
		WindowDays: o.WindowDays, Horizon: o.Horizon, Regimes: regimes.K(), Sensors: spec.Metrics,
		TrainRows: len(train.X), ValidRows: len(valid.X), Candidates: cr, Model: m,
	}
	return res, nil
}

type rows struct {
	model.Dataset
	unknown int
}

// unitRows computes feature rows for the chosen units. With stride 0, each
// unit gives one row at its last cycle (scored even if its window is short,
// and counted in unknown); otherwise every stride-th cycle back from the last
// with a trusted window gives a row. Units are processed in parallel; the
// output order is fixed.
func unitRows(ctx context.Context, spec features.Spec, nz *Normalizer, units []Unit, idx []int, horizon int, stride int, bar *progress.Bar) (rows, error) {
	last := stride == 0
	type part struct {
		X       [][]float64
		Y       []bool
		unknown int
	}
	parts := make([]part, len(idx))
	workers := min(runtime.GOMAXPROCS(0), len(idx))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				bar.Add(1)
				u := &units[idx[k]]
				recs := make([]record.Record, len(u.Rows))
				days := make([][]record.Record, len(u.Rows))
				for c := range u.Rows {
					recs[c] = record.Record{Type: record.TypeCook, Seq: int64(c), Metrics: nz.Metrics(&u.Rows[c])}
					days[c] = recs[c : c+1 : c+1]
				}
				p := &parts[k]
				var ends []int
				if last {
					ends = []int{len(days)}
				} else {
					for c := len(days) % stride; c <= len(days); c += stride {
						if c > 0 {
							ends = append(ends, c)
						}
					}
				}
				spec.SeriesAt(days, ends, func(c int, vec []float64, ok bool) bool {
					// The window ending with cycle c (cycles c-W+1..c)
					// predicts from cycle c on.
					if !ok && !last {
						return true
					}
					if !ok {
						p.unknown++
					}
					p.X = append(p.X, slices.Clone(vec))
					p.Y = append(p.Y, len(days)-c+u.RUL <= horizon)
					return true
				})
			}
		}()
	}
	for k := range idx {
		if ctx.Err() != nil {
			break
		}
		next <- k
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return rows{}, err
	}
	out := rows{Dataset: model.Dataset{Spec: spec}}
	for _, p := range parts {
		out.X = append(out.X, p.X...)
		out.Y = append(out.Y, p.Y...)
		out.unknown += p.unknown
	}
	if len(out.X) == 0 {
		return rows{}, errors.New("cmapss: no rows with enough cycles")
	}
	return out, nil
}

// Summary is a one-line human summary of r.
func (r *Result) Summary() string {
	return fmt.Sprintf("%s: technique=%s f1=%.3f auc=%.3f precision=%.3f recall=%.3f threshold=%.3f n=%d positives=%d regimes=%d sensors=%d window=%d (%.2fs)",
		r.Subset, r.Technique, r.F1, r.AUC, r.Precision, r.Recall, r.Threshold, r.N, r.Positives, r.Regimes, len(r.Sensors), r.WindowDays, r.Seconds)
}
