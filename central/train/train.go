// Package train is budare-central's nightly trainer: it streams the uploaded
// daily windows of a phase's kitchens, builds one labelled dataset per arepa
// type with the shared feature code, fits every technique, judges the best
// one against the current champion on a time-based holdout, and publishes the
// winners as a signed release.
package train

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/inventory"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// Options configure one training run.
type Options struct {
	Bucket Bucket
	// Types are the listed arepa types (all of them; Shard picks a part).
	Types []string
	Phase int
	// Date is the run date (yyyy-mm-dd); the span ends the day before.
	Date  string
	Shard Shard // zero value: one shard
	// ReferenceDecoder reads the windows with encoding/json alone, as the
	// trainer did before record.FastWindowLine: the baseline of benchmarks.
	ReferenceDecoder bool
	// Run names a staged run (Rows, Fit): its objects are under
	// StagingPrefix(Run).
	Run   string
	Train config.Train
	// Techniques compete exactly as given (tests); nil means the config's
	// list or model.Techniques(), always with the plain baseline.
	Techniques []model.Technique
	// Public verifies the current release before its models are trusted as
	// champions; nil skips the check (tests only).
	Public ed25519.PublicKey
	Log    *slog.Logger
	// Progress shows the reading of the windows, the long part of a run
	// (nil: nothing shown).
	Progress *progress.Bar
}

// Status of one arepa type after a run.
const (
	StatusNew    = "new"     // the challenger won (or there was no champion)
	StatusKept   = "kept"    // the champion stays
	StatusNoData = "no-data" // listed, but no usable rows: no new model
)

// Result is the outcome for one arepa type.
type Result struct {
	Arepa  string `json:"arepa"`
	Status string `json:"status"`
	// Model is the new model.json (StatusNew), byte for byte as published,
	// and Technique its technique field.
	Model     []byte `json:"model,omitempty"`
	Technique string `json:"technique,omitempty"`
	// Champion is the current release's entry for the type, if any; a kept
	// champion is published as this entry.
	Champion *release.Entry `json:"champion,omitempty"`
	Card     *Card          `json:"card,omitempty"`
	Warning  string         `json:"warning,omitempty"`
	// Calibration holds the risk the shipped model (new or kept) gives every
	// validation and holdout row, out of sample where it can be: the
	// publisher combines them per machine-day, as the agent does, and
	// chooses the level thresholds on that.
	Calibration []ScoredRow `json:"calibration,omitempty"`
}

// ScoredRow is one row's risk under a type's shipped model.
type ScoredRow struct {
	Machine string  `json:"m"` // kitchen/machine
	Day     string  `json:"d"`
	Risk    float64 `json:"r"`
	Label   bool    `json:"y,omitempty"`
}

// Outcome is what Run returns for its shard.
type Outcome struct {
	Date     string   `json:"date"`
	Phase    int      `json:"phase"`
	Shard    string   `json:"shard"`
	Types    []string `json:"types"` // this shard's types, sorted
	Kitchens []string `json:"kitchens"`
	// ChampionRelease is the release that was current when the run read it
	// (0 when there was none); assemble refuses shards that disagree.
	ChampionRelease int64    `json:"champion_release"`
	Results         []Result `json:"results"`
	Stats           Stats    `json:"stats"`
}

// Stats counts what was read.
type Stats struct {
	Windows  int `json:"windows"`
	Missing  int `json:"missing_windows"`
	Records  int `json:"records"`
	BadLines int `json:"bad_lines"`
	Rows     int `json:"rows"`
	// Bytes is how many bytes of (compressed) windows were read.
	Bytes int64 `json:"window_bytes"`
}

// MaxCurvePoints bounds the precision-recall curve kept in a card.
const MaxCurvePoints = 50

// Card is card.json: how a model was chosen.
type Card struct {
	V           int             `json:"v"`
	Arepa       string          `json:"arepa"`
	Release     int64           `json:"release,omitempty"`
	Date        string          `json:"date"`
	Phase       int             `json:"phase"`
	SpanFirst   string          `json:"span_first"`
	SpanLast    string          `json:"span_last"`
	HorizonDays int             `json:"horizon_days"`
	Kitchens    []string        `json:"kitchens"`
	Slices      map[string]Part `json:"slices"` // train, validation, holdout
	Features    []string        `json:"features"`
	// Failure is the rule that made the labels: which event kinds (and
	// codes) count as a failure.
	Failure record.FailureRule `json:"failure"`
	// Folds are the rolling-origin validation weeks, latest first.
	Folds      []Part          `json:"folds,omitempty"`
	Candidates []CandidateCard `json:"candidates"`
	// Baseline is the plain baseline technique every candidate is compared
	// with (each candidate's BaselineGain).
	Baseline  string  `json:"baseline,omitempty"`
	Chosen    string  `json:"chosen"`
	Threshold float64 `json:"threshold"`
	// PRCurve is the chosen model's precision-recall curve on the holdout
	// (at most MaxCurvePoints, highest threshold first), for the dashboard.
	PRCurve  []model.PRPoint `json:"pr_curve,omitempty"`
	Champion *ChampionCard   `json:"champion,omitempty"`
	Metric   string          `json:"metric"`
	Margin   float64         `json:"margin"`
	Decision string          `json:"decision"`
	// Levels are the release's level thresholds on the machine-day risk,
	// with how each did on the validation days (filled by the publisher:
	// they depend on every type's model).
	Levels *LevelsCard `json:"levels,omitempty"`
}

// Part is one time slice of the rows.
type Part struct {
	From      string  `json:"from"` // row days, inclusive
	To        string  `json:"to"`
	Rows      int     `json:"rows"`
	Positives int     `json:"positives"`
	Balance   float64 `json:"positive_share"`
}

// CandidateCard is one technique's result.
type CandidateCard struct {
	Technique  string         `json:"technique"`
	Validation *model.Metrics `json:"validation,omitempty"` // pooled over the folds
	Holdout    *model.Metrics `json:"holdout,omitempty"`
	// BaselineGain is how much the candidate's metric beats the plain
	// baseline's, on validation and on the holdout.
	BaselineGain *Gain  `json:"baseline_gain,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Gain is a difference of the compared metric.
type Gain struct {
	Validation float64 `json:"validation"`
	Holdout    float64 `json:"holdout"`
}

// ChampionCard is the current model judged on the same holdout.
type ChampionCard struct {
	Release   int64          `json:"release"` // where its model file was trained
	Technique string         `json:"technique"`
	Holdout   *model.Metrics `json:"holdout,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// champion is a loaded current model.
type champion struct {
	entry release.Entry
	model *model.Model
	err   error
}

// Run trains this shard's arepa types. It reads but never writes the store.
func Run(ctx context.Context, o Options) (*Outcome, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Shard.N == 0 {
		o.Shard = Shard{0, 1}
	}
	t := o.Train
	span, err := runSpan(o.Date, t)
	if err != nil {
		return nil, err
	}
	span.referenceDecoder = o.ReferenceDecoder
	techs, err := techniques(o)
	if err != nil {
		return nil, err
	}
	mine := o.Shard.Pick(o.Types)
	out := &Outcome{Date: o.Date, Phase: o.Phase, Shard: o.Shard.String(), Types: mine}

	kitchens, err := phaseKitchens(ctx, o.Bucket, o.Phase)
	if err != nil {
		return nil, err
	}
	for _, k := range kitchens {
		out.Kitchens = append(out.Kitchens, k.Name)
	}
	log.Info("training", "date", o.Date, "phase", o.Phase, "shard", out.Shard, "types", len(mine),
		"kitchens", len(kitchens), "span", span.First+".."+span.Last)

	cur, champs, err := trustedChampions(ctx, o.Bucket, o.Public, mine, log)
	if err != nil {
		return nil, err
	}
	out.ChampionRelease = cur

	want := typeSet(o.Types)
	var rowTypes map[string]bool
	if len(mine) < len(want) {
		rowTypes = typeSet(mine)
	}
	parts, counts, err := readKitchens(ctx, o.Bucket, o.Train.Workers, kitchens, span, want, rowTypes, explicitChampSpecs(champs, span), &out.Stats, o.Progress, log)
	if err != nil {
		return nil, err
	}
	for _, a := range mine {
		spec, champSpec := chooseSpecs(a, counts, champs[a], t.MinMetricShare)
		rs, err := buildRowSet(parts[a], spec, champSpec, span)
		if err != nil {
			return nil, fmt.Errorf("arepa %s: %w", a, err)
		}
		parts[a] = nil // let the kitchens' rows go as each type is laid out
		out.Stats.Rows += rs.n()
		res := trainType(ctx, a, o, span, kitchens, spec, champSpec, rs, champs[a], techs, log)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

// techniques returns the competing techniques: o.Techniques as given, or
// the config's list (every technique when empty), always with the plain
// baseline.
func techniques(o Options) ([]model.Technique, error) {
	if o.Techniques != nil {
		return o.Techniques, nil
	}
	techs := model.Techniques()
	if len(o.Train.Techniques) > 0 {
		techs = nil
		for _, name := range o.Train.Techniques {
			tc := model.TechniqueByName(name)
			if tc == nil {
				return nil, fmt.Errorf("unknown technique %q", name)
			}
			techs = append(techs, tc)
		}
	}
	return withBaseline(techs), nil
}

// runSpan lays out the span of a run from its date and training settings.
func runSpan(date string, t config.Train) (*Span, error) {
	span, err := NewSpan(date, t.SpanDays, features.DefaultWindowDays, t.HorizonDays, t.ValidationDays, t.HoldoutDays, t.Folds)
	if err != nil {
		return nil, err
	}
	span.failure = t.Failure
	return span, nil
}

// phaseKitchens returns the kitchens of a phase from the inventory, sorted
// by name.
func phaseKitchens(ctx context.Context, b Bucket, phase int) ([]Kitchen, error) {
	inv, err := b.Get(ctx, inventory.Key, 0)
	if err != nil {
		return nil, fmt.Errorf("kitchen inventory: %w", err)
	}
	all, err := inventory.Decode(inv)
	if err != nil {
		return nil, err
	}
	kitchens := inventory.FilterPhase(all, phase)
	slices.SortFunc(kitchens, func(a, b Kitchen) int { return cmp.Compare(a.Name, b.Name) })
	if len(kitchens) == 0 {
		return nil, fmt.Errorf("no kitchen of phase %d in %s (%d kitchens listed)", phase, inventory.Key, len(all))
	}
	return kitchens, nil
}

// trustedChampions loads the current release's models of types; a release
// that does not verify (e.g. after a key rotation) gives no champions, so
// every type gets its challenger.
func trustedChampions(ctx context.Context, b Bucket, pub ed25519.PublicKey, types []string, log *slog.Logger) (int64, map[string]*champion, error) {
	cur, champs, err := loadChampions(ctx, b, pub, types)
	if errors.Is(err, release.ErrSignature) || errors.Is(err, release.ErrMalformed) {
		log.Warn("the current release is not trusted; training without champions", "err", err)
		return cur, map[string]*champion{}, nil
	}
	return cur, champs, err
}

func typeSet(types []string) map[string]bool {
	m := make(map[string]bool, len(types))
	for _, a := range types {
		m[a] = true
	}
	return m
}

// explicitChampSpecs returns the champions' Specs whose vectors cannot be
// picked from the rows' columns: they are computed from the windows.
func explicitChampSpecs(champs map[string]*champion, span *Span) map[string]*features.Spec {
	out := map[string]*features.Spec{}
	for a, c := range champs {
		if c != nil && c.model != nil && !pickable(c.model.Features, span.Window) {
			s := c.model.Features
			out[a] = &s
		}
	}
	return out
}

// chooseSpecs returns a type's feature Spec from the metric counts and,
// when its champion's own Spec differs, that Spec (nil otherwise).
func chooseSpecs(a string, counts metricCounts, c *champion, share float64) (spec, champ *features.Spec) {
	spec = specFor(a, counts.Counts, counts.Cooks, share, features.DefaultWindowDays)
	if c != nil && c.model != nil && !reflect.DeepEqual(c.model.Features, *spec) {
		s := c.model.Features
		champ = &s
	}
	return spec, champ
}

// readKitchens streams the kitchens on workers goroutines and returns each
// row type's rows per kitchen, in kitchen order, and the summed metric
// counts, so nothing depends on scheduling.
func readKitchens(ctx context.Context, b Bucket, workers int, kitchens []Kitchen, span *Span, want, rowTypes map[string]bool,
	champ map[string]*features.Spec, st *Stats, bar *progress.Bar, log *slog.Logger) (map[string][]*typeRows, metricCounts, error) {
	var counts metricCounts
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(kitchens)))
	bar.SetTotal(len(kitchens) * len(span.days))
	defer bar.Done()
	type res struct {
		out *kitchenOut
		err error
	}
	results := make([]res, len(kitchens))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				o, err := kitchenRows(ctx, b, kitchens[i], span, want, rowTypes, champ, bar, log)
				results[i] = res{o, err}
				if err != nil {
					cancel()
				}
			}
		})
	}
feed:
	for i := range kitchens {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// The kitchen that failed first, not one its failure cancelled.
	var firstErr error
	for i, r := range results {
		if r.err != nil && (firstErr == nil || !errors.Is(r.err, context.Canceled)) {
			firstErr = fmt.Errorf("kitchen %s: %w", kitchens[i].Name, r.err)
			if !errors.Is(r.err, context.Canceled) {
				break
			}
		}
	}
	if firstErr != nil {
		return nil, counts, firstErr
	}
	parts := map[string][]*typeRows{}
	for i, r := range results {
		if r.out == nil {
			return nil, counts, ctx.Err()
		}
		st.Windows += r.out.st.Windows
		st.Missing += r.out.st.Missing
		st.Records += r.out.st.Records
		st.BadLines += r.out.st.BadLines
		st.Bytes += r.out.st.Bytes
		counts.add(r.out.counts)
		for _, a := range sortedKeys(r.out.rows) {
			parts[a] = append(parts[a], r.out.rows[a])
		}
		results[i].out = nil
	}
	if st.BadLines > 0 {
		log.Warn("windows held bad lines", "lines", st.BadLines)
	}
	if counts.Counts == nil {
		counts.add(metricCounts{})
	}
	return parts, counts, nil
}

// loadChampions reads the current release and the models of the wanted
// types. A type whose model cannot be loaded has a champion with err set: it
// is reported and the challenger wins.
func loadChampions(ctx context.Context, b Bucket, pub ed25519.PublicKey, types []string) (int64, map[string]*champion, error) {
	out := map[string]*champion{}
	cur, err := release.Current(ctx, b)
	if err != nil || cur == 0 || len(types) == 0 {
		// No types (a shard given none): read no model; release.Load reads
		// every model of the release when Arepas is nil.
		return cur, out, err
	}
	l, err := release.Load(ctx, b, release.Published(cur), release.LoadOptions{
		Policy: release.Policy{PublicKey: pub, Release: cur}, Arepas: types, Partial: true})
	if err != nil {
		return cur, out, fmt.Errorf("release %d: %w", cur, err)
	}
	for _, a := range types {
		if e, ok := l.Manifest.Models[a]; ok {
			out[a] = &champion{entry: e, model: l.Models[a], err: l.Errs[a]}
		}
	}
	return cur, out, nil
}

// Current returns the current release number and its manifest, or 0 and nil
// when there is none yet. When the manifest does not load or verify, the
// number is still returned with the error. With pub set, the manifest's signature must verify
// (expiry is not checked: an expired champion can still be beaten or kept).
func Current(ctx context.Context, b Bucket, pub ed25519.PublicKey) (int64, *release.Manifest, error) {
	n, err := release.Current(ctx, b)
	if err != nil || n == 0 {
		return n, nil, err
	}
	m, err := LoadManifest(ctx, b, n, pub)
	if err != nil {
		return n, nil, err
	}
	return n, m, nil
}

// LoadManifest reads release n and, with pub set, checks its signature.
func LoadManifest(ctx context.Context, b Bucket, n int64, pub ed25519.PublicKey) (*release.Manifest, error) {
	l, err := release.Load(ctx, b, release.Published(n), release.LoadOptions{
		Policy: release.Policy{PublicKey: pub, Release: n}, Arepas: []string{}})
	if err != nil {
		return nil, fmt.Errorf("release %d: %w", n, err)
	}
	return l.Manifest, nil
}

// dataset cuts the rows whose day is in [from, to] out of a row set.
func dataset(spec *features.Spec, rs *rowSet, from, to int) (model.Dataset, []int) {
	d := model.Dataset{Spec: *spec}
	var idx []int
	for i := range rs.n() {
		if day := int(rs.day[i]); day >= from && day <= to {
			d.X = append(d.X, rs.x[i*rs.dim:(i+1)*rs.dim:(i+1)*rs.dim])
			d.Y = append(d.Y, rs.y[i])
			idx = append(idx, i)
		}
	}
	return d, idx
}

// champVec returns row i's vector under the champion's own Spec, or nil
// when it was not computed.
func champVec(rs *rowSet, i int) []float64 {
	if i >= len(rs.champRow) || rs.champRow[i] < 0 {
		return nil
	}
	c := int(rs.champRow[i])
	return rs.champ[c*rs.champDim : (c+1)*rs.champDim]
}

func part(span *Span, from, to int, d model.Dataset) Part {
	p := Part{From: span.Day(from), To: span.Day(to), Rows: len(d.Y), Positives: d.Positives()}
	if p.Rows > 0 {
		p.Balance = float64(p.Positives) / float64(p.Rows)
	}
	return p
}

// withBaseline puts the plain baseline first among techs when it is not
// there: every run compares with it, and listed first it wins near-ties.
func withBaseline(techs []model.Technique) []model.Technique {
	b := model.TechniqueByName(baselineName)
	if b == nil {
		return techs
	}
	for _, t := range techs {
		if t.Name() == baselineName {
			return techs
		}
	}
	return append([]model.Technique{b}, techs...)
}

// baselineName is the plain baseline's technique: logistic regression on
// each metric's 7-day mean, spread and slope.
const baselineName = "baseline"

// fitted is one technique's results: its fold models' pooled validation
// scores and the final model fitted on every row before the holdout.
type fitted struct {
	tech   string
	valid  []float64 // aligned with the pooled validation rows
	final  *model.Model
	err    error
	vm, hm model.Metrics
}

// fitAll fits every technique on every fold and on the final training rows,
// GOMAXPROCS fits at a time. Results do not depend on scheduling.
func fitAll(ctx context.Context, techs []model.Technique, folds []foldData, final model.Dataset) []*fitted {
	// Every technique fits the same datasets: they standardise each once.
	final = final.Shared()
	folds = slices.Clone(folds)
	for i := range folds {
		folds[i].train = folds[i].train.Shared()
	}
	out := make([]*fitted, len(techs))
	foldModels := make([][]*model.Model, len(techs))
	for i, t := range techs {
		out[i] = &fitted{tech: t.Name()}
		foldModels[i] = make([]*model.Model, len(folds))
	}
	type job struct{ t, f int } // f == len(folds): the final fit
	jobs := make(chan job)
	errs := make([][]error, len(techs))
	for i := range errs {
		errs[i] = make([]error, len(folds)+1)
	}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				d := final
				if j.f < len(folds) {
					d = folds[j.f].train
				}
				m, err := techs[j.t].Fit(ctx, d)
				errs[j.t][j.f] = err
				if j.f < len(folds) {
					foldModels[j.t][j.f] = m
				} else {
					out[j.t].final = m
				}
			}
		})
	}
	for t := range techs {
		for f := range len(folds) + 1 {
			jobs <- job{t, f}
		}
	}
	close(jobs)
	wg.Wait()
	for t, ft := range out {
		for _, err := range errs[t] {
			if err != nil && ft.err == nil {
				ft.err = err
			}
		}
		if ft.err != nil {
			continue
		}
		for f, fd := range folds {
			ft.valid = append(ft.valid, foldModels[t][f].ScoreAll(fd.valid.X)...)
		}
	}
	return out
}

// foldData is one fold's rows.
type foldData struct {
	train, valid model.Dataset
	validIdx     []int // row indexes of valid
	part         Part
}

// better reports whether a (listed later) beats b on pooled validation: the
// compared metric higher by more than model.SelectMargin, or, within it,
// ROC-AUC higher by more than it. Near-ties go to the earlier, simpler
// technique.
func better(a, b model.Metrics, metric string) bool {
	pa, pb := orZero(metricOf(a, metric)), orZero(metricOf(b, metric))
	if math.Abs(pa-pb) > model.SelectMargin {
		return pa > pb
	}
	return orZero(a.ROCAUC) > orZero(b.ROCAUC)+model.SelectMargin
}

func orZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

func trainType(ctx context.Context, a string, o Options, span *Span, kitchens []Kitchen, spec, champSpec *features.Spec,
	rs *rowSet, champ *champion, techs []model.Technique, log *slog.Logger) Result {
	t := o.Train
	res := Result{Arepa: a}
	if champ != nil {
		e := champ.entry
		res.Champion = &e
	}
	trainD, _ := dataset(spec, rs, span.TrainFrom, span.TrainTo)
	validD, _ := dataset(spec, rs, span.ValidFrom, span.ValidTo)
	finalD, _ := dataset(spec, rs, span.TrainFrom, span.ValidTo)
	holdD, holdIdx := dataset(spec, rs, span.HoldoutFrom, span.HoldoutTo)
	card := &Card{V: 1, Arepa: a, Date: o.Date, Phase: o.Phase, SpanFirst: span.First, SpanLast: span.Last,
		HorizonDays: span.Horizon, Features: spec.Names(), Metric: t.Metric, Margin: t.Margin, Failure: span.failure.OrDefault(),
		Slices: map[string]Part{
			"train":      part(span, span.TrainFrom, span.TrainTo, trainD),
			"validation": part(span, span.ValidFrom, span.ValidTo, validD),
			"holdout":    part(span, span.HoldoutFrom, span.HoldoutTo, holdD),
		}}
	for _, k := range kitchens {
		card.Kitchens = append(card.Kitchens, k.Name)
	}
	res.Card = card
	noData := func(why string) Result {
		res.Status = StatusNoData
		res.Warning = why
		if champ != nil {
			card.Decision = "no new model (" + why + "); the current model stays"
		} else {
			card.Decision = "no model (" + why + ")"
		}
		log.Warn("no new model", "arepa", a, "reason", why)
		return res
	}
	// Folds whose training rows hold no failure cannot fit a model; they
	// are left out (the card shows which were used).
	var folds []foldData
	for _, f := range span.Folds {
		tr, _ := dataset(spec, rs, span.TrainFrom, f.TrainTo)
		va, vi := dataset(spec, rs, f.ValidFrom, f.ValidTo)
		if tr.Positives() == 0 || len(va.Y) == 0 {
			continue
		}
		folds = append(folds, foldData{train: tr, valid: va, validIdx: vi, part: part(span, f.ValidFrom, f.ValidTo, va)})
	}
	pooledY := []bool{}
	var pooledIdx []int
	for _, f := range folds {
		card.Folds = append(card.Folds, f.part)
		pooledY = append(pooledY, f.valid.Y...)
		pooledIdx = append(pooledIdx, f.validIdx...)
	}
	validPos := 0
	for _, y := range pooledY {
		if y {
			validPos++
		}
	}
	switch {
	case rs.n() == 0:
		return noData("listed type has no data in the span")
	case len(trainD.Y) == 0 || len(validD.Y) == 0 || len(holdD.Y) == 0:
		return noData(fmt.Sprintf("too little data: %d train, %d validation, %d holdout rows", len(trainD.Y), len(validD.Y), len(holdD.Y)))
	case len(folds) == 0 || validPos == 0:
		return noData(fmt.Sprintf("no failures to learn from: %d in train, %d in validation", trainD.Positives(), validD.Positives()))
	}
	fits := fitAll(ctx, techs, folds, finalD)
	if ctx.Err() != nil {
		return res
	}
	best, base := -1, -1
	for i, f := range fits {
		cc := CandidateCard{Technique: f.tech}
		if f.err != nil {
			cc.Error = f.err.Error()
			card.Candidates = append(card.Candidates, cc)
			continue
		}
		f.final.Threshold = model.ChooseThreshold(f.valid, pooledY)
		f.vm = model.Evaluate(f.valid, pooledY, f.final.Threshold)
		f.hm = model.Evaluate(f.final.ScoreAll(holdD.X), holdD.Y, f.final.Threshold)
		cc.Validation, cc.Holdout = &f.vm, &f.hm
		card.Candidates = append(card.Candidates, cc)
		if f.tech == baselineName {
			base = i
		}
		if best < 0 || better(f.vm, fits[best].vm, t.Metric) {
			best = i
		}
	}
	if best < 0 {
		return noData("every technique failed: " + fits[0].err.Error())
	}
	guard := ""
	if base >= 0 {
		card.Baseline = baselineName
		bv, bh := metricOf(fits[base].vm, t.Metric), metricOf(fits[base].hm, t.Metric)
		for i, f := range fits {
			if f.err == nil {
				card.Candidates[i].BaselineGain = &Gain{Validation: metricOf(f.vm, t.Metric) - bv, Holdout: metricOf(f.hm, t.Metric) - bh}
			}
		}
		// No release ships a model that does worse than the plain baseline
		// on the holdout, whatever validation said.
		if best != base && metricOf(fits[best].hm, t.Metric) < bh {
			guard = fmt.Sprintf("; %s won validation but scored below the baseline on the holdout (%s %.4f < %.4f), so the baseline ships",
				fits[best].tech, t.Metric, metricOf(fits[best].hm, t.Metric), bh)
			best = base
		}
	}
	chosen := fits[best]
	ch := chosen.final
	ch.Arepa = a
	chHold := chosen.hm
	card.Chosen, card.Threshold = chosen.tech, ch.Threshold
	res.Technique = ch.Technique
	// The challenger's out-of-sample risks: its fold models' on the
	// validation weeks, the final model's on the holdout.
	calib := make([]ScoredRow, 0, len(pooledIdx)+len(holdIdx))
	row := func(i int, risk float64) ScoredRow {
		return ScoredRow{Machine: rs.machine[i], Day: span.Day(int(rs.day[i])), Risk: risk, Label: rs.y[i]}
	}
	for k, i := range pooledIdx {
		calib = append(calib, row(i, chosen.valid[k]))
	}
	holdScores := ch.ScoreAll(holdD.X)
	card.PRCurve = model.PRCurve(holdScores, holdD.Y, MaxCurvePoints)
	for k, i := range holdIdx {
		calib = append(calib, row(i, holdScores[k]))
	}

	newWins := true
	switch {
	case champ == nil:
		card.Decision = "first model for this type"
	case champ.model == nil:
		card.Champion = &ChampionCard{Release: champ.entry.Trained, Technique: champ.entry.Technique, Error: champ.err.Error()}
		card.Decision = "the current model could not be loaded, the challenger replaces it"
		log.Warn("champion unusable", "arepa", a, "err", champ.err)
	default:
		// The champion's risks on the same rows, under its own Spec.
		scoreRow := func(i int) float64 {
			if champSpec == nil {
				return champ.model.Score(rs.x[i*rs.dim : (i+1)*rs.dim])
			}
			if v := champVec(rs, i); v != nil {
				return champ.model.Score(v)
			}
			return math.NaN()
		}
		hs := make([]float64, len(holdIdx))
		for k, i := range holdIdx {
			hs[k] = scoreRow(i)
		}
		h := model.Evaluate(hs, holdD.Y, champ.model.Threshold)
		card.Champion = &ChampionCard{Release: champ.entry.Trained, Technique: champ.model.Technique, Holdout: &h}
		cv, chv := metricOf(h, t.Metric), metricOf(chHold, t.Metric)
		switch {
		case math.IsNaN(chv):
			newWins = false
			card.Decision = fmt.Sprintf("holdout %s undefined (no failures in the holdout); the current model stays", t.Metric)
		case math.IsNaN(cv) || chv >= cv+t.Margin:
			card.Decision = fmt.Sprintf("challenger %s %s %.4f beats the current %.4f by at least %.4f", ch.Technique, t.Metric, chv, cv, t.Margin)
		default:
			newWins = false
			card.Decision = fmt.Sprintf("challenger %s %s %.4f does not beat the current %.4f by %.4f; the current model stays", ch.Technique, t.Metric, chv, cv, t.Margin)
		}
		if !newWins {
			// A kept champion's risks on the validation weeks may be in
			// sample (it was trained on older rows that can overlap them);
			// its holdout rows are never.
			calib = calib[:0]
			for _, i := range append(append([]int{}, pooledIdx...), holdIdx...) {
				if r := scoreRow(i); !math.IsNaN(r) {
					calib = append(calib, row(i, r))
				}
			}
		}
	}
	card.Decision += guard
	res.Calibration = calib
	log.Info("trained", "arepa", a, "rows", rs.n(), "chosen", ch.Technique, t.Metric, metricOf(chHold, t.Metric), "decision", card.Decision)
	if !newWins {
		res.Status = StatusKept
		return res
	}
	mb, err := ch.Marshal()
	if err != nil {
		return noData("the chosen model does not marshal: " + err.Error())
	}
	res.Status = StatusNew
	res.Model = mb
	return res
}

func metricOf(m model.Metrics, name string) float64 {
	switch name {
	case "roc_auc":
		return m.ROCAUC
	case "f1":
		return m.F1
	}
	return m.PRAUC
}

// holdoutMap is the manifest's copy of holdout metrics (finite ones only).
func holdoutMap(m *model.Metrics) map[string]float64 {
	if m == nil {
		return nil
	}
	out := map[string]float64{}
	for k, v := range map[string]float64{"roc_auc": m.ROCAUC, "pr_auc": m.PRAUC, "f1": m.F1,
		"precision": m.Precision, "recall": m.Recall, "brier": m.Brier} {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	out["rows"] = float64(m.N)
	out["positives"] = float64(m.Positives)
	return out
}

// ErrNothing is returned when a run has no model to release at all.
var ErrNothing = errors.New("nothing to release: no type has a model")
