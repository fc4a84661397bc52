package decide

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/internal/decision"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/record"
)

func TestDecideLevelsAndReasons(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	day := "2026-11-27"
	decidetest.Fill(t, st, loc, day,
		decidetest.Machine{Name: "m-flat", Arepa: "reina-pepiada", Days: 7},
		decidetest.Machine{Name: "m-rising", Arepa: "reina-pepiada", Days: 7, Trend: 0.3},
		decidetest.Machine{Name: "m-mild", Arepa: "reina-pepiada", Days: 7, Trend: 0.14},
		decidetest.Machine{Name: "m-thin", Arepa: "reina-pepiada", Days: 2},
		decidetest.Machine{Name: "m-nomodel", Arepa: "catira", Days: 7},
		decidetest.Machine{Name: "m-two", Arepa: "reina-pepiada", Days: 7, Trend: 0.3},
		decidetest.Machine{Name: "m-two", Arepa: "domino", Days: 7, Cooks: 5},
		decidetest.Machine{Name: "m-quiet", Arepa: "domino", Days: 10, Skip: 8}, // last cooked 9 days ago
	)
	rel := decidetest.Release(t, dir, st, "reina-pepiada", "domino")
	now := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	d := &Decider{Kitchen: "k-017", Location: loc, Records: st,
		Models:     func() *modelsync.Release { return rel },
		Thresholds: Thresholds{Inspect: 0, Service: 0.7, Stop: 0.9}}
	checkDecision(t, d, day, now)
}

func checkDecision(t *testing.T, d *Decider, day string, now time.Time) {
	t.Helper()
	got, err := d.Decide(context.Background(), day, now)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Action{}
	for _, a := range got.Actions {
		by[a.Machine] = a
	}
	cases := []struct {
		machine string
		level   string
		reason  string // substring of some reason; "" = none expected
	}{
		{"m-flat", LevelNone, ""},
		{"m-rising", LevelStop, "vibration_mm_s 3.21, 7-day mean 2.3"},
		{"m-mild", LevelInspect, "vibration_mm_s 2.25, 7-day mean 1.83"},
		{"m-thin", LevelUnknown, "too little data: reina-pepiada cooked on 2 of the last 7 days (need 4)"},
		{"m-nomodel", LevelUnknown, "no model for arepa type catira"},
		{"m-two", LevelInspect, "reina-pepiada: vibration_mm_s "},
		{"m-quiet", LevelUnknown, "no cooking recorded in the last 7 days"},
	}
	if len(got.Actions) != len(cases) {
		t.Fatalf("%d actions, want %d: %+v", len(got.Actions), len(cases), got.Actions)
	}
	for _, c := range cases {
		a, ok := by[c.machine]
		if !ok {
			t.Errorf("%s: no action", c.machine)
			continue
		}
		if a.Level != c.level {
			t.Errorf("%s: level %s (risk %.3f, by %v, reasons %q), want %s", c.machine, a.Level, a.Risk, a.ByArepa, a.Reasons, c.level)
		}
		joined := strings.Join(a.Reasons, " | ")
		if c.reason != "" && !strings.Contains(joined, c.reason) {
			t.Errorf("%s: reasons %q lack %q", c.machine, a.Reasons, c.reason)
		}
		if c.reason == "" && len(a.Reasons) != 0 {
			t.Errorf("%s: reasons %q, want none", c.machine, a.Reasons)
		}
		if a.V != 1 || a.Date != day || a.Kitchen != "k-017" || a.ModelRelease != 9 || !a.DecidedAt.Equal(now) {
			t.Errorf("%s: envelope %+v", c.machine, a)
		}
	}
	// The machine-day risk is the mean of its types' risks (decision.Risk):
	// one type's noisy estimate does not decide alone.
	if a := by["m-two"]; len(a.ByArepa) != 2 || math.Abs(a.Risk-(a.ByArepa["domino"]+a.ByArepa["reina-pepiada"])/2) > 0.002 {
		t.Errorf("m-two: risk %v by %v; want the mean of both types", a.Risk, a.ByArepa)
	}
	if by["m-flat"].DataDays != 7 || by["m-thin"].DataDays != 2 {
		t.Errorf("data_days flat=%d thin=%d, want 7 and 2", by["m-flat"].DataDays, by["m-thin"].DataDays)
	}
	if got.Counts[LevelStop] != 1 || got.Counts[LevelInspect] != 2 || got.Counts[LevelUnknown] != 3 {
		t.Errorf("counts %v", got.Counts)
	}
	// No release at all: every machine is unknown, with that reason.
	d.Models = func() *modelsync.Release { return nil }
	got, err = d.Decide(context.Background(), day, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got.Actions {
		if a.Level != LevelUnknown || len(a.Reasons) == 0 {
			t.Errorf("without models %s: %s %q", a.Machine, a.Level, a.Reasons)
		}
	}
}

// TestWindowOfMatchesCollect holds the decision's window building to
// features.Collect, which the trainer's features come from, across a DST
// change and with events and several arepa types interleaved.
func TestWindowOfMatchesCollect(t *testing.T) {
	loc := decidetest.Location(t, "Europe/Berlin")
	const day = "2026-03-31"
	const window = 7
	start, _ := record.DayStart(day, -window-1, loc)
	end, _ := record.DayStart(day, 1, loc)
	var recs []record.Record
	seq := int64(0)
	for ts := start; ts.Before(end); ts = ts.Add(37 * time.Minute) {
		seq++
		r := record.Record{Machine: "m", TS: ts.UTC(), Seq: seq, Type: record.TypeCook,
			Arepa: []string{"domino", "catira", "pelua"}[seq%3], Metrics: map[string]float64{"x": float64(seq)}}
		if seq%11 == 0 {
			r = record.Record{Machine: "m", TS: ts.UTC(), Seq: seq, Type: record.TypeEvent, Kind: record.KindFault}
		}
		recs = append(recs, r)
	}
	bounds := make([]time.Time, window+1)
	for i := range bounds {
		bounds[i], _ = record.DayStart(day, i-window, loc)
	}
	byDay := make([][]record.Record, window)
	for _, r := range recs {
		for i := range window {
			if !r.TS.Before(bounds[i]) && r.TS.Before(bounds[i+1]) {
				byDay[i] = append(byDay[i], r)
			}
		}
	}
	for _, a := range []string{"domino", "catira", "nothing"} {
		want, err := features.Collect(recs, a, day, window, loc)
		if err != nil {
			t.Fatal(err)
		}
		got := decision.WindowOf(byDay, a, window)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: WindowOf differs from features.Collect", a)
		}
	}
}

func TestReasonsSkipZeroCounts(t *testing.T) {
	m := mst.Model("domino", 0)
	names := m.Features.Names()
	vec := make([]float64, len(names))
	copy(vec, m.Mean)
	for i, n := range names {
		switch n {
		case features.FeatFaults:
			m.Logistic.Weights[i] = -2 // fewer faults than usual "raises" the risk
			m.Mean[i] = 1
			vec[i] = 0
		case "vibration_mm_s:slope":
			vec[i] = 0.2
		}
	}
	got := m.Reasons(vec, 4)
	fi := slices.Index(names, features.FeatFaults)
	if c := m.Contributions(vec); c[fi] <= 1e-9 || m.Features.Describe(vec, m.Mean, fi) == "" || !strings.HasPrefix(m.Features.Describe(vec, m.Mean, fi), "0 faults") {
		t.Fatalf("the fixture no longer makes \"0 faults\" push the risk up (contribution %v)", c[fi])
	}
	if slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "0 faults") }) || len(got) == 0 ||
		!strings.HasPrefix(got[0], "vibration_mm_s ") || !strings.Contains(got[0], "7-day mean") {
		t.Fatalf("reasons %q", got)
	}
}
