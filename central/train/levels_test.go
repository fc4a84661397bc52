package train

import (
	"fmt"
	"math"
	"testing"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/internal/decision"
)

// calibResult makes one type's calibration rows: risk i/n for machine-day
// i, positive where pos says.
func calibResult(t *testing.T, risks []float64, pos []bool) Result {
	t.Helper()
	r := Result{}
	for i, x := range risks {
		r.Calibration = append(r.Calibration, ScoredRow{Machine: fmt.Sprintf("k/m-%d", i), Day: "2026-11-01", Risk: x, Label: pos[i]})
	}
	return r
}

// TestChooseLevelsReproducesValidation: on a fixed data set the thresholds
// chosen from the targets give back, on that data, precisions and alarm
// rates that meet the targets, and they are the lowest that do.
func TestChooseLevelsReproducesValidation(t *testing.T) {
	// 100 machine-days, risks 0.01..1.00. Positives: every day from 0.91 up
	// (10), 4 of the 5 from 0.81 to 0.85, every 10th below.
	var risks []float64
	var pos []bool
	for i := 1; i <= 100; i++ {
		x := float64(i) / 100
		risks = append(risks, x)
		pos = append(pos, i > 90 || (i > 80 && i <= 85 && i != 83) || i%10 == 0)
	}
	tg := config.Targets{ServicePrecision: 0.8, StopPrecision: 0.95, InspectFalseAlarms: 5}
	lv, card := ChooseLevels([]Result{calibResult(t, risks, pos)}, tg)
	if lv == nil {
		t.Fatal("no levels")
	}
	// Recount on the data what each threshold does.
	eval := func(th float64) (prec, fa100 float64) {
		tp, fp := 0, 0
		for i, x := range risks {
			if x >= th {
				if pos[i] {
					tp++
				} else {
					fp++
				}
			}
		}
		return float64(tp) / float64(tp+fp), 100 * float64(fp) / float64(len(risks))
	}
	cases := []struct {
		name   string
		th     float64
		fig    LevelFigures
		target func(prec, fa float64) bool
	}{
		{"service", lv.Service, card.Service, func(p, _ float64) bool { return p >= 0.8 }},
		{"stop", lv.Stop, card.Stop, func(p, _ float64) bool { return p >= 0.95 }},
		{"inspect", lv.Inspect, card.Inspect, func(_, fa float64) bool { return fa <= 5 }},
	}
	for _, c := range cases {
		p, fa := eval(c.th)
		if !c.target(p, fa) || !c.fig.TargetMet {
			t.Errorf("%s at %v: precision %v, false alarms %v/100: target not met", c.name, c.th, p, fa)
		}
		if math.Abs(p-c.fig.Precision) > 1e-12 || math.Abs(fa-c.fig.FalseAlarmsPer100) > 1e-12 {
			t.Errorf("%s: card says precision %v, %v false alarms/100; the data gives %v, %v", c.name, c.fig.Precision, c.fig.FalseAlarmsPer100, p, fa)
		}
		// No lower threshold meets the target: each is the lowest that does.
		if c.name != "inspect" {
			for _, lower := range risks {
				if p, fa := eval(lower); lower < c.th && c.target(p, fa) {
					t.Errorf("%s: %v also meets the target; want the lowest threshold, not %v", c.name, lower, c.th)
					break
				}
			}
		}
	}
	// Hand-computed: stop at 0.90 (11 of 11 flagged fail; 0.89 gives
	// 11/12 = 0.92), service at 0.88 (11/13 = 0.85; 0.87 gives 11/14 =
	// 0.79 and no lower risk gets back to 0.8), inspect at 0.80 (5 false
	// alarms; 0.79 makes 6).
	if lv.Stop != 0.90 || lv.Service != 0.88 || lv.Inspect != 0.80 {
		t.Errorf("levels %+v, want inspect 0.80, service 0.88, stop 0.90", *lv)
	}
	if !(lv.Inspect <= lv.Service && lv.Service <= lv.Stop) {
		t.Errorf("levels out of order: %+v", lv)
	}
	if card.MachineDays != 100 || card.Positives != 10+4+9 {
		t.Errorf("card counts %d machine-days, %d positives", card.MachineDays, card.Positives)
	}
}

// TestChooseLevelsMachineDay: the types' risks of one machine-day combine
// as the agent combines them (decision.Risk, the mean), and a label on any
// type's row labels the machine-day.
func TestChooseLevelsMachineDay(t *testing.T) {
	a := Result{Calibration: []ScoredRow{{"k/m1", "d1", 0.9, true}, {"k/m2", "d1", 0.2, false}, {"k/m3", "d1", 0.1, false}}}
	b := Result{Calibration: []ScoredRow{{"k/m1", "d1", 0.3, true}, {"k/m2", "d1", 0.95, false}}}
	risks, labels := machineDays([]Result{a, b})
	m1, m2 := decision.Risk([]float64{0.9, 0.3}), decision.Risk([]float64{0.2, 0.95})
	if math.Abs(m1-0.6) > 1e-12 || math.Abs(m2-0.575) > 1e-12 {
		t.Fatalf("decision.Risk gives %v and %v, want the means 0.6 and 0.575", m1, m2)
	}
	if len(risks) != 3 || risks[0] != m1 || !labels[0] || risks[1] != m2 || labels[1] || risks[2] != 0.1 {
		t.Fatalf("machine-days %v %v", risks, labels)
	}
	if lv, _ := ChooseLevels([]Result{{Calibration: []ScoredRow{{"k/m1", "d1", 0.5, false}}}}, config.Targets{}.OrDefault()); lv != nil {
		t.Fatalf("levels %+v from a set without failures", lv)
	}
}
