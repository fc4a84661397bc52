// Package score scores the agents' morning actions against the failures that
// really happened: the scorecard of budare-central.
//
// The unit is a decided machine-day: one action of one machine for one local
// day D (yyyy-mm-dd). Its label is positive when that machine has a failure
// on one of the days D..D+H-1, H being the horizon (HorizonDays), the same
// label the models are trained on. An action whose level is unknown (or a
// level outside the contract) is a decided machine-day that was never an
// alarm; its risk counts as 0 and the report says how many there were.
//
// Machine-day figures are given at two thresholds: service+ (service or
// stop) and inspect+ (inspect, service or stop). An alarm is a machine-day at
// or above the threshold; it is true when the machine-day is positive. The
// figures are precision (true alarms / alarms), recall (true alarms /
// positive machine-days), F1 (2·true / (2·true + false alarms + missed
// positives)) and false alarms per 100 machine-days. PR-AUC and ROC-AUC rank
// the action's risk against the label.
//
// Failure figures count failure events. A failure on day F is warned at
// service+ when an action of that machine on one of the H mornings F-H+1..F
// has level service or stop (inspect+ alike). Only failures whose day lies
// within a kitchen's period — its first to its last decided day — are
// counted; the others are reported as outside the period. The lead time of a
// warned failure is F minus the earliest morning in F-LeadDays+1..F whose
// level is at or above the threshold: 0 is a warning on the morning of the
// failure. A failure repeated (same machine, day and code) counts once.
//
// Ratios that are undefined (precision with no alarm, recall with no
// positive, lead time with no warned failure) are NaN, and null in JSON.
package score

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/record"
)

// Defaults of Options.
const (
	DefaultHorizonDays = 3
	DefaultLeadDays    = 14
)

// Failure is one failure event: the local day it happened on.
type Failure struct {
	Kitchen string `json:"kitchen"`
	Machine string `json:"machine"`
	Day     string `json:"day"`
	Code    string `json:"code"`
	// Group is optional, e.g. "precursor" or "sudden"; failure recall is
	// also reported per group.
	Group string `json:"group,omitempty"`
}

// Options are the scoring settings; zero values take the defaults.
type Options struct {
	// HorizonDays is H: a machine-day D is positive when the machine fails
	// on D..D+H-1 (default 3).
	HorizonDays int
	// LeadDays is how far back a warning counts for lead time (default 14;
	// never less than HorizonDays, so every warned failure has a lead).
	LeadDays int
}

func (o Options) withDefaults() Options {
	if o.HorizonDays <= 0 {
		o.HorizonDays = DefaultHorizonDays
	}
	if o.LeadDays <= 0 {
		o.LeadDays = DefaultLeadDays
	}
	o.LeadDays = max(o.LeadDays, o.HorizonDays)
	return o
}

// Report is the scorecard of a set of morning actions.
type Report struct {
	// From and To are the first and last decided day of any kitchen.
	From        string `json:"from"`
	To          string `json:"to"`
	HorizonDays int    `json:"horizon_days"`
	LeadDays    int    `json:"lead_days"`
	// Skipped counts actions and failures that could not be scored: no
	// kitchen or machine, or a day that is not yyyy-mm-dd.
	Skipped int `json:"skipped"`
	// Duplicates counts actions of a machine-day already decided; the last
	// one given wins.
	Duplicates int `json:"duplicates"`
	// Chain is every kitchen together. Its FailuresOutside also counts the
	// failures of kitchens without any action.
	Chain    Summary            `json:"chain"`
	Kitchens map[string]Summary `json:"kitchens"`
	// Sources describes what the caller read; Score leaves it nil.
	Sources *Sources `json:"sources,omitempty"`
}

// Sources describes the inputs a command read to build a report.
type Sources struct {
	Bucket string `json:"bucket"`
	// From and To are the days asked for.
	From     string `json:"from"`
	To       string `json:"to"`
	DayFiles int    `json:"day_files"`
	// Damaged are the day files skipped because they could not be read.
	Damaged []Damaged `json:"damaged"`
	// Windows were read for From..To+H-1; a missing one is a day without
	// events. BadLines are window lines that were not records.
	Windows        int                `json:"windows"`
	WindowsMissing int                `json:"windows_missing"`
	BadLines       int                `json:"bad_lines"`
	FailureRule    record.FailureRule `json:"failure_rule"`
}

// Summary is the scorecard of one kitchen or of the chain.
type Summary struct {
	From        string `json:"from"`
	To          string `json:"to"`
	MachineDays int    `json:"machine_days"`
	Unknown     int    `json:"unknown"`
	Positive    int    `json:"positive"` // positive machine-days
	// PRAUC and ROCAUC rank the risk against the label; NaN with one class.
	PRAUC   float64   `json:"pr_auc"`
	ROCAUC  float64   `json:"roc_auc"`
	Service Threshold `json:"service"` // service+
	Inspect Threshold `json:"inspect"` // inspect+
	// Failures are the failures within the period, FailuresOutside the
	// others.
	Failures        int `json:"failures"`
	FailuresOutside int `json:"failures_outside"`
	// ByCode and ByGroup are the failure recall per code and per group,
	// sorted by name; failures without a group are not in ByGroup.
	ByCode  []Recall `json:"by_code"`
	ByGroup []Recall `json:"by_group"`
}

// Threshold holds the figures of one alarm threshold.
type Threshold struct {
	Alarms      int     `json:"alarms"`
	TrueAlarms  int     `json:"true_alarms"`
	FalseAlarms int     `json:"false_alarms"`
	Precision   float64 `json:"precision"`
	Recall      float64 `json:"recall"` // over positive machine-days
	F1          float64 `json:"f1"`
	// FalseAlarmsPer100 is false alarms per 100 decided machine-days.
	FalseAlarmsPer100 float64 `json:"false_alarms_per_100"`
	// Warned failures, their share and lead time in days.
	Warned         int     `json:"warned"`
	FailureRecall  float64 `json:"failure_recall"`
	LeadMedianDays float64 `json:"lead_median_days"`
	LeadMeanDays   float64 `json:"lead_mean_days"`
}

// Recall is the failure recall of one failure code or group.
type Recall struct {
	Name          string  `json:"name"`
	Failures      int     `json:"failures"`
	WarnedService int     `json:"warned_service"`
	WarnedInspect int     `json:"warned_inspect"`
	RecallService float64 `json:"recall_service"`
	RecallInspect float64 `json:"recall_inspect"`
}

// machine names one machine of one kitchen.
type machine struct{ kitchen, name string }

// unit is one decided machine-day.
type unit struct {
	day      int // days since 1970-01-01
	severity int // action.Severity; 0 for unknown
	unknown  bool
	risk     float64
	positive bool
}

// outcome is one failure within a period and how it was warned.
type outcome struct {
	code, group string
	// lead is the lead time at service+ and inspect+, -1 when not warned.
	leadService, leadInspect int
}

// dayNum parses a local day into days since 1970-01-01.
func dayNum(s string) (int, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return int(t.Unix() / 86400), true
}

func dayString(n int) string {
	return time.Unix(int64(n)*86400, 0).UTC().Format(time.DateOnly)
}

// Score scores the actions of days against failures. It is deterministic:
// the order of days matters only for duplicate machine-days (the last wins).
func Score(days []action.Day, failures []Failure, o Options) Report {
	o = o.withDefaults()
	rep := Report{HorizonDays: o.HorizonDays, LeadDays: o.LeadDays, Kitchens: map[string]Summary{}}

	// The decided machine-days, per machine and day.
	decided := map[machine]map[int]unit{}
	for _, d := range days {
		for _, a := range d.Actions {
			k, date := cmp.Or(a.Kitchen, d.Kitchen), cmp.Or(a.Date, d.Date)
			n, ok := dayNum(date)
			if k == "" || a.Machine == "" || !ok {
				rep.Skipped++
				continue
			}
			u := unit{day: n, severity: action.Severity(a.Level), risk: a.Risk}
			// A level outside the contract was not judged in a way that can
			// be scored: it is unknown, not none.
			if u.severity == 0 && a.Level != action.LevelNone {
				u.unknown = true
			}
			if u.unknown || math.IsNaN(u.risk) {
				u.risk = 0
			}
			m := machine{k, a.Machine}
			if decided[m] == nil {
				decided[m] = map[int]unit{}
			}
			if _, dup := decided[m][n]; dup {
				rep.Duplicates++
			}
			decided[m][n] = u
		}
	}

	// The failures, once per machine, day and code.
	type failKey struct {
		m    machine
		day  int
		code string
	}
	seen := map[failKey]bool{}
	failDays := map[machine][]int{}
	var fails []Failure
	var failNums []int
	for _, f := range failures {
		n, ok := dayNum(f.Day)
		if f.Kitchen == "" || f.Machine == "" || !ok {
			rep.Skipped++
			continue
		}
		key := failKey{machine{f.Kitchen, f.Machine}, n, f.Code}
		if seen[key] {
			continue
		}
		seen[key] = true
		failDays[key.m] = append(failDays[key.m], n)
		fails = append(fails, f)
		failNums = append(failNums, n)
	}

	// Label every machine-day and group them per kitchen.
	perKitchen := map[string][]unit{}
	period := map[string][2]int{}
	for _, m := range slices.SortedFunc(maps.Keys(decided), compareMachine) {
		for _, n := range slices.Sorted(maps.Keys(decided[m])) {
			u := decided[m][n]
			for _, f := range failDays[m] {
				if f >= n && f <= n+o.HorizonDays-1 {
					u.positive = true
					break
				}
			}
			perKitchen[m.kitchen] = append(perKitchen[m.kitchen], u)
			p, ok := period[m.kitchen]
			if !ok {
				p = [2]int{n, n}
			}
			period[m.kitchen] = [2]int{min(p[0], n), max(p[1], n)}
		}
	}

	// Judge every failure within its kitchen's period.
	outcomes := map[string][]outcome{}
	outside := map[string]int{}
	chainOutside := 0
	for i, f := range fails {
		F := failNums[i]
		p, ok := period[f.Kitchen]
		if !ok || F < p[0] || F > p[1] {
			chainOutside++
			if ok {
				outside[f.Kitchen]++
			}
			continue
		}
		acts := decided[machine{f.Kitchen, f.Machine}]
		outcomes[f.Kitchen] = append(outcomes[f.Kitchen], outcome{code: f.Code, group: f.Group,
			leadService: lead(acts, F, o, action.Severity(action.LevelService)),
			leadInspect: lead(acts, F, o, action.Severity(action.LevelInspect))})
	}

	var allUnits []unit
	var allOutcomes []outcome
	for _, k := range slices.Sorted(maps.Keys(perKitchen)) {
		s := summarize(perKitchen[k], outcomes[k], outside[k])
		s.From, s.To = dayString(period[k][0]), dayString(period[k][1])
		rep.Kitchens[k] = s
		allUnits = append(allUnits, perKitchen[k]...)
		allOutcomes = append(allOutcomes, outcomes[k]...)
		if rep.From == "" || s.From < rep.From {
			rep.From = s.From
		}
		rep.To = max(rep.To, s.To)
	}
	rep.Chain = summarize(allUnits, allOutcomes, chainOutside)
	rep.Chain.From, rep.Chain.To = rep.From, rep.To
	return rep
}

func compareMachine(a, b machine) int {
	return cmp.Or(cmp.Compare(a.kitchen, b.kitchen), cmp.Compare(a.name, b.name))
}

// lead returns the lead time in days of a failure on day F at severity sev,
// or -1 when no morning of F-H+1..F warned of it.
func lead(acts map[int]unit, F int, o Options, sev int) int {
	warned := false
	for d := F - o.HorizonDays + 1; d <= F; d++ {
		if u, ok := acts[d]; ok && u.severity >= sev {
			warned = true
			break
		}
	}
	if !warned {
		return -1
	}
	for d := F - o.LeadDays + 1; ; d++ {
		if u, ok := acts[d]; ok && u.severity >= sev {
			return F - d
		}
	}
}

// summarize computes the figures of a set of machine-days and of the
// failures within their period.
func summarize(units []unit, outs []outcome, outside int) Summary {
	s := Summary{MachineDays: len(units), Failures: len(outs), FailuresOutside: outside}
	scores := make([]float64, len(units))
	labels := make([]bool, len(units))
	for i, u := range units {
		scores[i], labels[i] = u.risk, u.positive
		if u.unknown {
			s.Unknown++
		}
		if u.positive {
			s.Positive++
		}
	}
	s.PRAUC, s.ROCAUC = model.PRAUC(scores, labels), model.ROCAUC(scores, labels)
	s.Service = threshold(units, s.Positive, outs, action.Severity(action.LevelService), func(o outcome) int { return o.leadService })
	s.Inspect = threshold(units, s.Positive, outs, action.Severity(action.LevelInspect), func(o outcome) int { return o.leadInspect })
	s.ByCode = recalls(outs, func(o outcome) string { return o.code })
	s.ByGroup = recalls(outs, func(o outcome) string { return o.group })
	return s
}

func threshold(units []unit, positive int, outs []outcome, sev int, leadOf func(outcome) int) Threshold {
	var t Threshold
	for _, u := range units {
		if u.unknown || u.severity < sev {
			continue
		}
		t.Alarms++
		if u.positive {
			t.TrueAlarms++
		} else {
			t.FalseAlarms++
		}
	}
	t.Precision = ratio(t.TrueAlarms, t.Alarms)
	t.Recall = ratio(t.TrueAlarms, positive)
	t.F1 = ratio(2*t.TrueAlarms, 2*t.TrueAlarms+t.FalseAlarms+(positive-t.TrueAlarms))
	t.FalseAlarmsPer100 = 100 * ratio(t.FalseAlarms, len(units))
	var leads []float64
	for _, o := range outs {
		if l := leadOf(o); l >= 0 {
			leads = append(leads, float64(l))
		}
	}
	t.Warned = len(leads)
	t.FailureRecall = ratio(t.Warned, len(outs))
	t.LeadMedianDays, t.LeadMeanDays = median(leads), mean(leads)
	return t
}

// recalls is the failure recall per name (code or group), sorted by name;
// failures with an empty name are left out.
func recalls(outs []outcome, name func(outcome) string) []Recall {
	by := map[string]*Recall{}
	for _, o := range outs {
		n := name(o)
		if n == "" {
			continue
		}
		r := by[n]
		if r == nil {
			r = &Recall{Name: n}
			by[n] = r
		}
		r.Failures++
		if o.leadService >= 0 {
			r.WarnedService++
		}
		if o.leadInspect >= 0 {
			r.WarnedInspect++
		}
	}
	out := []Recall{}
	for _, n := range slices.Sorted(maps.Keys(by)) {
		r := *by[n]
		r.RecallService, r.RecallInspect = ratio(r.WarnedService, r.Failures), ratio(r.WarnedInspect, r.Failures)
		out = append(out, r)
	}
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Sorted(slices.Values(v))
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// FailureOf returns the failure event record r of kitchen's window of day
// is under rule; ok is false when r is not a failure.
func FailureOf(kitchen, day string, r *record.Record, rule record.FailureRule) (f Failure, ok bool) {
	if !rule.Match(r) {
		return Failure{}, false
	}
	return Failure{Kitchen: kitchen, Machine: r.Machine, Day: day, Code: r.Code}, true
}

// FailuresFromRecords returns the failure events under rule among the
// records of kitchen's window of day, in record order, once per machine and
// code (a failure a machine reports twice is one failure).
func FailuresFromRecords(kitchen, day string, recs []record.Record, rule record.FailureRule) []Failure {
	var out []Failure
	for i := range recs {
		f, ok := FailureOf(kitchen, day, &recs[i], rule)
		if ok && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
