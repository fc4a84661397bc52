package score

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/record"
)

// plan writes a kitchen's mornings compactly: one string of levels per
// machine, one character a day from start: '.' none, 'i' inspect, 's'
// service, 'S' stop, 'u' unknown, '_' no action.
type plan struct {
	kitchen, start string
	machines       map[string]string
}

var levelOf = map[byte]string{'.': action.LevelNone, 'i': action.LevelInspect, 's': action.LevelService,
	'S': action.LevelStop, 'u': action.LevelUnknown}

var riskOf = map[string]float64{action.LevelNone: 0.1, action.LevelInspect: 0.5, action.LevelService: 0.7,
	action.LevelStop: 0.9, action.LevelUnknown: 0}

// days builds the day files of the plans. The actions leave kitchen and date
// to their day file, as a bare array's first action does for the others.
func days(t *testing.T, plans ...plan) []action.Day {
	t.Helper()
	var out []action.Day
	for _, p := range plans {
		n := 0
		for _, s := range p.machines {
			n = max(n, len(s))
		}
		for i := range n {
			day, err := record.AddDays(p.start, i)
			if err != nil {
				t.Fatal(err)
			}
			d := action.Day{V: action.Version, Kitchen: p.kitchen, Date: day, Actions: []action.Action{}}
			for _, m := range []string{"m1", "m2", "m3", "m4", "n1"} {
				s := p.machines[m]
				if i >= len(s) || s[i] == '_' {
					continue
				}
				l, ok := levelOf[s[i]]
				if !ok {
					t.Fatalf("plan %s/%s: level %q", p.kitchen, m, s[i])
				}
				d.Actions = append(d.Actions, action.Action{V: action.Version, Machine: m, Level: l, Risk: riskOf[l]})
			}
			out = append(out, d)
		}
	}
	return out
}

// scenario: kitchen k1 has four machines over 2026-11-01..10, k2 one over
// 11-01..05.
//
//	m1  fails 11-06 (HEATER_OPEN, precursor, reported twice): inspect 11-02,
//	    service 11-03 and 11-04, stop 11-06 — warned at both thresholds,
//	    lead 3 days at service+ (11-03), 4 at inspect+ (11-02).
//	m2  never fails: service 11-02 and 11-08 are false alarms.
//	m3  fails 11-09 (MOTOR_STALL, sudden): only inspect 11-08 — missed at
//	    service+, warned at inspect+ with lead 1; unknown on 11-10.
//	m4  fails 11-12, after k1's last decided day: outside the period, but
//	    its 11-10 machine-day is positive.
//	n1  (k2) fails 11-04 (MOTOR_STALL, no group): inspect 11-01, stop 11-02
//	    — warned, lead 2 at service+, 3 at inspect+.
//	k3  has a failure and no actions: outside.
func scenario(t *testing.T) ([]action.Day, []Failure) {
	d := days(t,
		plan{"k1", "2026-11-01", map[string]string{
			"m1": ".iss.S....",
			"m2": ".s.....s..",
			"m3": ".......i.u",
			"m4": "..........",
		}},
		plan{"k2", "2026-11-01", map[string]string{"n1": "iS..."}},
	)
	f := []Failure{
		{Kitchen: "k1", Machine: "m1", Day: "2026-11-06", Code: "HEATER_OPEN", Group: "precursor"},
		{Kitchen: "k1", Machine: "m1", Day: "2026-11-06", Code: "HEATER_OPEN", Group: "precursor"},
		{Kitchen: "k1", Machine: "m3", Day: "2026-11-09", Code: "MOTOR_STALL", Group: "sudden"},
		{Kitchen: "k1", Machine: "m4", Day: "2026-11-12", Code: "HEATER_OPEN", Group: "precursor"},
		{Kitchen: "k2", Machine: "n1", Day: "2026-11-04", Code: "MOTOR_STALL"},
		{Kitchen: "k3", Machine: "x", Day: "2026-11-04", Code: "MOTOR_STALL"},
	}
	return d, f
}

const eps = 1e-12

func near(a, b float64) bool {
	return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < eps
}

func checkThreshold(t *testing.T, name string, got, want Threshold) {
	t.Helper()
	ints := [][3]any{{"alarms", got.Alarms, want.Alarms}, {"true_alarms", got.TrueAlarms, want.TrueAlarms},
		{"false_alarms", got.FalseAlarms, want.FalseAlarms}, {"warned", got.Warned, want.Warned}}
	for _, c := range ints {
		if c[1] != c[2] {
			t.Errorf("%s %s = %v, want %v", name, c[0], c[1], c[2])
		}
	}
	floats := []struct {
		n         string
		got, want float64
	}{
		{"precision", got.Precision, want.Precision}, {"recall", got.Recall, want.Recall}, {"f1", got.F1, want.F1},
		{"false_alarms_per_100", got.FalseAlarmsPer100, want.FalseAlarmsPer100},
		{"failure_recall", got.FailureRecall, want.FailureRecall},
		{"lead_median", got.LeadMedianDays, want.LeadMedianDays}, {"lead_mean", got.LeadMeanDays, want.LeadMeanDays},
	}
	for _, c := range floats {
		if !near(c.got, c.want) {
			t.Errorf("%s %s = %v, want %v", name, c.n, c.got, c.want)
		}
	}
}

func TestScoreHandComputed(t *testing.T) {
	d, f := scenario(t)
	r := Score(d, f, Options{})
	if r.From != "2026-11-01" || r.To != "2026-11-10" || r.HorizonDays != 3 || r.LeadDays != 14 || r.Skipped != 0 || r.Duplicates != 0 {
		t.Errorf("period %s..%s horizon %d lead %d skipped %d duplicates %d", r.From, r.To, r.HorizonDays, r.LeadDays, r.Skipped, r.Duplicates)
	}
	tests := []struct {
		scope                                          string
		s                                              Summary
		from, to                                       string
		machineDays, unknown, positive, fails, outside int
		service, inspect                               Threshold
		byCode                                         []Recall
	}{
		{
			scope: "k1", s: r.Kitchens["k1"], from: "2026-11-01", to: "2026-11-10",
			// positive: m1 11-04..06, m3 11-07..09, m4 11-10
			machineDays: 40, unknown: 1, positive: 7, fails: 2, outside: 1,
			// alarms m1 03F 04T 06T, m2 02F 08F
			service: Threshold{Alarms: 5, TrueAlarms: 2, FalseAlarms: 3, Precision: 0.4, Recall: 2.0 / 7, F1: 4.0 / 12,
				FalseAlarmsPer100: 7.5, Warned: 1, FailureRecall: 0.5, LeadMedianDays: 3, LeadMeanDays: 3},
			// alarms m1 02F 03F 04T 06T, m2 02F 08F, m3 08T
			inspect: Threshold{Alarms: 7, TrueAlarms: 3, FalseAlarms: 4, Precision: 3.0 / 7, Recall: 3.0 / 7, F1: 6.0 / 14,
				FalseAlarmsPer100: 10, Warned: 2, FailureRecall: 1, LeadMedianDays: 2.5, LeadMeanDays: 2.5},
			byCode: []Recall{{"HEATER_OPEN", 1, 1, 1, 1, 1}, {"MOTOR_STALL", 1, 0, 1, 0, 1}},
		},
		{
			scope: "k2", s: r.Kitchens["k2"], from: "2026-11-01", to: "2026-11-05",
			machineDays: 5, positive: 3, fails: 1,
			service: Threshold{Alarms: 1, TrueAlarms: 1, Precision: 1, Recall: 1.0 / 3, F1: 0.5,
				Warned: 1, FailureRecall: 1, LeadMedianDays: 2, LeadMeanDays: 2},
			inspect: Threshold{Alarms: 2, TrueAlarms: 1, FalseAlarms: 1, Precision: 0.5, Recall: 1.0 / 3, F1: 0.4,
				FalseAlarmsPer100: 20, Warned: 1, FailureRecall: 1, LeadMedianDays: 3, LeadMeanDays: 3},
			byCode: []Recall{{"MOTOR_STALL", 1, 1, 1, 1, 1}},
		},
		{
			scope: "chain", s: r.Chain, from: "2026-11-01", to: "2026-11-10",
			machineDays: 45, unknown: 1, positive: 10, fails: 3, outside: 2,
			service: Threshold{Alarms: 6, TrueAlarms: 3, FalseAlarms: 3, Precision: 0.5, Recall: 0.3, F1: 6.0 / 16,
				FalseAlarmsPer100: 300.0 / 45, Warned: 2, FailureRecall: 2.0 / 3, LeadMedianDays: 2.5, LeadMeanDays: 2.5},
			inspect: Threshold{Alarms: 9, TrueAlarms: 4, FalseAlarms: 5, Precision: 4.0 / 9, Recall: 0.4, F1: 8.0 / 19,
				FalseAlarmsPer100: 500.0 / 45, Warned: 3, FailureRecall: 1, LeadMedianDays: 3, LeadMeanDays: 8.0 / 3},
			byCode: []Recall{{"HEATER_OPEN", 1, 1, 1, 1, 1}, {"MOTOR_STALL", 2, 1, 2, 0.5, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			s := tt.s
			if s.From != tt.from || s.To != tt.to || s.MachineDays != tt.machineDays || s.Unknown != tt.unknown ||
				s.Positive != tt.positive || s.Failures != tt.fails || s.FailuresOutside != tt.outside {
				t.Errorf("%s..%s machine-days %d unknown %d positive %d failures %d outside %d, want %s..%s %d %d %d %d %d",
					s.From, s.To, s.MachineDays, s.Unknown, s.Positive, s.Failures, s.FailuresOutside,
					tt.from, tt.to, tt.machineDays, tt.unknown, tt.positive, tt.fails, tt.outside)
			}
			checkThreshold(t, "service+", s.Service, tt.service)
			checkThreshold(t, "inspect+", s.Inspect, tt.inspect)
			if fmt.Sprint(s.ByCode) != fmt.Sprint(tt.byCode) {
				t.Errorf("by code %v, want %v", s.ByCode, tt.byCode)
			}
			if math.IsNaN(s.PRAUC) || math.IsNaN(s.ROCAUC) || s.PRAUC <= 0 || s.ROCAUC < 0.5 {
				t.Errorf("pr_auc %v roc_auc %v: the risks follow the levels, which do not lose to chance", s.PRAUC, s.ROCAUC)
			}
		})
	}
	wantGroups := []Recall{{"precursor", 1, 1, 1, 1, 1}, {"sudden", 1, 0, 1, 0, 1}}
	if fmt.Sprint(r.Chain.ByGroup) != fmt.Sprint(wantGroups) {
		t.Errorf("chain by group %v, want %v (n1 has no group)", r.Chain.ByGroup, wantGroups)
	}
}

// TestScoreLeadDays: the lead window bounds how far back a warning counts,
// and is never shorter than the horizon.
func TestScoreLeadDays(t *testing.T) {
	d, f := scenario(t)
	for _, tt := range []struct {
		o                    Options
		lead                 int
		m1Service, m1Inspect float64 // k1: m1 and m3 (inspect lead 1)
	}{
		{Options{}, 14, 3, 4},
		{Options{LeadDays: 4}, 4, 3, 3},     // window 11-03..06
		{Options{LeadDays: 3}, 3, 2, 2},     // window 11-04..06
		{Options{LeadDays: 1}, 3, 2, 2},     // raised to the horizon
		{Options{HorizonDays: 2}, 14, 3, 4}, // still warned by 11-06 stop
	} {
		r := Score(d, f, tt.o)
		k1 := r.Kitchens["k1"]
		if r.LeadDays != tt.lead || k1.Service.LeadMeanDays != tt.m1Service || k1.Inspect.LeadMeanDays != (tt.m1Inspect+1)/2 {
			t.Errorf("%+v: lead days %d, service lead %v, inspect lead %v; want %d, %v, %v", tt.o, r.LeadDays,
				k1.Service.LeadMeanDays, k1.Inspect.LeadMeanDays, tt.lead, tt.m1Service, (tt.m1Inspect+1)/2)
		}
	}
}

// TestScoreHorizon: a horizon of 1 makes only the failure day positive.
func TestScoreHorizon(t *testing.T) {
	d, f := scenario(t)
	r := Score(d, f, Options{HorizonDays: 1})
	k1 := r.Kitchens["k1"]
	// positive: m1 11-06, m3 11-09; alarms on them: m1 stop 11-06.
	if k1.Positive != 2 || k1.Service.TrueAlarms != 1 || k1.Service.Warned != 1 || k1.Inspect.Warned != 1 {
		t.Errorf("positive %d, service true alarms %d warned %d, inspect warned %d; want 2, 1, 1, 1",
			k1.Positive, k1.Service.TrueAlarms, k1.Service.Warned, k1.Inspect.Warned)
	}
}

// TestScoreAUCUnknownRisk: an unknown action's risk counts as 0 whatever it
// says, so a stale risk on an unjudged machine cannot rank it.
func TestScoreAUCUnknownRisk(t *testing.T) {
	mk := func(day, m, level string, risk float64) action.Action {
		return action.Action{Kitchen: "k", Date: day, Machine: m, Level: level, Risk: risk}
	}
	d := []action.Day{{Actions: []action.Action{
		mk("2026-11-01", "a", action.LevelService, 0.9), // positive
		mk("2026-11-01", "b", action.LevelInspect, 0.8), // negative
		mk("2026-11-01", "c", action.LevelNone, 0.4),    // positive
		mk("2026-11-01", "d", action.LevelUnknown, 0.7), // negative, risk 0
	}}}
	f := []Failure{{Kitchen: "k", Machine: "a", Day: "2026-11-02"}, {Kitchen: "k", Machine: "c", Day: "2026-11-03"}}
	r := Score(d, f, Options{})
	// scores .9 .8 .4 0, labels T F T F: ROC 3/4; AP = .5·1 + .5·2/3.
	if !near(r.Chain.ROCAUC, 0.75) || !near(r.Chain.PRAUC, 0.5+1.0/3) {
		t.Errorf("roc_auc %v pr_auc %v, want 0.75 and 0.8333", r.Chain.ROCAUC, r.Chain.PRAUC)
	}
	// Both failures fall after the one decided day: outside the period.
	if r.Chain.Failures != 0 || r.Chain.FailuresOutside != 2 || !math.IsNaN(r.Chain.Service.FailureRecall) {
		t.Errorf("failures %d outside %d recall %v, want 0, 2, NaN", r.Chain.Failures, r.Chain.FailuresOutside, r.Chain.Service.FailureRecall)
	}
}

func TestScoreSkipsAndDuplicates(t *testing.T) {
	d := []action.Day{
		{Kitchen: "k", Date: "2026-11-01", Actions: []action.Action{
			{Machine: "a", Level: action.LevelNone},
			{Machine: "", Level: action.LevelStop},
			{Machine: "b", Date: "1 Nov", Level: action.LevelStop},
			{Machine: "c", Level: "panic", Risk: 0.99}, // outside the contract: unknown
		}},
		{Kitchen: "k", Date: "2026-11-01", Actions: []action.Action{{Machine: "a", Level: action.LevelService}}},
	}
	f := []Failure{{Kitchen: "k", Machine: "a", Day: "2026-11-31"}}
	r := Score(d, f, Options{})
	c := r.Chain
	if r.Skipped != 3 || r.Duplicates != 1 || c.MachineDays != 2 || c.Unknown != 1 || c.Service.Alarms != 1 || c.Service.FalseAlarms != 1 {
		t.Errorf("skipped %d duplicates %d machine-days %d unknown %d alarms %d false %d; want 3 1 2 1 1 1",
			r.Skipped, r.Duplicates, c.MachineDays, c.Unknown, c.Service.Alarms, c.Service.FalseAlarms)
	}
	if !math.IsNaN(c.Service.Recall) || !math.IsNaN(c.PRAUC) || !near(c.Service.Precision, 0) || !near(c.Service.F1, 0) {
		t.Errorf("no positive: recall %v pr_auc %v want NaN; precision %v f1 %v want 0", c.Service.Recall, c.PRAUC, c.Service.Precision, c.Service.F1)
	}
	empty := Score(nil, nil, Options{})
	if empty.Chain.MachineDays != 0 || !math.IsNaN(empty.Chain.Service.FalseAlarmsPer100) || len(empty.Kitchens) != 0 {
		t.Errorf("empty report %+v", empty)
	}
}

func TestReportJSON(t *testing.T) {
	d, f := scenario(t)
	r := Score(d, f, Options{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	k2 := raw["kitchens"].(map[string]any)["k2"].(map[string]any)
	if k2["machine_days"] != 5.0 || k2["service"].(map[string]any)["false_alarms_per_100"] != 0.0 {
		t.Errorf("k2 in JSON: %v", k2)
	}
	// k2 has no failure with a group: an empty list, not null.
	if g, ok := k2["by_group"].([]any); !ok || len(g) != 0 {
		t.Errorf("k2 by_group = %#v, want []", k2["by_group"])
	}
	e, err := json.Marshal(Score(nil, nil, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"pr_auc":null`, `"precision":null`, `"lead_mean_days":null`, `"false_alarms_per_100":null`} {
		if !bytes.Contains(e, []byte(k)) {
			t.Errorf("empty report JSON lacks %s: %s", k, e)
		}
	}
	var back Report
	if err := json.Unmarshal(e, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Chain.PRAUC) || !math.IsNaN(back.Chain.Service.Precision) {
		t.Errorf("null did not come back as NaN: %+v", back.Chain)
	}
	var again Report
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(again)
	if !bytes.Equal(b, b2) {
		t.Errorf("JSON does not round-trip:\n%s\n%s", b, b2)
	}
	// Deterministic: the same input gives the same bytes.
	b3, _ := json.Marshal(Score(d, f, Options{}))
	if !bytes.Equal(b, b3) {
		t.Error("two runs gave different JSON")
	}
}

func TestFailuresFromRecords(t *testing.T) {
	ev := func(m, kind, code string) record.Record {
		return record.Record{Machine: m, Type: record.TypeEvent, Kind: kind, Code: code}
	}
	recs := []record.Record{
		{Machine: "a", Type: record.TypeCook, Arepa: "reina"},
		ev("a", record.KindFailure, "HEATER_OPEN"),
		ev("a", record.KindFailure, "HEATER_OPEN"), // reported twice
		ev("b", record.KindFault, "DOOR_SENSOR"),
		ev("b", record.KindFailure, "MOTOR_STALL"),
		ev("c", record.KindMaintenance, "REPAIR"),
	}
	for _, tt := range []struct {
		name string
		rule record.FailureRule
		want string
	}{
		{"default", record.FailureRule{}, "a:HEATER_OPEN b:MOTOR_STALL"},
		{"codes", record.FailureRule{Codes: []string{"MOTOR_STALL"}}, "b:MOTOR_STALL"},
		{"faults too", record.FailureRule{Kinds: []string{record.KindFailure, record.KindFault}}, "a:HEATER_OPEN b:DOOR_SENSOR b:MOTOR_STALL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range FailuresFromRecords("k", "2026-11-01", recs, tt.rule) {
				if f.Kitchen != "k" || f.Day != "2026-11-01" {
					t.Errorf("failure %+v: wrong kitchen or day", f)
				}
				got = append(got, f.Machine+":"+f.Code)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	d, f := scenario(t)
	var b bytes.Buffer
	if err := WriteTable(&b, Score(d, f, Options{})); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"scorecard 2026-11-01..2026-11-10: 45 machine-days (1 unknown, 10 positive), horizon 3 days, 3 failures (2 outside the period)",
		"chain    service+  6       3     3      0.500      0.300   0.375  6.7        2/3     0.667        2.5          2.5",
		"k1       inspect+  7       3     4      0.429      0.429   0.429  10.0       2/2     1.000        2.5          2.5",
		"MOTOR_STALL  2         1                0.500            2                1.000",
		"precursor",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
