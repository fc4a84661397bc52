// Package decide makes the kitchen's start-of-day maintenance decision: for
// every recently seen machine it builds the feature windows of days
// D-7..D-1 (local days in the kitchen's time zone) from the local store with
// internal/features — the same code the central trainer uses — scores them
// with each arepa type's model, combines the machine's risks, maps the risk
// to a level and explains it in a few human-readable reasons. It is pure:
// agent/morning runs it once per local day at start_of_day, persists the
// actions, publishes them retained on MQTT and uploads them.
//
// Combining risks and choosing the level is internal/decision's, shared with
// the central backtest.
package decide

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/decision"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// The action contract lives in internal/action; these names keep the
// agent's code short.
const (
	LevelUnknown = action.LevelUnknown
	LevelNone    = action.LevelNone
	LevelInspect = action.LevelInspect
	LevelService = action.LevelService
	LevelStop    = action.LevelStop
	Version      = action.Version
)

// Levels lists every level, for counters and summaries.
var Levels = action.Levels

type (
	// Action is one machine's decision for one day (internal/action).
	Action = action.Action
	// Day is the kitchen's decision for one day (internal/action).
	Day = action.Day
)

// Thresholds are the operator's overrides of the release's level
// thresholds (zero: take the release's); see decision.Resolve.
type Thresholds = decision.Thresholds

// Records is the part of the local store the decision reads.
type Records interface {
	Scan(machine string, from, to time.Time, fn func(record.Record) error) error
	Machines() ([]store.MachineInfo, error)
}

// Decider computes decisions; it has no side effects.
type Decider struct {
	Kitchen  string
	Location *time.Location
	Records  Records
	// Models returns the installed release (nil: none yet).
	Models     func() *modelsync.Release
	Thresholds Thresholds
	// SeenDays: machines seen within this many days before the decided day
	// get an action (default 14, the unseen-clear horizon: a machine silent
	// for 8 days gets "unknown" rather than keeping a stale action).
	SeenDays int
	Workers  int // parallel machines; default GOMAXPROCS
}

// Candidates returns the machines to decide for day: those seen within
// SeenDays before it, and first seen before it starts. A machine whose
// first record is later did not exist when day was decided: deciding a
// past date by hand must not list it. (morning.Service clears the
// others' actions.)
func (d *Decider) Candidates(day string) ([]store.MachineInfo, error) {
	seen := d.SeenDays
	if seen <= 0 {
		seen = 14
	}
	horizon, err := record.DayStart(day, -seen, d.Location)
	if err != nil {
		return nil, err
	}
	start, err := record.DayStart(day, 0, d.Location)
	if err != nil {
		return nil, err
	}
	ms, err := d.Records.Machines()
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	var decide []store.MachineInfo
	for _, m := range ms {
		if m.Records == 0 && m.Last.IsZero() {
			continue
		}
		if !m.First.IsZero() && !m.First.Before(start) {
			continue
		}
		if !m.Last.Before(horizon) {
			decide = append(decide, m)
		}
	}
	return decide, nil
}

// Decide computes every candidate machine's action for day at now.
func (d *Decider) Decide(ctx context.Context, day string, now time.Time) (*Day, error) {
	ms, err := d.Candidates(day)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Machine
	}
	rel := d.Release()
	out := &Day{V: Version, Date: day, Kitchen: d.Kitchen, DecidedAt: now.UTC()}
	if rel != nil {
		out.ModelRelease = rel.Number
	}
	if out.Actions, err = d.decideMachines(ctx, day, now, names, rel); err != nil {
		return nil, err
	}
	out.Counts = CountLevels(out.Actions)
	return out, nil
}

// CountLevels counts the actions by level: a day's Counts.
func CountLevels(acts []Action) map[string]int {
	n := map[string]int{}
	for _, a := range acts {
		n[a.Level]++
	}
	return n
}

// Release is the installed model release, nil for none.
func (d *Decider) Release() *modelsync.Release {
	if d.Models == nil {
		return nil
	}
	return d.Models()
}

// DecideMachines computes the actions of the named machines for day at now,
// with the installed release, in the order given.
func (d *Decider) DecideMachines(ctx context.Context, day string, now time.Time, machines []string) ([]Action, error) {
	return d.decideMachines(ctx, day, now, machines, d.Release())
}

func (d *Decider) decideMachines(ctx context.Context, day string, now time.Time, ms []string, rel *modelsync.Release) ([]Action, error) {
	workers := d.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]Action, len(ms))
	jobs := make(chan int)
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for range min(workers, max(len(ms), 1)) {
		wg.Go(func() {
			for i := range jobs {
				out[i], errs[i] = d.decideMachine(ms[i], day, now, rel)
			}
		})
	}
	for i := range ms {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decideMachine gathers the machine's records of the days before day from
// the store and hands them to decision.Decide, the code the central backtest
// replays.
func (d *Decider) decideMachine(machine, day string, now time.Time, rel *modelsync.Release) (Action, error) {
	in := d.input(machine, day, now, rel)
	bounds, err := dayBounds(day, decision.WindowDays(in.Models), d.Location)
	if err != nil {
		return Action{}, err
	}
	if in.Days, err = d.recordsByDay(machine, bounds); err != nil {
		return Action{}, fmt.Errorf("machine %s: %w", machine, err)
	}
	return decision.Decide(in), nil
}

// input is the decision's input for machine without its records: the
// release's models and the thresholds resolved against its levels.
func (d *Decider) input(machine, day string, now time.Time, rel *modelsync.Release) decision.Input {
	in := decision.Input{Kitchen: d.Kitchen, Machine: machine, Day: day, Now: now}
	if rel == nil {
		return in
	}
	in.Models, in.Release = rel.Models, rel.Number
	if in.Models == nil {
		in.Models = map[string]*model.Model{}
	}
	var levels *release.Levels
	if rel.Manifest != nil {
		levels = rel.Manifest.Levels
	}
	in.Thresholds = decision.Resolve(d.Thresholds, levels)
	return in
}

// dayBounds returns the starts of the window local days before day and of
// day itself: bounds[i] starts day D-window+i, bounds[window] starts D.
// Computed on the calendar, so DST days are right.
func dayBounds(day string, window int, loc *time.Location) ([]time.Time, error) {
	bounds := make([]time.Time, window+1)
	for i := range bounds {
		b, err := record.DayStart(day, i-window, loc)
		if err != nil {
			return nil, err
		}
		bounds[i] = b
	}
	return bounds, nil
}

// recordsByDay returns the machine's cook and event records of the days
// bounds delimits, day i's in time order at [i] (what features.Collect
// would gather, for all arepa types at once).
func (d *Decider) recordsByDay(machine string, bounds []time.Time) ([][]record.Record, error) {
	window := len(bounds) - 1
	byDay := make([][]record.Record, window)
	di := 0
	err := d.Records.Scan(machine, bounds[0], bounds[window], func(r record.Record) error {
		if r.Type != record.TypeCook && r.Type != record.TypeEvent {
			return nil
		}
		for di < window-1 && !r.TS.Before(bounds[di+1]) {
			di++
		}
		if r.TS.Before(bounds[di]) {
			return nil // the scan is in time order; never expected
		}
		byDay[di] = append(byDay[di], r)
		return nil
	})
	return byDay, err
}

// CookedArepas returns the arepa types cooked in the store in the 7 local
// days before day (model sync fetches only these models).
func CookedArepas(recs Records, day string, loc *time.Location) ([]string, error) {
	from, err := record.DayStart(day, -features.DefaultWindowDays, loc)
	if err != nil {
		return nil, err
	}
	to, _ := record.DayStart(day, 1, loc)
	ms, err := recs.Machines()
	if err != nil {
		return nil, err
	}
	types := map[string]bool{}
	for _, m := range ms {
		if m.Last.Before(from) {
			continue
		}
		err := recs.Scan(m.Machine, from, to, func(r record.Record) error {
			if r.Type == record.TypeCook {
				types[r.Arepa] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return slices.Sorted(maps.Keys(types)), nil
}
