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
	"time"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/model"
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
	Train config.Train
	// Techniques compete; nil means model.Techniques().
	Techniques []model.Technique
	// Public verifies the current release before its models are trusted as
	// champions; nil skips the check (tests only).
	Public ed25519.PublicKey
	Log    *slog.Logger
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
}

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
	Candidates  []CandidateCard `json:"candidates"`
	Chosen      string          `json:"chosen"`
	Threshold   float64         `json:"threshold"`
	Champion    *ChampionCard   `json:"champion,omitempty"`
	Metric      string          `json:"metric"`
	Margin      float64         `json:"margin"`
	Decision    string          `json:"decision"`
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
	Validation *model.Metrics `json:"validation,omitempty"`
	Holdout    *model.Metrics `json:"holdout,omitempty"`
	Error      string         `json:"error,omitempty"`
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
	span, err := NewSpan(o.Date, t.SpanDays, features.DefaultWindowDays, t.HorizonDays, t.ValidationDays, t.HoldoutDays)
	if err != nil {
		return nil, err
	}
	techs := o.Techniques
	if techs == nil {
		techs = model.Techniques()
		if len(t.Techniques) > 0 {
			techs = nil
			for _, name := range t.Techniques {
				tc := model.TechniqueByName(name)
				if tc == nil {
					return nil, fmt.Errorf("unknown technique %q", name)
				}
				techs = append(techs, tc)
			}
		}
	}
	span.skipOthers = o.Shard.N > 1
	mine := o.Shard.Pick(o.Types)
	out := &Outcome{Date: o.Date, Phase: o.Phase, Shard: o.Shard.String(), Types: mine}

	inv, err := o.Bucket.Get(ctx, InventoryKey)
	if err != nil {
		return nil, fmt.Errorf("kitchen inventory: %w", err)
	}
	all, err := ParseKitchens(inv)
	if err != nil {
		return nil, err
	}
	kitchens := FilterPhase(all, o.Phase)
	slices.SortFunc(kitchens, func(a, b Kitchen) int { return cmp.Compare(a.Name, b.Name) })
	if len(kitchens) == 0 {
		return nil, fmt.Errorf("no kitchen of phase %d in %s (%d kitchens listed)", o.Phase, InventoryKey, len(all))
	}
	for _, k := range kitchens {
		out.Kitchens = append(out.Kitchens, k.Name)
	}
	log.Info("training", "date", o.Date, "phase", o.Phase, "shard", out.Shard, "types", len(mine),
		"kitchens", len(kitchens), "span", span.First+".."+span.Last)

	cur, champs, err := loadChampions(ctx, o.Bucket, o.Public, mine)
	if errors.Is(err, release.ErrSignature) || errors.Is(err, release.ErrMalformed) {
		// E.g. after a key rotation: nothing in the current release is
		// trusted, so every type gets its challenger (signed with our key).
		log.Warn("the current release is not trusted; training without champions", "err", err)
		champs = map[string]*champion{}
	} else if err != nil {
		return nil, err
	}
	out.ChampionRelease = cur

	want := map[string]bool{}
	for _, a := range mine {
		want[a] = true
	}
	counts, cooks, err := countMetrics(ctx, o.Bucket, kitchens, span, want, log)
	if err != nil {
		return nil, err
	}
	specs := map[string]*features.Spec{}
	champSpecs := map[string]*features.Spec{}
	for _, a := range mine {
		specs[a] = specFor(a, counts, cooks, t.MinMetricShare, features.DefaultWindowDays)
		if c := champs[a]; c != nil && c.model != nil && !reflect.DeepEqual(c.model.Features, *specs[a]) {
			s := c.model.Features
			champSpecs[a] = &s
		}
	}

	rows, err := readAll(ctx, o, kitchens, span, specs, champSpecs, &out.Stats, log)
	if err != nil {
		return nil, err
	}
	for _, a := range mine {
		res := trainType(ctx, a, o, span, kitchens, specs[a], champSpecs[a], rows[a], champs[a], techs, log)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

// readAll streams every kitchen on Train.Workers goroutines and merges the
// rows in kitchen order, so the datasets do not depend on scheduling.
func readAll(ctx context.Context, o Options, kitchens []Kitchen, span *Span, specs, champ map[string]*features.Spec, st *Stats, log *slog.Logger) (map[string]*rowSet, error) {
	workers := o.Train.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(kitchens))
	type res struct {
		rows map[string]*rowSet
		st   readStats
		err  error
	}
	results := make([]res, len(kitchens))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, s, err := kitchenRows(ctx, o.Bucket, kitchens[i], span, specs, champ, log)
				results[i] = res{r, s, err}
				if err != nil {
					cancel()
				}
			}
		}()
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
	merged := newRowSets(specs, champ)
	for i, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("kitchen %s: %w", kitchens[i].Name, r.err)
		}
		if r.rows == nil {
			return nil, ctx.Err()
		}
		st.Windows += r.st.Windows
		st.Missing += r.st.Missing
		st.Records += r.st.Records
		st.BadLines += r.st.BadLines
		for a, rs := range r.rows {
			merged[a].append(rs)
			st.Rows += rs.n()
		}
		results[i].rows = nil // let the kitchen's slabs go as they are merged
	}
	if st.BadLines > 0 {
		log.Warn("windows held bad lines", "lines", st.BadLines)
	}
	return merged, nil
}

// loadChampions reads the current release and the models of the wanted
// types. A type whose model cannot be loaded has a champion with err set: it
// is reported and the challenger wins.
func loadChampions(ctx context.Context, b Bucket, pub ed25519.PublicKey, types []string) (int64, map[string]*champion, error) {
	out := map[string]*champion{}
	cur, m, err := Current(ctx, b, pub)
	if err != nil || m == nil {
		return cur, out, err
	}
	for _, a := range types {
		e, ok := m.Models[a]
		if !ok {
			continue
		}
		c := &champion{entry: e}
		out[a] = c
		data, err := b.Get(ctx, e.Key)
		if err != nil {
			if !IsNotFound(err) {
				return 0, nil, fmt.Errorf("champion model %s: %w", e.Key, err)
			}
			c.err = err
			continue
		}
		if err := e.Check(data); err != nil {
			c.err = err
			continue
		}
		c.model, c.err = model.Decode(bytesReader(data))
	}
	return cur, out, nil
}

// Current returns the current release number and its manifest, or 0 and nil
// when there is none yet. When the manifest does not load or verify, the
// number is still returned with the error. With pub set, the manifest's signature must verify
// (expiry is not checked: an expired champion can still be beaten or kept).
func Current(ctx context.Context, b Bucket, pub ed25519.PublicKey) (int64, *release.Manifest, error) {
	data, err := b.Get(ctx, release.CurrentKey)
	if IsNotFound(err) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("current release: %w", err)
	}
	n, err := release.ParseCurrent(data)
	if err != nil {
		return 0, nil, err
	}
	m, err := LoadManifest(ctx, b, n, pub)
	if err != nil {
		return n, nil, err
	}
	return n, m, nil
}

// LoadManifest reads release n and, with pub set, checks its signature.
func LoadManifest(ctx context.Context, b Bucket, n int64, pub ed25519.PublicKey) (*release.Manifest, error) {
	mb, err := b.Get(ctx, release.ManifestKey(n))
	if err != nil {
		return nil, fmt.Errorf("release %d: %w", n, err)
	}
	if pub != nil {
		sig, err := b.Get(ctx, release.SigKey(n))
		if err != nil {
			return nil, fmt.Errorf("release %d signature: %w", n, err)
		}
		// A far-past "now" skips only the expiry check.
		m, err := release.Verify(mb, sig, pub, time.Time{}, 0)
		if err != nil {
			return nil, fmt.Errorf("release %d: %w", n, err)
		}
		return m, nil
	}
	m, err := release.Parse(mb)
	if err != nil {
		return nil, fmt.Errorf("release %d: %w", n, err)
	}
	return m, nil
}

// dataset cuts one slice out of a row set.
func dataset(spec *features.Spec, rs *rowSet, span *Span, slice int) model.Dataset {
	d := model.Dataset{Spec: *spec}
	for i := range rs.n() {
		if span.sliceOf(int(rs.day[i])) == slice {
			d.X = append(d.X, rs.x[i*rs.dim:(i+1)*rs.dim:(i+1)*rs.dim])
			d.Y = append(d.Y, rs.y[i])
		}
	}
	return d
}

// champX returns the holdout rows under the champion's Spec.
func champX(rs *rowSet) [][]float64 {
	n := len(rs.champ) / max(rs.champDim, 1)
	out := make([][]float64, n)
	for i := range out {
		out[i] = rs.champ[i*rs.champDim : (i+1)*rs.champDim]
	}
	return out
}

func part(span *Span, from, to int, d model.Dataset) Part {
	p := Part{From: span.Day(from), To: span.Day(to), Rows: len(d.Y), Positives: d.Positives()}
	if p.Rows > 0 {
		p.Balance = float64(p.Positives) / float64(p.Rows)
	}
	return p
}

func trainType(ctx context.Context, a string, o Options, span *Span, kitchens []Kitchen, spec, champSpec *features.Spec,
	rs *rowSet, champ *champion, techs []model.Technique, log *slog.Logger) Result {
	t := o.Train
	res := Result{Arepa: a}
	if champ != nil {
		e := champ.entry
		res.Champion = &e
	}
	trainD := dataset(spec, rs, span, SliceTrain)
	validD := dataset(spec, rs, span, SliceValid)
	holdD := dataset(spec, rs, span, SliceHoldout)
	card := &Card{V: 1, Arepa: a, Date: o.Date, Phase: o.Phase, SpanFirst: span.First, SpanLast: span.Last,
		HorizonDays: span.Horizon, Features: spec.Names(), Metric: t.Metric, Margin: t.Margin,
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
	switch {
	case rs.n() == 0:
		return noData("listed type has no data in the span")
	case len(trainD.Y) == 0 || len(validD.Y) == 0 || len(holdD.Y) == 0:
		return noData(fmt.Sprintf("too little data: %d train, %d validation, %d holdout rows", len(trainD.Y), len(validD.Y), len(holdD.Y)))
	case trainD.Positives() == 0 || validD.Positives() == 0:
		return noData(fmt.Sprintf("no failures to learn from: %d in train, %d in validation", trainD.Positives(), validD.Positives()))
	}
	cands, best, err := model.Select(ctx, techs, trainD, validD)
	if err != nil {
		return noData("every technique failed: " + err.Error())
	}
	for _, c := range cands {
		cc := CandidateCard{Technique: c.Technique, Error: c.Err}
		if c.Model != nil {
			v := c.Valid
			h := model.Evaluate(c.Model.ScoreAll(holdD.X), holdD.Y, c.Model.Threshold)
			cc.Validation, cc.Holdout = &v, &h
		}
		card.Candidates = append(card.Candidates, cc)
	}
	ch := cands[best].Model
	ch.Arepa = a
	chHold := *card.Candidates[best].Holdout
	card.Chosen, card.Threshold = cands[best].Technique, ch.Threshold
	res.Technique = ch.Technique

	newWins := true
	switch {
	case champ == nil:
		card.Decision = "first model for this type"
	case champ.model == nil:
		card.Champion = &ChampionCard{Release: champ.entry.Trained, Technique: champ.entry.Technique, Error: champ.err.Error()}
		card.Decision = "the current model could not be loaded, the challenger replaces it"
		log.Warn("champion unusable", "arepa", a, "err", champ.err)
	default:
		X := holdD.X
		if champSpec != nil {
			X = champX(rs)
		}
		h := model.Evaluate(champ.model.ScoreAll(X), holdD.Y, champ.model.Threshold)
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
	}
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
