// Package decide makes the kitchen's start-of-day maintenance decision: for
// every recently seen machine it builds the feature windows of days
// D-7..D-1 (local days in the kitchen's time zone) from the local store with
// internal/features — the same code the central trainer uses — scores them
// with each arepa type's model, combines the machine's risks, maps the risk
// to a level and explains it in a few human-readable reasons. Service runs
// it once per local day at start_of_day, persists the actions, publishes
// them retained on MQTT and uploads them to the central store.
//
// Combining risks: a machine's risk is the highest of its per-arepa risks.
// Each arepa model estimates the same event (this machine fails within the
// horizon) from a different slice of its cooking, so the views are not
// independent and a noisy-OR (1-Π(1-p)) would inflate the risk of machines
// that cook many types. The level is the highest level any scored type
// reaches, so a type's own model threshold can raise an inspection.
package decide

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/record"
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

func severity(l string) int { return action.Severity(l) }

// maxReasons is how many reason lines an action carries at most.
const maxReasons = 4

type (
	// Action is one machine's decision for one day (internal/action).
	Action = action.Action
	// Day is the kitchen's decision for one day (internal/action).
	Day = action.Day
)

// Thresholds map a risk to a level. Inspect 0 means each model's own
// threshold (chosen by the trainer on validation data) decides "inspect".
type Thresholds struct {
	Inspect, Service, Stop float64
}

func (t Thresholds) level(risk, modelThreshold float64) string {
	insp := t.Inspect
	if insp <= 0 {
		insp = modelThreshold
	}
	switch {
	case risk >= t.Stop:
		return LevelStop
	case risk >= t.Service:
		return LevelService
	case risk >= insp:
		return LevelInspect
	}
	return LevelNone
}

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

// DayStart returns the instant local day (yyyy-mm-dd) + offset days begins.
func DayStart(day string, offset int, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want yyyy-mm-dd", day)
	}
	return time.Date(d.Year(), d.Month(), d.Day()+offset, 0, 0, 0, 0, loc), nil
}

// Candidates returns the machines to decide for day: those seen within
// SeenDays before it. (Service.clearUnseen clears the others' actions.)
func (d *Decider) Candidates(day string) ([]store.MachineInfo, error) {
	seen := d.SeenDays
	if seen <= 0 {
		seen = 14
	}
	horizon, err := DayStart(day, -seen, d.Location)
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
	var rel *modelsync.Release
	if d.Models != nil {
		rel = d.Models()
	}
	out := &Day{V: Version, Date: day, Kitchen: d.Kitchen, DecidedAt: now.UTC(),
		Counts: map[string]int{}, Actions: make([]Action, len(ms))}
	if rel != nil {
		out.ModelRelease = rel.Number
	}
	workers := d.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for range min(workers, max(len(ms), 1)) {
		wg.Go(func() {
			for i := range jobs {
				a, err := d.decideMachine(ms[i].Machine, day, now, rel)
				out.Actions[i], errs[i] = a, err
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
	for _, a := range out.Actions {
		out.Counts[a.Level]++
	}
	return out, nil
}

// decideMachine is one machine's action.
func (d *Decider) decideMachine(machine, day string, now time.Time, rel *modelsync.Release) (Action, error) {
	a := Action{V: Version, Date: day, Kitchen: d.Kitchen, Machine: machine, Level: LevelUnknown,
		ByArepa: map[string]float64{}, Reasons: []string{}, DecidedAt: now.UTC()}
	if rel != nil {
		a.ModelRelease = rel.Number
	}
	// The longest window any installed model needs.
	window := features.DefaultWindowDays
	if rel != nil {
		for _, m := range rel.Models {
			window = max(window, m.Features.Days())
		}
	}
	// bounds[i] is the start of local day D-window+i; bounds[window] is
	// the start of D. Computed on the calendar, so DST days are right.
	bounds := make([]time.Time, window+1)
	for i := range bounds {
		b, err := DayStart(day, i-window, d.Location)
		if err != nil {
			return a, err
		}
		bounds[i] = b
	}
	// byDay[i] holds day i's records in time order (what features.Collect
	// would gather, for all arepa types at once).
	byDay := make([][]record.Record, window)
	types := map[string]bool{}
	dataDays := map[int]bool{}
	di := 0
	err := scanRecords(d.Records, machine, bounds[0], bounds[window], func(r record.Record) error {
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
		if r.Type == record.TypeCook && di >= window-features.DefaultWindowDays {
			types[r.Arepa] = true
			dataDays[di] = true
		}
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("machine %s: %w", machine, err)
	}
	a.DataDays = len(dataDays)
	if len(types) == 0 {
		a.Reasons = append(a.Reasons, fmt.Sprintf("no cooking recorded in the last %d days", features.DefaultWindowDays))
		return a, nil
	}
	if rel == nil {
		a.Reasons = append(a.Reasons, "no model release installed yet")
		return a, nil
	}
	type scored struct {
		arepa   string
		risk    float64
		level   string
		reasons []string
	}
	var got []scored
	var noModel, thin []string
	for _, t := range sortedKeys(types) {
		m := rel.Model(t)
		if m == nil {
			noModel = append(noModel, t)
			continue
		}
		w := windowOf(byDay, t, m.Features.Days())
		vec, ok := m.Features.Compute(w)
		if !ok {
			thin = append(thin, fmt.Sprintf("%s cooked on %d of the last %d days (need %d)",
				t, activeDays(w), m.Features.Days(), m.Features.MinActiveDays()))
			continue
		}
		p := m.Score(vec)
		if math.IsNaN(p) {
			noModel = append(noModel, t)
			continue
		}
		s := scored{arepa: t, risk: p, level: d.Thresholds.level(p, m.Threshold)}
		if s.level != LevelNone {
			s.reasons = m.Reasons(vec, maxReasons)
		}
		got = append(got, s)
		a.ByArepa[t] = round3(p)
	}
	if len(got) == 0 {
		if len(thin) > 0 {
			a.Reasons = append(a.Reasons, "too little data: "+strings.Join(thin, "; "))
		}
		if len(noModel) > 0 {
			a.Reasons = append(a.Reasons, "no model for arepa type "+strings.Join(noModel, ", "))
		}
		return a, nil
	}
	// Highest risk first (risks are never NaN here), ties by arepa type.
	slices.SortFunc(got, func(x, y scored) int {
		return cmp.Or(cmp.Compare(y.risk, x.risk), strings.Compare(x.arepa, y.arepa))
	})
	a.Risk = round3(got[0].risk)
	a.Level = LevelNone
	for _, s := range got {
		if severity(s.level) > severity(a.Level) {
			a.Level = s.level
		}
	}
	prefix := len(got) > 1
	for _, s := range got {
		for _, r := range s.reasons {
			if len(a.Reasons) >= maxReasons-1 {
				break
			}
			if prefix {
				r = s.arepa + ": " + r
			}
			a.Reasons = append(a.Reasons, r)
		}
	}
	if len(noModel) > 0 {
		a.Reasons = append(a.Reasons, "not judged, no model: "+strings.Join(noModel, ", "))
	} else if len(thin) > 0 {
		a.Reasons = append(a.Reasons, "not judged, too little data: "+strings.Join(thin, "; "))
	}
	return a, nil
}

// windowOf is features.Collect over records already split by local day:
// the last n days, keeping cook records of arepa and every event, in time
// order. TestWindowOfMatchesCollect holds it to Collect.
func windowOf(byDay [][]record.Record, arepa string, n int) features.Window {
	n = min(n, len(byDay))
	w := features.Window{Days: make([][]record.Record, n)}
	for i, recs := range byDay[len(byDay)-n:] {
		var out []record.Record
		for _, r := range recs {
			if r.Type == record.TypeEvent || r.Arepa == arepa {
				out = append(out, r)
			}
		}
		w.Days[i] = out
	}
	return w
}

func activeDays(w features.Window) int {
	n := 0
	for _, d := range w.Days {
		for i := range d {
			if d[i].Type == record.TypeCook {
				n++
				break
			}
		}
	}
	return n
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// CookedArepas returns the arepa types cooked in the store in the 7 local
// days before day (model sync fetches only these models).
func CookedArepas(recs Records, day string, loc *time.Location) ([]string, error) {
	from, err := DayStart(day, -features.DefaultWindowDays, loc)
	if err != nil {
		return nil, err
	}
	to, _ := DayStart(day, 1, loc)
	ms, err := recs.Machines()
	if err != nil {
		return nil, err
	}
	types := map[string]bool{}
	for _, m := range ms {
		if m.Last.Before(from) {
			continue
		}
		err := scanRecords(recs, m.Machine, from, to, func(r record.Record) error {
			if r.Type == record.TypeCook {
				types[r.Arepa] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return sortedKeys(types), nil
}
