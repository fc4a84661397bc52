// Package backtest replays a past period the way the chain would have lived
// it: on each retraining day it trains on the windows before that day only
// (the trainer's own code, publishing into a private overlay, never into the
// bucket), then every morning it decides every machine with the agent's own
// decision code (internal/decision) and the release current that morning,
// and finally scores the actions against the failures that followed
// (central/score). A figure from here is what the displays would have shown.
package backtest

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/central/score"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/decision"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// Retraining schedules.
const (
	Nightly = "nightly"
	Weekly  = "weekly"
)

// seenDays: a machine with a record in the 14 days before the morning gets
// an action, as on the agent (decision.unseen_clear_days).
const seenDays = 14

// decideAt is the local time the backtest stamps its decisions with, the
// agent's default start of day.
const decideAt = 5*time.Hour + 30*time.Minute

// Options configure one backtest.
type Options struct {
	// Bucket holds the windows and inventory/kitchens.csv. It is only read.
	Bucket   train.Bucket
	From, To string // the mornings decided, yyyy-mm-dd, inclusive
	Retrain  string // Nightly or Weekly (default)
	Phase    int
	Types    []string
	Train    config.Train
	// Techniques, when set, are the only ones that compete (e.g. the plain
	// baseline alone, for the baseline's own backtest); nil: as train.
	Techniques []model.Technique
	// Rule groups failures for the report (e.g. "precursor"); nil: none.
	Group func(f score.Failure) string
	// OnDay receives every kitchen-day decided, in order, with the models
	// and level thresholds of the release that decided it (e.g. to write
	// the agents' day files, or to decide the same day another way).
	OnDay func(d action.Day, models map[string]*model.Model, levels *release.Levels) error
	Log   *slog.Logger
	// Progress counts the mornings replayed (nil: not shown).
	Progress *progress.Bar
}

// Release is one release the backtest trained.
type Release struct {
	Day        string            `json:"day"` // first morning it decided
	Release    int64             `json:"release"`
	Levels     *release.Levels   `json:"levels,omitempty"`
	Techniques map[string]string `json:"techniques"` // by arepa type
	Decisions  map[string]string `json:"decisions,omitempty"`
}

// Result is a backtest's outcome.
type Result struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Retrain  string       `json:"retrain"`
	Kitchens []string     `json:"kitchens"`
	Releases []Release    `json:"releases"`
	Report   score.Report `json:"report"`
}

// Run replays From..To.
func Run(ctx context.Context, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o.Retrain = cmp.Or(o.Retrain, Weekly)
	if o.Retrain != Nightly && o.Retrain != Weekly {
		return nil, fmt.Errorf("backtest: retrain %q: want nightly or weekly", o.Retrain)
	}
	from, err := time.Parse(time.DateOnly, o.From)
	if err != nil {
		return nil, fmt.Errorf("backtest: --from %q is not yyyy-mm-dd", o.From)
	}
	to, err := time.Parse(time.DateOnly, o.To)
	if err != nil {
		return nil, fmt.Errorf("backtest: --to %q is not yyyy-mm-dd", o.To)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("backtest: --to %s is before --from %s", o.To, o.From)
	}
	inv, err := o.Bucket.Get(ctx, inventory.Key, 0)
	if err != nil {
		return nil, fmt.Errorf("backtest: kitchen inventory: %w", err)
	}
	all, err := inventory.Decode(inv)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	kitchens := inventory.FilterPhase(all, o.Phase)
	if len(kitchens) == 0 {
		return nil, fmt.Errorf("backtest: no kitchen of phase %d in %s", o.Phase, inventory.Key)
	}
	slices.SortFunc(kitchens, func(a, b inventory.Kitchen) int { return strings.Compare(a.Name, b.Name) })
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	ov := newOverlay(o.Bucket)
	h := max(o.Train.HorizonDays, 1)
	res := &Result{From: o.From, To: o.To, Retrain: o.Retrain}
	hist := make([]*history, len(kitchens))
	for i, k := range kitchens {
		res.Kitchens = append(res.Kitchens, k.Name)
		hist[i] = &history{kitchen: k, days: map[string]map[string][]record.Record{}}
	}

	var days []action.Day
	var failures []score.Failure
	var models map[string]*model.Model
	var levels *release.Levels
	var rel int64
	o.Progress.SetTotal(int(to.Sub(from).Hours()/24) + 1)
	for d, i := from, 0; !d.After(to); d, i = d.AddDate(0, 0, 1), i+1 {
		day := d.Format(time.DateOnly)
		if i == 0 || o.Retrain == Nightly || i%7 == 0 {
			start := time.Now()
			r, m, err := retrain(ctx, ov, o, day, priv, pub, log)
			if err != nil {
				return nil, fmt.Errorf("backtest: retrain on %s: %w", day, err)
			}
			if m != nil {
				models, levels, rel = r.models, m.Levels, m.Release
				res.Releases = append(res.Releases, r.info)
			}
			log.Info("backtest retrained", "day", day, "release", rel, "seconds", time.Since(start).Seconds())
		}
		for _, hk := range hist {
			if err := hk.load(ctx, o.Bucket, d, seenDays); err != nil {
				return nil, fmt.Errorf("backtest: %w", err)
			}
			kd := hk.decide(day, models, rel, levels)
			days = append(days, kd)
			if o.OnDay != nil {
				if err := o.OnDay(kd, models, levels); err != nil {
					return nil, err
				}
			}
		}
		o.Progress.Add(1)
	}
	o.Progress.Done()
	// Failures of the period and of the horizon after its last morning.
	rule := o.Train.Failure
	for d := from; !d.After(to.AddDate(0, 0, h-1)); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		for _, k := range kitchens {
			_, _, err := train.ReadWindow(ctx, o.Bucket, k.Name, day, func(r *record.Record) {
				if f, ok := score.FailureOf(k.Name, day, r, rule); ok {
					if o.Group != nil {
						f.Group = o.Group(f)
					}
					failures = append(failures, f)
				}
			})
			if err != nil {
				return nil, fmt.Errorf("backtest: %w", err)
			}
		}
	}
	res.Report = score.Score(days, failures, score.Options{HorizonDays: h})
	return res, nil
}

type trained struct {
	models map[string]*model.Model
	info   Release
}

// retrain runs the trainer for run date day into the overlay and loads the
// release it made current. A run with nothing to release keeps the previous
// release (nil manifest).
func retrain(ctx context.Context, ov *overlay, o Options, day string, priv ed25519.PrivateKey, pub ed25519.PublicKey, log *slog.Logger) (*trained, *release.Manifest, error) {
	out, err := train.Run(ctx, train.Options{Bucket: ov, Types: o.Types, Phase: o.Phase, Date: day, Train: o.Train,
		Techniques: o.Techniques, Public: pub, Log: log.With("backtest_day", day)})
	if err != nil {
		return nil, nil, err
	}
	p := &train.Publisher{Bucket: ov, Key: priv, Expiry: 365 * 24 * time.Hour, Targets: o.Train.Levels,
		Now: func() time.Time { t, _ := time.Parse(time.DateOnly, day); return t }}
	m, err := p.Publish(ctx, []*train.Outcome{out})
	if errors.Is(err, train.ErrNothing) {
		log.Warn("backtest: nothing to release yet", "day", day)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	t := &trained{models: map[string]*model.Model{},
		info: Release{Day: day, Release: m.Release, Levels: m.Levels, Techniques: map[string]string{}, Decisions: map[string]string{}}}
	for a, e := range m.Models {
		data, err := ov.Get(ctx, e.Key, 0)
		if err != nil {
			return nil, nil, err
		}
		if err := e.Check(data); err != nil {
			return nil, nil, err
		}
		mm, err := model.Decode(strings.NewReader(string(data)))
		if err != nil {
			return nil, nil, fmt.Errorf("model %s: %w", e.Key, err)
		}
		t.models[a] = mm
		t.info.Techniques[a] = mm.Technique
	}
	for _, r := range out.Results {
		if r.Card != nil {
			t.info.Decisions[r.Arepa] = r.Status
		}
	}
	return t, m, nil
}

// history is one kitchen's records of the days before the morning being
// decided, by local day and machine, each machine's records in time order.
type history struct {
	kitchen inventory.Kitchen
	days    map[string]map[string][]record.Record
}

// load makes sure the n days before morning d are read and forgets older
// ones.
func (h *history) load(ctx context.Context, b train.Bucket, d time.Time, n int) error {
	keep := map[string]bool{}
	for i := 1; i <= n; i++ {
		day := d.AddDate(0, 0, -i).Format(time.DateOnly)
		keep[day] = true
		if _, ok := h.days[day]; ok {
			continue
		}
		byMachine := map[string][]record.Record{}
		_, _, err := train.ReadWindow(ctx, b, h.kitchen.Name, day, func(r *record.Record) {
			byMachine[r.Machine] = append(byMachine[r.Machine], *r)
		})
		if err != nil {
			return err
		}
		for _, recs := range byMachine {
			slices.SortStableFunc(recs, func(a, b record.Record) int { return a.TS.Compare(b.TS) })
		}
		h.days[day] = byMachine
	}
	for day := range h.days {
		if !keep[day] {
			delete(h.days, day)
		}
	}
	return nil
}

// decide is the kitchen's morning: every machine seen in the last seenDays
// days, decided by decision.Decide as the agent would.
func (h *history) decide(day string, models map[string]*model.Model, rel int64, levels *release.Levels) action.Day {
	loc := h.kitchen.Loc
	if loc == nil {
		loc = time.UTC
	}
	// The agent's start of day: record.DayStart, also across a DST gap.
	start, _ := record.DayStart(day, 0, loc)
	now := start.Add(decideAt)
	seen := map[string]bool{}
	for _, byMachine := range h.days {
		for m := range byMachine {
			seen[m] = true
		}
	}
	window := decision.WindowDays(models)
	out := action.Day{V: action.Version, Date: day, Kitchen: h.kitchen.Name, ModelRelease: rel, DecidedAt: now.UTC(),
		Counts: map[string]int{}, Actions: []action.Action{}}
	th := decision.Resolve(decision.Thresholds{}, levels)
	before := make([]string, window) // the days D-window .. D-1
	for i := range window {
		before[i], _ = record.AddDays(day, i-window)
	}
	for _, m := range slices.Sorted(maps.Keys(seen)) {
		byDay := make([][]record.Record, window)
		for i := range window {
			byDay[i] = h.days[before[i]][m]
		}
		a := decision.Decide(decision.Input{Kitchen: h.kitchen.Name, Machine: m, Day: day, Days: byDay,
			Models: models, Release: rel, Thresholds: th, Now: now})
		out.Actions = append(out.Actions, a)
		out.Counts[a.Level]++
	}
	return out
}

// overlay reads the source bucket but keeps every write, and everything
// under models/, in memory: a backtest trains and publishes its own
// releases without touching the bucket or seeing the real ones. Window reads
// are cached, since every retraining reads the same days again.
type overlay struct {
	src   train.Bucket
	mu    sync.Mutex
	mem   map[string][]byte
	cache map[string][]byte
}

func newOverlay(src train.Bucket) *overlay {
	return &overlay{src: src, mem: map[string][]byte{}, cache: map[string][]byte{}}
}

func private(key string) bool {
	return strings.HasPrefix(key, "models/") || strings.HasPrefix(key, "staging/")
}

func (o *overlay) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	o.mu.Lock()
	b, ok := o.mem[key]
	if !ok {
		b, ok = o.cache[key]
	}
	o.mu.Unlock()
	if ok {
		if limit > 0 && int64(len(b)) > limit {
			return nil, fmt.Errorf("get %s: %w (%d bytes)", key, objstore.ErrTooLarge, limit)
		}
		return b, nil
	}
	if private(key) {
		return nil, fmt.Errorf("%s: %w", key, objstore.ErrNotFound)
	}
	b, err := o.src.Get(ctx, key, limit)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.cache[key] = b
	o.mu.Unlock()
	return b, nil
}

func (o *overlay) Put(_ context.Context, key string, data []byte, _ map[string]string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mem[key] = slices.Clone(data)
	return nil
}

func (o *overlay) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	if !private(prefix) {
		src, err := o.src.List(ctx, prefix)
		if err != nil {
			return nil, err
		}
		for _, k := range src {
			if !private(k) {
				keys = append(keys, k)
			}
		}
	}
	o.mu.Lock()
	for k := range o.mem {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	o.mu.Unlock()
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// MarshalDay is a day file as the agent uploads it.
func MarshalDay(d action.Day) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
