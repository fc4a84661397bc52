package score

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/record"
)

// DefaultPeriodDays is how many days the scorecard covers when no start is
// given: four weeks, so every weekday counts alike.
const DefaultPeriodDays = 28

// Query says what FromBucket scores.
type Query struct {
	// From and To bound the mornings scored. To defaults to the latest day
	// with actions minus the horizon, so that the horizon of every scored
	// morning has happened; From to To minus DefaultPeriodDays-1.
	From, To string
	// Kitchens restricts the kitchens (nil: every kitchen with actions).
	Kitchens []string
	Options
	// Rule says which events are failures (empty: the default rule).
	Rule record.FailureRule
	// Workers is how many objects are read at once (0: number of CPUs).
	Workers int
	// Bucket names the bucket in the report and in errors.
	Bucket string
}

// Damaged is a day file that could not be read, and why.
type Damaged struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

// ErrNoActions is returned when no day file lies in the period.
var ErrNoActions = errors.New("no actions")

// FromBucket scores the agents' uploaded actions/<kitchen>/<day>.json of
// From..To against the failure events of the windows of From..To+H-1. A
// damaged day file is skipped and named in Sources.Damaged; a missing window
// is a day without events, counted in Sources.WindowsMissing.
func FromBucket(ctx context.Context, b train.Bucket, q Query) (Report, error) {
	q.Options = q.Options.withDefaults()
	prefix := action.Prefix("")
	if len(q.Kitchens) == 1 {
		prefix = action.Prefix(q.Kitchens[0])
	}
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return Report{}, fmt.Errorf("list %s: %w", prefix, err)
	}
	type dayFile struct{ key, kitchen, day string }
	var all []dayFile
	latest := ""
	for _, k := range keys {
		kitchen, day, ok := parseDayKey(k)
		// Other objects under actions/ are not day files: not ours to judge.
		if !ok || (q.Kitchens != nil && !slices.Contains(q.Kitchens, kitchen)) {
			continue
		}
		all = append(all, dayFile{k, kitchen, day})
		latest = max(latest, day)
	}
	if err := q.period(latest); err != nil {
		return Report{}, err
	}
	var files []dayFile
	kitchens := map[string]bool{}
	for _, f := range all {
		if f.day >= q.From && f.day <= q.To {
			files = append(files, f)
			kitchens[f.kitchen] = true
		}
	}
	if len(files) == 0 {
		return Report{}, fmt.Errorf("%w between %s and %s in %s", ErrNoActions, q.From, q.To, q.Bucket)
	}
	src := &Sources{Bucket: q.Bucket, From: q.From, To: q.To, DayFiles: len(files), Damaged: []Damaged{},
		FailureRule: q.Rule.OrDefault()}

	// Day files, in key order so that duplicates resolve the same way.
	days := make([]*action.Day, len(files))
	damaged := make([]error, len(files))
	err = parallel(ctx, len(files), q.Workers, func(i int) error {
		data, err := b.Get(ctx, files[i].key, 0)
		if err != nil {
			return fmt.Errorf("read %s: %w", files[i].key, err)
		}
		d, err := action.DecodeDay(data)
		if err != nil {
			damaged[i] = err
			return nil
		}
		d.Kitchen, d.Date = cmp.Or(d.Kitchen, files[i].kitchen), cmp.Or(d.Date, files[i].day)
		days[i] = d
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	var decoded []action.Day
	for i, d := range days {
		if d == nil {
			src.Damaged = append(src.Damaged, Damaged{files[i].key, damaged[i].Error()})
			continue
		}
		decoded = append(decoded, *d)
	}

	// Windows of every kitchen scored, From..To+H-1.
	end, err := record.AddDays(q.To, q.HorizonDays-1)
	if err != nil {
		return Report{}, err
	}
	type win struct {
		kitchen, day string
		found        bool
		bad          int
		failures     []Failure
	}
	var wins []win
	for _, k := range slices.Sorted(maps.Keys(kitchens)) {
		for d := q.From; d <= end; d, _ = record.AddDays(d, 1) {
			wins = append(wins, win{kitchen: k, day: d})
		}
	}
	err = parallel(ctx, len(wins), q.Workers, func(i int) error {
		w := &wins[i]
		var err error
		w.found, w.bad, err = train.ReadWindow(ctx, b, w.kitchen, w.day, func(r *record.Record) {
			if f, ok := FailureOf(w.kitchen, w.day, r, q.Rule); ok {
				w.failures = append(w.failures, f)
			}
		})
		return err
	})
	if err != nil {
		return Report{}, err
	}
	var failures []Failure
	for _, w := range wins {
		src.Windows++
		if !w.found {
			src.WindowsMissing++
		}
		src.BadLines += w.bad
		failures = append(failures, w.failures...)
	}
	rep := Score(decoded, failures, q.Options)
	rep.Sources = src
	return rep, nil
}

// period fills in the default From and To, latest being the latest day
// with actions.
func (q *Query) period(latest string) error {
	for _, d := range []string{q.From, q.To} {
		if _, err := time.Parse(time.DateOnly, d); d != "" && err != nil {
			return fmt.Errorf("day %q is not yyyy-mm-dd", d)
		}
	}
	if q.To == "" {
		if latest == "" {
			return fmt.Errorf("%w in %s", ErrNoActions, q.Bucket)
		}
		q.To, _ = record.AddDays(latest, -q.HorizonDays)
	}
	if q.From == "" {
		q.From, _ = record.AddDays(q.To, -(DefaultPeriodDays - 1))
	}
	if q.From > q.To {
		return fmt.Errorf("the period %s..%s is empty (the latest actions are of %s, the horizon %d days)",
			q.From, q.To, cmp.Or(latest, "never"), q.HorizonDays)
	}
	return nil
}

// parseDayKey splits actions/<kitchen>/<day>.json.
func parseDayKey(key string) (kitchen, day string, ok bool) {
	rest, ok := strings.CutPrefix(key, action.Prefix(""))
	if !ok {
		return "", "", false
	}
	kitchen, file, ok := strings.Cut(rest, "/")
	day, isJSON := strings.CutSuffix(file, ".json")
	if !ok || !isJSON || kitchen == "" || strings.Contains(file, "/") {
		return "", "", false
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return "", "", false
	}
	return kitchen, day, true
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first
// error, after which the remaining calls are not started.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
