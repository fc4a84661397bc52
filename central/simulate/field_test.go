package simulate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// fieldCfg is a simulation big enough for the field scenario's statistics.
func fieldCfg(scenario string, mtbf float64, days int) Config {
	c := Defaults()
	c.Seed, c.Kitchens, c.Machines, c.Days, c.MeanDaysBetweenFailures, c.Scenario = 3, 5, 10, days, mtbf, scenario
	return c
}

// mday names one machine's local day (di: index from the first day).
type mday struct {
	k, m string
	di   int
}

type cook struct {
	arepa   string
	v       [nMetrics]float64
	present [nMetrics]bool
}

// sim is what a simulation emitted, indexed for the tests.
type sim struct {
	cfg      Config
	truth    *Truth
	first    time.Time
	cooks    map[mday][]cook
	events   map[mday][]record.Record
	profiles map[string]arepaProfile
}

func collect(t *testing.T, cfg Config) *sim {
	t.Helper()
	s := &sim{cfg: cfg, cooks: map[mday][]cook{}, events: map[mday][]record.Record{}, profiles: map[string]arepaProfile{}}
	c := cfg
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	end, _ := time.Parse(time.DateOnly, c.End)
	s.first = end.AddDate(0, 0, 1-c.Days)
	for i, name := range TypeNames(c.Types) {
		s.profiles[name] = profile(c.Seed, i)
	}
	truth, err := Generate(context.Background(), cfg, func(k Kitchen, day string, recs []record.Record) error {
		loc, err := time.LoadLocation(k.Timezone)
		if err != nil {
			return err
		}
		di := s.dayIndex(t, day)
		for _, r := range recs {
			if got := record.LocalDay(r.TS, loc); got != day {
				t.Fatalf("record at %s is on local day %s, emitted with %s", r.TS, got, day)
			}
			key := mday{k.Name, r.Machine, di}
			if r.Type == record.TypeEvent {
				s.events[key] = append(s.events[key], r)
				continue
			}
			var ck cook
			ck.arepa = r.Arepa
			for name, v := range r.Metrics {
				j := slices.Index(metricNames[:], name)
				if j < 0 {
					t.Fatalf("unknown metric %q in %+v", name, r)
				}
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("metric %s is not finite in %+v", name, r)
				}
				ck.v[j], ck.present[j] = v, true
			}
			s.cooks[key] = append(s.cooks[key], ck)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.truth = truth
	return s
}

func (s *sim) dayIndex(t *testing.T, day string) int {
	t.Helper()
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		t.Fatal(err)
	}
	return int(d.Sub(s.first).Hours()/24 + 0.5)
}

// residual is a cook's metric j with its arepa type's recipe taken out, so
// a changing menu mix does not look like a degradation.
func (s *sim) residual(c cook, j int) float64 {
	p := s.profiles[c.arepa]
	switch j {
	case mTemp:
		return c.v[j] - p.temp
	case mCook:
		return c.v[j] / p.cookTime
	case mEnergy:
		return c.v[j] / (p.cookTime * p.power / 3600)
	}
	return c.v[j]
}

// values returns the residuals of metric j over a machine's days [from, to].
func (s *sim) values(k, m string, from, to, j int) []float64 {
	var out []float64
	for di := from; di <= to; di++ {
		for _, c := range s.cooks[mday{k, m, di}] {
			if c.present[j] {
				out = append(out, s.residual(c, j))
			}
		}
	}
	return out
}

func quantile(xs []float64, q float64) float64 {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys[int(q*float64(len(ys)-1))]
}

func median(xs []float64) float64 { return quantile(xs, 0.5) }

func iqr(xs []float64) float64 { return quantile(xs, 0.75) - quantile(xs, 0.25) }

func TestScenarioValidated(t *testing.T) {
	tests := []struct {
		scenario string
		ok       bool
	}{{"", true}, {ScenarioClassic, true}, {ScenarioField, true}, {"Field", false}, {"harsh", false}}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			c := small()
			c.Scenario = tt.scenario
			err := c.fill()
			if (err == nil) != tt.ok {
				t.Fatalf("scenario %q: err %v, want ok=%v", tt.scenario, err, tt.ok)
			}
		})
	}
}

func TestFieldDeterministic(t *testing.T) {
	digest := func(t *testing.T, cfg Config) string {
		t.Helper()
		recs, truth := classicDigest(t, cfg) // it hashes any scenario's lines
		return recs + truth
	}
	tests := []struct {
		name string
		cfg  func() Config
	}{
		{"small", func() Config { c := small(); c.Scenario = ScenarioField; return c }},
		{"seed 7, 5 types, mtbf 10", func() Config {
			c := small()
			c.Seed, c.Types, c.MeanDaysBetweenFailures, c.Scenario = 7, 5, 10, ScenarioField
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := digest(t, tt.cfg()), digest(t, tt.cfg())
			if a != b {
				t.Fatal("two field runs with the same seed differ")
			}
			c := tt.cfg()
			c.Seed++
			if digest(t, c) == a {
				t.Fatal("another seed gave the same field output")
			}
			c = tt.cfg()
			c.Scenario = ScenarioClassic
			if digest(t, c) == a {
				t.Fatal("field and classic gave the same output")
			}
			c.Scenario = ""
			if digest(t, c) != digest(t, func() Config { c := tt.cfg(); c.Scenario = ScenarioClassic; return c }()) {
				t.Fatal("the empty scenario is not classic")
			}
		})
	}
	t.Run("windows", func(t *testing.T) {
		c := small()
		c.Scenario = ScenarioField
		a, b := &memPut{}, &memPut{}
		if _, err := Write(context.Background(), c, a, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := Write(context.Background(), c, b, 1); err != nil {
			t.Fatal(err)
		}
		if len(a.m) != 3*24+2 {
			t.Fatalf("wrote %d objects, want %d", len(a.m), 3*24+2)
		}
		for k, v := range a.m {
			if string(v) != string(b.m[k]) {
				t.Fatalf("%s differs between two runs with the same seed", k)
			}
		}
		if _, ok := a.m[window.Key("k-003", "2026-11-25")]; !ok {
			t.Fatal("no window of the last kitchen's last day")
		}
	})
}

// TestFieldGroundTruth checks the failures' shapes, sudden share, leads and
// mean time between failures, and that each is among the events.
func TestFieldGroundTruth(t *testing.T) {
	s := collect(t, fieldCfg(ScenarioField, 25, 120))
	fs := s.truth.Failures
	if len(fs) < 150 {
		t.Fatalf("only %d failures", len(fs))
	}
	shapes := map[string]int{}
	modesSeen := map[string]bool{}
	weak, single, multi := 0, 0, 0
	for _, f := range fs {
		shapes[f.Shape]++
		modesSeen[f.Mode] = true
		onset, _ := time.Parse(time.DateOnly, f.Onset)
		day, _ := time.Parse(time.DateOnly, f.Day)
		if lead := int(day.Sub(onset).Hours()/24 + 0.5); lead != f.Lead {
			t.Fatalf("%+v: lead %d, but %d days from onset to failure", f, f.Lead, lead)
		}
		sudden := f.Shape == "sudden"
		if sudden == f.Precursor || sudden != (len(f.Metrics) == 0) || sudden != (f.Lead == 0) || sudden != (f.Strength == 0) {
			t.Fatalf("inconsistent ground truth %+v", f)
		}
		if !sudden && (f.Lead < 2 || f.Lead > 14) {
			t.Fatalf("precursor of %d days in %+v, want 2..14", f.Lead, f)
		}
		for _, m := range f.Metrics {
			if !slices.Contains(metricNames[:], m) {
				t.Fatalf("unknown metric %q in %+v", m, f)
			}
		}
		switch {
		case sudden:
		case len(f.Metrics) == 1:
			single++
		default:
			multi++
		}
		if !sudden && f.Strength < 0.4 {
			weak++
		}
		found := false
		for _, e := range s.events[mday{f.Kitchen, f.Machine, s.dayIndex(t, f.Day)}] {
			found = found || (e.Kind == record.KindFailure && e.Code == f.Code)
		}
		if !found {
			t.Fatalf("failure %+v not among the emitted events", f)
		}
	}
	for _, shape := range fieldShapes {
		if shapes[shape] < 5 {
			t.Errorf("shape %s: %d failures, want at least 5 (%v)", shape, shapes[shape], shapes)
		}
	}
	for _, m := range fieldModes {
		if !modesSeen[m.name] {
			t.Errorf("mode %s never occurred", m.name)
		}
	}
	if share := float64(shapes["sudden"]) / float64(len(fs)); share < 0.08 || share > 0.24 {
		t.Errorf("%.0f%% sudden failures, want about 15%%", 100*share)
	}
	if weak < len(fs)/10 || single == 0 || multi == 0 {
		t.Errorf("weak %d, one-metric %d, several-metric %d of %d failures: want weak ones and both kinds", weak, single, multi, len(fs))
	}
	// Machine-days per failure, less the days down for repair, is about mtbf.
	up := s.cfg.Kitchens * s.cfg.Machines * s.cfg.Days
	for _, f := range fs {
		d, _ := time.Parse(time.DateOnly, f.Day)
		r, _ := time.Parse(time.DateOnly, f.Repaired)
		up -= int(r.Sub(d).Hours() / 24)
	}
	if mtbf := float64(up) / float64(len(fs)); mtbf < 0.75*s.cfg.MeanDaysBetweenFailures || mtbf > 1.25*s.cfg.MeanDaysBetweenFailures {
		t.Errorf("%.1f machine-days in service per failure, want about %v", mtbf, s.cfg.MeanDaysBetweenFailures)
	}
	t.Logf("%d failures %v, %d weak, faults %d, glitches %d, missing %d", len(fs), shapes, weak, s.truth.Faults, s.truth.Glitches, s.truth.Missing)
}

// quiet reports whether f's machine had no other failure in days [from, to],
// from its precursor's onset to its repair.
func (s *sim) quiet(t *testing.T, f Failure, from, to int) bool {
	t.Helper()
	for _, g := range s.truth.Failures {
		if g.Kitchen != f.Kitchen || g.Machine != f.Machine || g.Day == f.Day {
			continue
		}
		if o, r := s.dayIndex(t, g.Onset), s.dayIndex(t, g.Repaired); r >= from && o <= to {
			return false
		}
	}
	return true
}

// TestFieldShapesShow checks each shape's signature in the cooks of strong
// failures with room to look: the affected metric the day before the
// failure against the three days before onset (drift and step move the
// median, variance widens the spread but not the median, spikes add
// outliers), and nothing moves before a sudden failure.
func TestFieldShapesShow(t *testing.T) {
	s := collect(t, fieldCfg(ScenarioField, 25, 120))
	type tally struct{ eligible, shown int }
	got := map[string]*tally{}
	for _, shape := range fieldShapes {
		got[shape] = &tally{}
	}
	for _, f := range s.truth.Failures {
		day, onset := s.dayIndex(t, f.Day), s.dayIndex(t, f.Onset)
		if (f.Shape != "sudden" && (f.Lead < 4 || f.Strength < 0.8)) || onset-4 < 0 || !s.quiet(t, f, onset-4, day) {
			continue
		}
		metrics := f.Metrics
		if f.Shape == "sudden" {
			metrics = []string{"motor_current_a", "vibration_mm_s", "cook_time_s"}
		}
		j := -1
		for _, name := range metrics {
			if name != "door_cycles" { // small integers: medians and spreads are coarse
				j = slices.Index(metricNames[:], name)
				break
			}
		}
		if j < 0 {
			continue
		}
		base := s.values(f.Kitchen, f.Machine, onset-3, onset-1, j)
		late := s.values(f.Kitchen, f.Machine, day-1, day-1, j)
		if len(base) < 30 || len(late) < 20 {
			continue
		}
		tl := got[f.Shape]
		tl.eligible++
		mb := median(base)
		shift := math.Abs(median(late) - mb)
		if metricRelative[j] {
			shift /= mb
		}
		outliers := 0
		for _, v := range late {
			d := math.Abs(v - mb)
			if metricRelative[j] {
				d /= mb
			}
			if d > 1.5*metricScale[j] {
				outliers++
			}
		}
		var ok bool
		switch f.Shape {
		case "drift", "step":
			ok = shift > 0.25*metricScale[j]
		case "variance":
			ok = iqr(late) > 1.5*iqr(base) && shift < 0.25*metricScale[j]
		case "spikes":
			ok = float64(outliers) > 0.05*float64(len(late)) && shift < 0.25*metricScale[j]
		case "sudden":
			ok = shift < 0.15*metricScale[j] && iqr(late) < 1.5*iqr(base)
		}
		if ok {
			tl.shown++
		}
	}
	for _, shape := range fieldShapes {
		tl := got[shape]
		if tl.eligible < 3 {
			t.Errorf("shape %s: only %d strong failures with room to look", shape, tl.eligible)
			continue
		}
		if tl.shown < tl.eligible*8/10 {
			t.Errorf("shape %s: signature in %d of %d strong failures, want 80%%", shape, tl.shown, tl.eligible)
		}
		t.Logf("shape %s: %d of %d", shape, tl.shown, tl.eligible)
	}
}

// TestFaultsIndependentOfFailures checks the field scenario's faults come at
// a machine's own rate whatever its health, on machines that never fail
// too; the classic scenario, where faults follow degradation, is the
// control that shows the test can tell.
func TestFaultsIndependentOfFailures(t *testing.T) {
	tests := []struct {
		name                string
		cfg                 Config
		minRatio, maxRatio  float64 // fault rate on precursor days / healthy days
		minPerMonth         float64
		wantNeverFailFaults bool
		wantNoisySpread     bool
		wantEveryCode       bool
	}{
		{name: "field", cfg: fieldCfg(ScenarioField, 15, 120), minRatio: 0.7, maxRatio: 1.4, minPerMonth: 1.5,
			wantNoisySpread: true, wantEveryCode: true},
		{name: "field, rare failures", cfg: fieldCfg(ScenarioField, 400, 60), minRatio: 0, maxRatio: math.Inf(1),
			minPerMonth: 1.5, wantNeverFailFaults: true},
		{name: "classic control", cfg: fieldCfg(ScenarioClassic, 15, 120), minRatio: 2, maxRatio: math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := collect(t, tt.cfg)
			// State of each machine-day: down, precursor or healthy.
			const (
				healthy = iota
				precursor
				down
			)
			state := map[mday]int{}
			failed := map[[2]string]bool{}
			for _, f := range s.truth.Failures {
				failed[[2]string{f.Kitchen, f.Machine}] = true
				onset, day, rep := s.dayIndex(t, f.Onset), s.dayIndex(t, f.Day), s.dayIndex(t, f.Repaired)
				for di := max(0, onset); di < day; di++ {
					state[mday{f.Kitchen, f.Machine, di}] = precursor
				}
				for di := day; di < rep; di++ {
					state[mday{f.Kitchen, f.Machine, di}] = down // the failure day is partly down
				}
			}
			var days, faults [3]int
			perMachine := map[[2]string][2]int{} // up days, faults
			codes := map[string]bool{}
			neverFailFaults := 0
			total := 0
			for ki := range s.cfg.Kitchens {
				for mi := range s.cfg.Machines {
					k, m := kitchenName(ki), machineName(mi)
					for di := range s.cfg.Days {
						key := mday{k, m, di}
						n := 0
						for _, e := range s.events[key] {
							if e.Kind == record.KindFault {
								n++
								codes[e.Code] = true
							}
						}
						total += n
						st := state[key]
						days[st]++
						faults[st] += n
						if st != down {
							pm := perMachine[[2]string{k, m}]
							perMachine[[2]string{k, m}] = [2]int{pm[0] + 1, pm[1] + n}
						}
						if !failed[[2]string{k, m}] {
							neverFailFaults += n
						}
					}
				}
			}
			if total != s.truth.Faults {
				t.Fatalf("%d fault events, truth counts %d", total, s.truth.Faults)
			}
			rate := func(st int) float64 { return float64(faults[st]) / float64(max(1, days[st])) }
			ratio := rate(precursor) / rate(healthy)
			t.Logf("fault rate healthy %.3f (%d days), precursor %.3f (%d days), ratio %.2f; %d on machines that never fail",
				rate(healthy), days[healthy], rate(precursor), days[precursor], ratio, neverFailFaults)
			if days[precursor] > 0 && (ratio < tt.minRatio || ratio > tt.maxRatio) {
				t.Errorf("precursor/healthy fault rate ratio %.2f, want %v..%v", ratio, tt.minRatio, tt.maxRatio)
			}
			if perMonth := 30 * float64(faults[healthy]+faults[precursor]) / float64(days[healthy]+days[precursor]); perMonth < tt.minPerMonth {
				t.Errorf("%.2f faults per machine-month, want at least %v", perMonth, tt.minPerMonth)
			}
			if tt.wantNeverFailFaults {
				if len(failed) >= s.cfg.Kitchens*s.cfg.Machines {
					t.Fatal("every machine failed; the config should leave some that never do")
				}
				if neverFailFaults == 0 {
					t.Error("no faults on machines that never fail")
				}
			}
			if tt.wantNoisySpread {
				var rates []float64
				for _, pm := range perMachine {
					if pm[0] >= 60 {
						rates = append(rates, float64(pm[1])/float64(pm[0]))
					}
				}
				if lo, hi := quantile(rates, 0.1), quantile(rates, 0.9); hi < 2*lo {
					t.Errorf("machines' fault rates from %.3f to %.3f (10th..90th percentile): want some noisier than others", lo, hi)
				}
			}
			if tt.wantEveryCode {
				for _, c := range faultCodes {
					if !codes[c] {
						t.Errorf("fault code %s never occurred", c)
					}
				}
			}
		})
	}
}

func kitchenName(ki int) string { return fmt.Sprintf("k-%03d", ki+1) }

func machineName(mi int) string { return fmt.Sprintf("m-%02d", mi+1) }

// TestBaselineChangesAfterRepair compares a machine's median vibration in
// the week before a failure with the week after its repair, for failures
// that do not show in vibration: the field scenario draws a new normal at
// every repair, the classic one keeps it.
func TestBaselineChangesAfterRepair(t *testing.T) {
	tests := []struct {
		scenario         string
		minFrac, maxFrac float64 // share of failures whose median moved by more than 0.05 mm/s
	}{{ScenarioField, 0.6, 1}, {ScenarioClassic, 0, 0.1}}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s := collect(t, fieldCfg(tt.scenario, 25, 120))
			checked, moved := 0, 0
			for _, f := range s.truth.Failures {
				if slices.Contains(f.Metrics, "vibration_mm_s") {
					continue
				}
				day, rep := s.dayIndex(t, f.Day), s.dayIndex(t, f.Repaired)
				if day-7 < 0 || rep+6 >= s.cfg.Days || !s.quiet(t, f, day-7, rep+6) {
					continue
				}
				before := s.values(f.Kitchen, f.Machine, day-7, day-1, mVibration)
				after := s.values(f.Kitchen, f.Machine, rep, rep+6, mVibration)
				if len(before) < 100 || len(after) < 100 {
					continue
				}
				checked++
				if math.Abs(median(after)-median(before)) > 0.05 {
					moved++
				}
			}
			if checked < 10 {
				t.Fatalf("only %d failures to compare", checked)
			}
			frac := float64(moved) / float64(checked)
			t.Logf("%s: vibration baseline moved across %d of %d repairs", tt.scenario, moved, checked)
			if frac < tt.minFrac || frac > tt.maxFrac {
				t.Errorf("%.0f%% of repairs moved the vibration baseline, want %.0f%%..%.0f%%", 100*frac, 100*tt.minFrac, 100*tt.maxFrac)
			}
		})
	}
}

// TestFieldGlitches checks sensor glitches and missing metrics are there,
// counted, finite and accepted by the record decoder; classic has none.
func TestFieldGlitches(t *testing.T) {
	tests := []struct {
		scenario string
		want     bool
	}{{ScenarioField, true}, {ScenarioClassic, false}}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			cfg := fieldCfg(tt.scenario, 30, 30)
			absurd, short, checked := 0, 0, 0
			truth, err := Generate(context.Background(), cfg, func(k Kitchen, day string, recs []record.Record) error {
				med := map[string][nMetrics]float64{}
				for _, r := range recs {
					if r.Type != record.TypeCook {
						continue
					}
					m := med[r.Machine]
					if m[0] != 0 {
						continue
					}
					var vals [nMetrics][]float64
					for _, q := range recs {
						if q.Machine == r.Machine && q.Type == record.TypeCook {
							for j, name := range metricNames {
								if v, ok := q.Metrics[name]; ok {
									vals[j] = append(vals[j], v)
								}
							}
						}
					}
					for j := range m {
						m[j] = median(vals[j])
					}
					med[r.Machine] = m
				}
				for _, r := range recs {
					if r.Type != record.TypeCook {
						continue
					}
					if len(r.Metrics) < nMetrics {
						short++
					}
					odd := false
					for j, name := range metricNames {
						v, ok := r.Metrics[name]
						if !ok {
							continue
						}
						if math.IsNaN(v) || math.IsInf(v, 0) {
							t.Fatalf("metric %s not finite: %+v", name, r)
						}
						odd = odd || v <= 0 || v > 5*med[r.Machine][j]
					}
					if !odd {
						continue
					}
					absurd++
					p, err := record.Payload(r)
					if err != nil {
						return err
					}
					if _, err := record.Decode(r.Machine, r.Type, p, r.TS.Add(time.Hour)); err != nil {
						t.Fatalf("glitched record %+v rejected: %v", r, err)
					}
					checked++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d cooks, %d glitches (%d absurd found), %d missing (%d short cooks)", truth.Cooks, truth.Glitches, absurd, truth.Missing, short)
			if short != truth.Missing {
				t.Errorf("%d cooks lack a metric, truth counts %d", short, truth.Missing)
			}
			if !tt.want {
				if truth.Glitches != 0 || absurd != 0 || short != 0 {
					t.Errorf("classic has %d glitches, %d absurd readings, %d short cooks", truth.Glitches, absurd, short)
				}
				return
			}
			if truth.Glitches == 0 || truth.Missing == 0 {
				t.Fatalf("glitches %d, missing %d: want both", truth.Glitches, truth.Missing)
			}
			// A glitch that zeroes a metric at its weakest (door 1 -> 10 is
			// absurd, 0 and negatives always) is found; 10x of most is too.
			if absurd < truth.Glitches/2 {
				t.Errorf("found %d absurd readings for %d glitches", absurd, truth.Glitches)
			}
			if checked == 0 {
				t.Error("no glitched record went through the decoder")
			}
			if rate := float64(truth.Glitches) / float64(truth.Cooks); rate > 0.02 {
				t.Errorf("glitch rate %.3f: occasional means well under 2%%", rate)
			}
		})
	}
}

// TestFieldLoadAndMenu checks weekends are busier, the seasonal wave moves
// weekly volume, kitchens span time zones, and each machine's arepa mix
// changes from week to week (unlike classic, the control).
func TestFieldLoadAndMenu(t *testing.T) {
	tests := []struct {
		scenario      string
		wantSeason    bool
		minMixChanged float64 // share of machines whose mix moved
		maxMixChanged float64
	}{{ScenarioField, true, 0.5, 1}, {ScenarioClassic, false, 0, 0.1}}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s := collect(t, fieldCfg(tt.scenario, 1000, 120))
			zonesSeen := map[string]bool{}
			for _, k := range s.truth.Kitchens {
				zonesSeen[k.Timezone] = true
			}
			if len(zonesSeen) < 3 {
				t.Errorf("kitchens in %d time zones", len(zonesSeen))
			}
			mixChanged, machines := 0, 0
			for ki := range s.cfg.Kitchens {
				k := kitchenName(ki)
				var weekend, weekday, nWeekend, nWeekday float64
				var weekly []float64
				for di := range s.cfg.Days {
					n := 0
					for mi := range s.cfg.Machines {
						n += len(s.cooks[mday{k, machineName(mi), di}])
					}
					if wd := s.first.AddDate(0, 0, di).Weekday(); wd == time.Saturday || wd == time.Sunday {
						weekend += float64(n)
						nWeekend++
					} else {
						weekday += float64(n)
						nWeekday++
					}
					if di%7 == 0 {
						weekly = append(weekly, 0)
					}
					weekly[len(weekly)-1] += float64(n)
				}
				weekly = weekly[:len(weekly)-1] // the last week may be partial
				if weekend/nWeekend < 1.1*weekday/nWeekday {
					t.Errorf("%s: %.0f cooks a weekend day, %.0f a weekday", k, weekend/nWeekend, weekday/nWeekday)
				}
				lo, hi := slices.Min(weekly), slices.Max(weekly)
				if tt.wantSeason && hi < 1.15*lo {
					t.Errorf("%s: weekly cooks from %.0f to %.0f: no seasonal wave", k, lo, hi)
				}
				for mi := range s.cfg.Machines {
					m := machineName(mi)
					machines++
					share := map[string][]float64{}
					for w := range len(weekly) {
						count := map[string]float64{}
						total := 0.0
						for di := 7 * w; di < 7*w+7; di++ {
							for _, c := range s.cooks[mday{k, m, di}] {
								count[c.arepa]++
								total++
							}
						}
						for _, a := range s.truth.Kitchens[ki].Menu {
							share[a] = append(share[a], count[a]/max(1, total))
						}
					}
					for _, xs := range share {
						if slices.Max(xs)-slices.Min(xs) > 0.2 {
							mixChanged++
							break
						}
					}
				}
			}
			frac := float64(mixChanged) / float64(machines)
			t.Logf("%s: mix changed on %d of %d machines", tt.scenario, mixChanged, machines)
			if frac < tt.minMixChanged || frac > tt.maxMixChanged {
				t.Errorf("arepa mix changed week to week on %.0f%% of machines, want %.0f%%..%.0f%%", 100*frac, 100*tt.minMixChanged, 100*tt.maxMixChanged)
			}
		})
	}
}
