package train

import (
	"cmp"
	"math"
	"slices"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/internal/decision"
	"github.com/budare/budare/internal/release"
)

// minTrueAlarms is the fewest true alarms a precision target is judged on:
// "1 of 1" is no evidence of 80 % precision.
const minTrueAlarms = 3

// LevelsCard is how the release's level thresholds were chosen and how each
// did on the machine-days they were chosen on.
type LevelsCard struct {
	Targets     config.Targets `json:"targets"`
	MachineDays int            `json:"machine_days"`
	Positives   int            `json:"positives"` // machine-days followed by a failure within the horizon
	Inspect     LevelFigures   `json:"inspect"`
	Service     LevelFigures   `json:"service"`
	Stop        LevelFigures   `json:"stop"`
	Note        string         `json:"note,omitempty"`
}

// LevelFigures are one level's threshold and what "this level or above" did.
type LevelFigures struct {
	Threshold         float64 `json:"threshold"` // above 1: never fires
	Precision         float64 `json:"precision"`
	Recall            float64 `json:"recall"`
	AlarmsPer100      float64 `json:"alarms_per_100"`
	FalseAlarmsPer100 float64 `json:"false_alarms_per_100"`
	// TargetMet says whether the operator's target held at this threshold.
	TargetMet bool `json:"target_met"`
}

// off is the threshold of a level that validation could not support.
const off = 1.01

// machineDays combines the types' scored rows per machine-day exactly as
// the agent does (decision.Risk), sorted by descending risk.
func machineDays(results []Result) (risks []float64, labels []bool) {
	type key struct{ m, d string }
	type agg struct {
		risks []float64
		label bool
	}
	by := map[key]*agg{}
	for _, r := range results {
		for _, s := range r.Calibration {
			k := key{s.Machine, s.Day}
			a := by[k]
			if a == nil {
				a = &agg{}
				by[k] = a
			}
			a.risks = append(a.risks, s.Risk)
			a.label = a.label || s.Label
		}
	}
	type md struct {
		risk  float64
		label bool
	}
	list := make([]md, 0, len(by))
	for _, a := range by {
		if r := decision.Risk(a.risks); !math.IsNaN(r) {
			list = append(list, md{r, a.label})
		}
	}
	// Descending risk; ties with positives last so a threshold never
	// counts half a tie (the figures are for "risk >= t").
	slices.SortFunc(list, func(a, b md) int {
		return cmp.Or(cmp.Compare(b.risk, a.risk), cmp.Compare(boolInt(a.label), boolInt(b.label)))
	})
	risks = make([]float64, len(list))
	labels = make([]bool, len(list))
	for i, x := range list {
		risks[i], labels[i] = x.risk, x.label
	}
	return risks, labels
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ChooseLevels picks the level thresholds on the machine-day risks of the
// results' calibration rows from the operator's targets: service at the
// lowest risk whose precision is at least the service target (with at least
// minTrueAlarms true alarms; when no risk reaches it, the most precise
// one), stop likewise at the stop target (off when unreachable), inspect at
// the lowest risk whose false alarms per 100 machine-days stay within the
// budget, never above service. It returns nil when the rows hold no failure:
// nothing to calibrate on.
func ChooseLevels(results []Result, tg config.Targets) (*release.Levels, *LevelsCard) {
	risks, labels := machineDays(results)
	n := len(risks)
	pos := 0
	for _, y := range labels {
		if y {
			pos++
		}
	}
	card := &LevelsCard{Targets: tg, MachineDays: n, Positives: pos}
	if pos == 0 || n == 0 {
		return nil, card
	}
	// Cut points: after each run of equal risks, flagging risk >= t.
	type cut struct {
		t      float64
		tp, fp int
	}
	var cuts []cut
	tp, fp := 0, 0
	for i := 0; i < n; i++ {
		if labels[i] {
			tp++
		} else {
			fp++
		}
		if i+1 < n && risks[i+1] == risks[i] {
			continue
		}
		cuts = append(cuts, cut{risks[i], tp, fp})
	}
	prec := func(c cut) float64 { return float64(c.tp) / float64(c.tp+c.fp) }
	// lowestPrecise returns the lowest cut meeting the precision target.
	lowestPrecise := func(target float64) (cut, bool) {
		var best cut
		ok := false
		for _, c := range cuts {
			if c.tp >= minTrueAlarms && prec(c) >= target {
				best, ok = c, true
			}
		}
		return best, ok
	}
	figures := func(t float64, met bool) LevelFigures {
		f := LevelFigures{Threshold: t, TargetMet: met}
		var c cut
		for _, x := range cuts {
			if x.t >= t {
				c = x
			}
		}
		if c.tp+c.fp > 0 {
			f.Precision = prec(c)
		}
		f.Recall = float64(c.tp) / float64(pos)
		f.AlarmsPer100 = 100 * float64(c.tp+c.fp) / float64(n)
		f.FalseAlarmsPer100 = 100 * float64(c.fp) / float64(n)
		return f
	}
	lv := &release.Levels{Service: off, Stop: off, Inspect: off}
	svc, ok := lowestPrecise(tg.ServicePrecision)
	switch {
	case ok:
		lv.Service = svc.t
	default:
		// The target is out of reach: the most precise cut with enough
		// true alarms, so service still means "likeliest to fail".
		bestP := -1.0
		for _, c := range cuts {
			if c.tp >= minTrueAlarms && prec(c) > bestP {
				bestP, lv.Service = prec(c), c.t
			}
		}
		card.Note = "service precision target not reached on validation; service is at the most precise risk"
		if bestP < 0 {
			lv.Service = off
			card.Note = "too few failures on validation to set service; service is off"
		}
	}
	if st, ok := lowestPrecise(tg.StopPrecision); ok {
		lv.Stop = max(st.t, lv.Service)
	}
	lv.Stop = max(lv.Stop, lv.Service)
	budget := tg.InspectFalseAlarms * float64(n) / 100
	for _, c := range cuts {
		if float64(c.fp) <= budget {
			lv.Inspect = c.t
		}
	}
	lv.Inspect = min(lv.Inspect, lv.Service)
	card.Service = figures(lv.Service, ok)
	card.Stop = figures(lv.Stop, lv.Stop <= 1)
	card.Inspect = figures(lv.Inspect, false)
	card.Inspect.TargetMet = card.Inspect.FalseAlarmsPer100 <= tg.InspectFalseAlarms
	if card.Stop.TargetMet {
		card.Stop.TargetMet = card.Stop.Precision >= tg.StopPrecision
	}
	return lv, card
}
