// Package decision is the morning decision for one machine: it scores the
// machine's last days of records with each arepa type's model, combines the
// per-type risks into the machine-day risk, maps that risk to a level and
// explains it. The agent calls it every morning and the central backtest
// calls it to replay past days, so what the backtest measures is exactly what
// the displays would have shown.
//
// Combining risks: a machine's risk is the mean of its per-arepa risks. Each
// arepa model estimates the same event (this machine fails within the
// horizon) from a different slice of its cooking, so the views are not
// independent and a noisy-OR (1-Π(1-p)) would inflate the risk of machines
// that cook many types. The highest risk (used before) lets the noisiest of
// several estimates decide: a machine cooking four types got four chances
// of one false alarm. The mean averages the slices' noise out instead; on
// the field backtests it raised machine-day PR-AUC and service precision on
// every dev seed. The trainer calibrates the level thresholds on this same
// machine-day risk (Risk), so the two cannot drift apart.
package decision

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// MaxReasons is how many reason lines an action carries at most.
const MaxReasons = 4

// Defaults used when neither the release nor the operator sets a threshold.
const (
	DefaultService = 0.7
	DefaultStop    = 0.9
)

// Thresholds map a machine-day risk to a level. Inspect 0 means each
// model's own threshold decides "inspect" (releases made before the trainer
// calibrated levels on the machine-day risk).
type Thresholds struct {
	Inspect, Service, Stop float64
}

// Resolve returns the thresholds to use: each one the operator set (non-zero
// in override) wins, then the release's calibrated levels, then the
// defaults.
func Resolve(override Thresholds, levels *release.Levels) Thresholds {
	t := Thresholds{Service: DefaultService, Stop: DefaultStop}
	if levels != nil {
		t = Thresholds{Inspect: levels.Inspect, Service: levels.Service, Stop: levels.Stop}
	}
	t.Inspect = cmp.Or(override.Inspect, t.Inspect)
	t.Service = cmp.Or(override.Service, t.Service)
	t.Stop = cmp.Or(override.Stop, t.Stop)
	return t
}

// Level maps a machine-day risk to a level. typeAlarm says whether a scored
// type reached its own model threshold; it matters only when t.Inspect is 0.
func (t Thresholds) Level(risk float64, typeAlarm bool) string {
	switch {
	case risk >= t.Stop:
		return action.LevelStop
	case risk >= t.Service:
		return action.LevelService
	case t.Inspect > 0 && risk >= t.Inspect:
		return action.LevelInspect
	case t.Inspect <= 0 && typeAlarm:
		return action.LevelInspect
	}
	return action.LevelNone
}

// Risk combines a machine's per-arepa risks into its machine-day risk: their
// mean. NaN risks are ignored; no risk at all is NaN.
func Risk(risks []float64) float64 {
	sum, n := 0.0, 0
	for _, r := range risks {
		if !math.IsNaN(r) {
			sum += r
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// WindowDays returns the longest feature window any of models needs (at
// least features.DefaultWindowDays): how many days before D to gather.
func WindowDays(models map[string]*model.Model) int {
	w := features.DefaultWindowDays
	for _, m := range models {
		w = max(w, m.Features.Days())
	}
	return w
}

// Input is one machine's morning.
type Input struct {
	Kitchen, Machine string
	Day              string // the local day decided, yyyy-mm-dd
	// Days holds the machine's cook and event records of the local days
	// D-len(Days) .. D-1, oldest first, each day in time order.
	Days [][]record.Record
	// Models are the release's models by arepa type; nil means no release
	// is installed.
	Models     map[string]*model.Model
	Release    int64
	Thresholds Thresholds
	Now        time.Time
}

// ReasonNoRelease is the reason of a machine that cooked but could not be
// judged because no model release was installed at all: the agent decides
// such a machine again once its first release arrives.
const ReasonNoRelease = "no model release installed yet"

// Decide returns the machine's action for the day. It has no side effects.
func Decide(in Input) action.Action {
	a := action.Action{V: action.Version, Date: in.Day, Kitchen: in.Kitchen, Machine: in.Machine,
		Level: action.LevelUnknown, ByArepa: map[string]float64{}, Reasons: []string{},
		ModelRelease: in.Release, DecidedAt: in.Now.UTC()}
	// Types cooked and days with cooking, over the last 7 days (the window
	// the contract promises), even when a model looks further back.
	types := map[string]bool{}
	recent := in.Days[max(0, len(in.Days)-features.DefaultWindowDays):]
	for _, recs := range recent {
		cooked := false
		for i := range recs {
			if recs[i].Type == record.TypeCook {
				types[recs[i].Arepa] = true
				cooked = true
			}
		}
		if cooked {
			a.DataDays++
		}
	}
	if len(types) == 0 {
		a.Reasons = append(a.Reasons, fmt.Sprintf("no cooking recorded in the last %d days", features.DefaultWindowDays))
		return a
	}
	if in.Models == nil {
		a.Reasons = append(a.Reasons, ReasonNoRelease)
		return a
	}
	type scored struct {
		arepa   string
		risk    float64
		alarm   bool // reached its model's own threshold
		reasons []string
	}
	var got []scored
	var noModel, thin []string
	for _, t := range sortedKeys(types) {
		m := in.Models[t]
		if m == nil {
			noModel = append(noModel, t)
			continue
		}
		w := WindowOf(in.Days, t, m.Features.Days())
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
		got = append(got, scored{arepa: t, risk: p, alarm: p >= m.Threshold, reasons: m.Reasons(vec, MaxReasons)})
		a.ByArepa[t] = round3(p)
	}
	if len(got) == 0 {
		if len(thin) > 0 {
			a.Reasons = append(a.Reasons, "too little data: "+strings.Join(thin, "; "))
		}
		if len(noModel) > 0 {
			a.Reasons = append(a.Reasons, "no model for arepa type "+strings.Join(noModel, ", "))
		}
		return a
	}
	// Highest risk first (risks are never NaN here), ties by arepa type.
	slices.SortFunc(got, func(x, y scored) int {
		return cmp.Or(cmp.Compare(y.risk, x.risk), strings.Compare(x.arepa, y.arepa))
	})
	risks := make([]float64, len(got))
	alarm := false
	for i, s := range got {
		risks[i] = s.risk
		alarm = alarm || s.alarm
	}
	risk := Risk(risks)
	a.Risk = round3(risk)
	a.Level = in.Thresholds.Level(risk, alarm)
	if a.Level != action.LevelNone {
		prefix := len(got) > 1
		for _, s := range got {
			for _, r := range s.reasons {
				if len(a.Reasons) >= MaxReasons-1 {
					break
				}
				if prefix {
					r = s.arepa + ": " + r
				}
				a.Reasons = append(a.Reasons, r)
			}
		}
	}
	if len(noModel) > 0 {
		a.Reasons = append(a.Reasons, "not judged, no model: "+strings.Join(noModel, ", "))
	} else if len(thin) > 0 {
		a.Reasons = append(a.Reasons, "not judged, too little data: "+strings.Join(thin, "; "))
	}
	return a
}

// WindowOf is features.Collect over records already split by local day:
// the last n days, keeping cook records of arepa and every event, in time
// order. TestWindowOfMatchesCollect holds it to Collect.
func WindowOf(byDay [][]record.Record, arepa string, n int) features.Window {
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
