// Package simulate makes synthetic kitchens: machines cooking several arepa
// types with day and hour patterns, degradation processes that show in the
// metrics days before a failure, faults, failures, repairs and routine
// maintenance, plus the ground truth. It is seeded and deterministic, so the
// trainer's tests, the agent's tests and the benchmarks share one data source.
package simulate

import (
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// Config says what to simulate. Zero fields take the defaults of Defaults.
type Config struct {
	Seed     uint64
	Kitchens int
	Machines int // per kitchen
	// Types is how many arepa types exist; each kitchen cooks a menu of
	// MenuSize of them.
	Types    int
	MenuSize int
	Days     int
	// End is the last simulated local day (yyyy-mm-dd); the days run
	// End-Days+1 .. End.
	End string
	// Phases spreads kitchens over phases 1..Phases (kitchen i gets phase
	// 1 + i mod Phases).
	Phases int
	// CooksPerDay is a machine's mean cook cycles on a weekday.
	CooksPerDay int
	// MeanDaysBetweenFailures is a healthy machine's mean time until a
	// degradation starts.
	MeanDaysBetweenFailures float64
	// Scenario is ScenarioClassic (the default) or ScenarioField.
	Scenario string
}

// Defaults returns a small but realistic configuration.
func Defaults() Config {
	return Config{Seed: 1, Kitchens: 4, Machines: 6, Types: 4, MenuSize: 3, Days: 42,
		End: "2026-11-25", Phases: 2, CooksPerDay: 48, MeanDaysBetweenFailures: 30}
}

func (c *Config) fill() error {
	d := Defaults()
	c.Kitchens = cmp.Or(c.Kitchens, d.Kitchens)
	c.Machines = cmp.Or(c.Machines, d.Machines)
	c.Types = cmp.Or(c.Types, d.Types)
	c.MenuSize = cmp.Or(c.MenuSize, min(c.Types, max(d.MenuSize, (c.Types*2+2)/3)))
	c.Days = cmp.Or(c.Days, d.Days)
	c.End = cmp.Or(c.End, d.End)
	c.Phases = cmp.Or(c.Phases, d.Phases)
	c.CooksPerDay = cmp.Or(c.CooksPerDay, d.CooksPerDay)
	c.MeanDaysBetweenFailures = cmp.Or(c.MeanDaysBetweenFailures, d.MeanDaysBetweenFailures)
	c.Scenario = cmp.Or(c.Scenario, ScenarioClassic)
	switch {
	case c.Kitchens < 1 || c.Kitchens > 100000:
		return fmt.Errorf("simulate: kitchens %d out of range 1..100000", c.Kitchens)
	case c.Machines < 1 || c.Machines > 10000:
		return fmt.Errorf("simulate: machines %d out of range 1..10000", c.Machines)
	case c.Types < 1 || c.Types > 1000:
		return fmt.Errorf("simulate: types %d out of range 1..1000", c.Types)
	case c.MenuSize < 1 || c.MenuSize > c.Types:
		return fmt.Errorf("simulate: menu size %d out of range 1..%d", c.MenuSize, c.Types)
	case c.Days < 1 || c.Days > 3660:
		return fmt.Errorf("simulate: days %d out of range 1..3660", c.Days)
	case c.Phases < 1 || c.Phases > 100:
		return fmt.Errorf("simulate: phases %d out of range 1..100", c.Phases)
	case c.CooksPerDay < 1 || c.CooksPerDay > 5000:
		return fmt.Errorf("simulate: cooks per day %d out of range 1..5000", c.CooksPerDay)
	case c.MeanDaysBetweenFailures < 1:
		return fmt.Errorf("simulate: mean days between failures %v must be at least 1", c.MeanDaysBetweenFailures)
	case c.Scenario != ScenarioClassic && c.Scenario != ScenarioField:
		return fmt.Errorf("simulate: scenario %q is not %s or %s", c.Scenario, ScenarioClassic, ScenarioField)
	}
	if _, err := time.Parse(time.DateOnly, c.End); err != nil {
		return fmt.Errorf("simulate: end day %q is not yyyy-mm-dd", c.End)
	}
	return nil
}

// Kitchen is one simulated kitchen.
type Kitchen struct {
	Name     string   `json:"kitchen"`
	Phase    int      `json:"phase"`
	Timezone string   `json:"timezone"`
	Menu     []string `json:"menu"`
	Machines []string `json:"machines"`
}

// Failure is one degradation that ended in a failure: the ground truth the
// trainer should learn to see coming.
type Failure struct {
	Kitchen string `json:"kitchen"`
	Machine string `json:"machine"`
	// Mode is heater, motor or bearing (field also: thermostat, latch).
	Mode string `json:"mode"`
	// Onset is the first local day the metrics show it (the failure day for
	// a sudden failure; in the field scenario it may precede the first
	// simulated day, when the machine was already degrading).
	Onset    string `json:"onset"`
	Day      string `json:"day"` // local day of the failure event
	Code     string `json:"code"`
	Repaired string `json:"repaired"` // local day of the repair (maintenance event)
	// Shape is how it shows: drift, step, variance, spikes or sudden
	// (classic: always drift).
	Shape string `json:"shape"`
	// Metrics are the metrics that show it; empty for a sudden failure.
	Metrics []string `json:"metrics"`
	// Precursor is false for a sudden failure: nothing to see before it.
	Precursor bool `json:"precursor"`
	// Lead is how many days before the failure day show it (Day - Onset).
	Lead int `json:"lead_days"`
	// Strength is the precursor's amplitude, 1 about the classic average
	// (field only; below 0.4 it is hard to see in the noise).
	Strength float64 `json:"strength,omitempty"`
}

// Truth is the ground truth of a simulation.
type Truth struct {
	Seed     uint64    `json:"seed"`
	First    string    `json:"first_day"`
	Last     string    `json:"last_day"`
	Types    []string  `json:"types"`
	Kitchens []Kitchen `json:"kitchens"`
	Failures []Failure `json:"failures"`
	Faults   int       `json:"faults"`
	Cooks    int64     `json:"cooks"`
	Scenario string    `json:"scenario,omitempty"`
	// Glitches are absurd single readings and Missing the metrics left out
	// of a cook (field only).
	Glitches int `json:"glitches,omitempty"`
	Missing  int `json:"missing_metrics,omitempty"`
}

// Emit receives one kitchen's records of one local day, sorted by machine,
// time and seq (the window order). recs is reused after Emit returns.
type Emit func(k Kitchen, day string, recs []record.Record) error

var typeNames = []string{"reina-pepiada", "domino", "pabellon", "catira", "pelua", "sifrina",
	"rumbera", "perico", "llanera", "viuda", "jamon-queso", "queso-guayanes", "carne-mechada",
	"pollo", "cazon", "pernil", "chicharron", "caraotas", "huevo", "mixta"}

var zones = []string{"America/Caracas", "America/Bogota", "America/New_York", "Europe/Madrid", "America/Mexico_City"}

// TypeNames returns the first n arepa type names the simulator uses.
func TypeNames(n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = typeNames[i%len(typeNames)]
		if i >= len(typeNames) {
			out[i] += "-" + strconv.Itoa(i/len(typeNames)+1)
		}
	}
	return out
}

// arepaProfile is a type's cooking recipe.
type arepaProfile struct {
	temp, cookTime, power float64
}

func profile(seed uint64, i int) arepaProfile {
	r := rand.New(rand.NewPCG(seed, uint64(1000+i)))
	return arepaProfile{temp: 205 + 30*r.Float64(), cookTime: 300 + 180*r.Float64(), power: 320 + 80*r.Float64()}
}

var modes = []struct {
	name, code string
	metrics    []string // what the drift moves, for the ground truth
}{{"heater", "HEATER_OPEN", []string{"plate_temp_c", "cook_time_s", "energy_wh"}},
	{"motor", "MOTOR_STALL", []string{"motor_current_a", "vibration_mm_s"}},
	{"bearing", "BEARING_SEIZED", []string{"vibration_mm_s", "motor_current_a"}}}

// machineState is one machine's hidden state across days.
type machineState struct {
	name      string
	rng       *rand.Rand
	tempOff   float64
	vibBase   float64
	curBase   float64
	seq       int64
	degrading bool
	mode      int
	onset     int           // day index the degradation started
	length    int           // days from onset to failure
	amp       float64       // how strongly this degradation shows
	downUntil int           // day index of the repair; no cooks before
	nextMaint int           // day index of the next routine maintenance
	field     *fieldMachine // nil in the classic scenario
}

// Generate simulates every kitchen day by day and calls emit for each
// kitchen-day in order (kitchen by kitchen, days oldest first). It returns
// the ground truth.
func Generate(ctx context.Context, cfg Config, emit Emit) (*Truth, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	end, _ := time.Parse(time.DateOnly, cfg.End)
	first := end.AddDate(0, 0, 1-cfg.Days)
	types := TypeNames(cfg.Types)
	profiles := make([]arepaProfile, cfg.Types)
	for i := range profiles {
		profiles[i] = profile(cfg.Seed, i)
	}
	truth := &Truth{Seed: cfg.Seed, First: first.Format(time.DateOnly), Last: cfg.End, Types: types, Scenario: cfg.Scenario}
	var recs []record.Record
	for ki := range cfg.Kitchens {
		kr := rand.New(rand.NewPCG(cfg.Seed, uint64(ki)<<20|1))
		k := Kitchen{Name: fmt.Sprintf("k-%03d", ki+1), Phase: 1 + ki%cfg.Phases, Timezone: zones[ki%len(zones)]}
		loc, err := time.LoadLocation(k.Timezone)
		if err != nil {
			return nil, fmt.Errorf("simulate: time zone %s: %w", k.Timezone, err)
		}
		menu := kr.Perm(cfg.Types)[:cfg.MenuSize]
		slices.Sort(menu)
		weights := make([]float64, len(menu))
		wsum := 0.0
		for i := range menu {
			k.Menu = append(k.Menu, types[menu[i]])
			weights[i] = 0.5 + kr.Float64()
			wsum += weights[i]
		}
		ms := make([]*machineState, cfg.Machines)
		for mi := range ms {
			r := rand.New(rand.NewPCG(cfg.Seed, uint64(ki)<<20|uint64(mi+2)))
			ms[mi] = &machineState{name: fmt.Sprintf("m-%02d", mi+1), rng: r,
				tempOff: r.NormFloat64() * 2, vibBase: 1.0 + 0.4*r.Float64(), curBase: 1.8 + 0.4*r.Float64(),
				seq: r.Int64N(100000), downUntil: -1, nextMaint: 10 + r.IntN(30)}
			k.Machines = append(k.Machines, ms[mi].name)
		}
		var fk *fieldKitchen
		if cfg.Scenario == ScenarioField {
			fk = newFieldKitchen(cfg.Seed, ki)
			for mi, m := range ms {
				m.field = newFieldMachine(cfg, ki, mi, len(menu))
			}
		}
		for di := range cfg.Days {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			day := first.AddDate(0, 0, di)
			dayStr := day.Format(time.DateOnly)
			recs = recs[:0]
			weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
			for _, m := range ms {
				if fk != nil {
					recs = m.fieldDay(cfg, fk, di, dayStr, day, loc, menu, weights, types, profiles, k, truth, recs)
					continue
				}
				recs = m.simulateDay(cfg, di, dayStr, day, loc, weekend, menu, weights, wsum, types, profiles, k, truth, recs)
			}
			slices.SortFunc(recs, func(a, b record.Record) int {
				if c := cmp.Compare(a.Machine, b.Machine); c != 0 {
					return c
				}
				if c := a.TS.Compare(b.TS); c != 0 {
					return c
				}
				return cmp.Compare(a.Seq, b.Seq)
			})
			if err := emit(k, dayStr, recs); err != nil {
				return nil, fmt.Errorf("simulate %s %s: %w", k.Name, dayStr, err)
			}
		}
		truth.Kitchens = append(truth.Kitchens, k)
	}
	return truth, nil
}

// service hours with breakfast, lunch and dinner peaks (local hour weights).
var hourWeight = [24]float64{0, 0, 0, 0, 0, 0, 1, 3, 3, 1.5, 1, 1.5, 3, 3, 1.5, 1, 1, 1.5, 2, 3, 2.5, 1, 0, 0}

var hourTotal = func() float64 {
	total := 0.0
	for _, w := range hourWeight {
		total += w
	}
	return total
}()

func pickHour(r *rand.Rand) int { return pick(r.Float64()*hourTotal, hourWeight[:], 20) }

// pick returns the index i of the weight x falls on when the weights are laid
// end to end (ws[i] > x - ws[0] - ... - ws[i-1]), or fallback past them all.
func pick(x float64, ws []float64, fallback int) int {
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return fallback
}

func (m *machineState) simulateDay(cfg Config, di int, dayStr string, day time.Time, loc *time.Location,
	weekend bool, menu []int, weights []float64, wsum float64, types []string, profiles []arepaProfile,
	k Kitchen, truth *Truth, recs []record.Record) []record.Record {
	r := m.rng
	at := func(h int, minFrac float64) time.Time {
		sec := int(minFrac * 3600)
		return time.Date(day.Year(), day.Month(), day.Day(), h, 0, sec, r.IntN(1000)*1e6, loc).UTC()
	}
	event := func(ts time.Time, kind, code, note string) {
		m.seq++
		recs = append(recs, record.Record{Machine: m.name, Type: record.TypeEvent, TS: ts, Seq: m.seq, Kind: kind, Code: code, Note: note})
	}
	// Repair day: a technician fixes the machine in the morning.
	if di == m.downUntil {
		event(at(6, r.Float64()*0.9), record.KindMaintenance, "REPAIR", "repaired after failure")
		m.downUntil = -1
		m.seq = 0 // the machine was rebooted
	}
	if m.downUntil > di {
		return recs
	}
	if !m.degrading && r.Float64() < 1/cfg.MeanDaysBetweenFailures {
		m.degrading = true
		m.mode = r.IntN(len(modes))
		m.onset = di
		m.length = 5 + r.IntN(7)
		m.amp = 0.6 + 0.8*r.Float64()
	}
	sev := 0.0
	failHour := -1
	if m.degrading {
		x := float64(di-m.onset+1) / float64(m.length)
		sev = m.amp * math.Pow(min(x, 1), 1.5)
		if di-m.onset+1 >= m.length {
			failHour = 7 + r.IntN(14)
		}
	}
	// Routine maintenance: a small clean-up, it does not stop a degradation.
	if di == m.nextMaint {
		event(at(5, r.Float64()*0.9), record.KindMaintenance, "ROUTINE", "routine cleaning")
		m.nextMaint = di + 20 + r.IntN(20)
		m.tempOff *= 0.5
	}
	n := cfg.CooksPerDay
	if weekend {
		n = n * 13 / 10
	}
	n = max(1, n+int(r.NormFloat64()*math.Sqrt(float64(n))))
	// Faults become likelier as a degradation advances; a healthy machine
	// faults rarely.
	if r.Float64() < 0.004+0.25*sev*sev {
		code := []string{"DOOR_SENSOR", "TEMP_OVERSHOOT", "MOTOR_OVERLOAD"}[r.IntN(3)]
		event(at(8+r.IntN(12), r.Float64()), record.KindFault, code, "")
		truth.Faults++
	}
	for range n {
		h := pickHour(r)
		if failHour >= 0 && h >= failHour {
			continue // the machine is down after the failure
		}
		t := menu[pick(r.Float64()*wsum, weights, 0)]
		p := profiles[t]
		peak := hourWeight[h] >= 3
		temp := p.temp + m.tempOff + r.NormFloat64()*1.5
		cook := p.cookTime * (1 + r.NormFloat64()*0.03)
		power := p.power * (1 + r.NormFloat64()*0.02)
		cur := m.curBase + r.NormFloat64()*0.06
		vib := m.vibBase + r.NormFloat64()*0.08
		if peak {
			temp -= 1.5
			vib += 0.05
		}
		switch modes[m.mode].name {
		case "heater":
			if sev > 0 {
				temp -= 22 * sev
				cook *= 1 + 0.18*sev
				power *= 1 + 0.12*sev
			}
		case "motor":
			if sev > 0 {
				cur += 0.9 * sev
				vib += 0.5 * sev
			}
		case "bearing":
			if sev > 0 {
				vib += 2.2*sev + math.Abs(r.NormFloat64())*0.5*sev
				cur += 0.2 * sev
			}
		}
		m.seq++
		recs = append(recs, record.Record{Machine: m.name, Type: record.TypeCook, TS: at(h, r.Float64()), Seq: m.seq,
			Arepa: types[t], Metrics: map[string]float64{
				"plate_temp_c":    round(temp, 1),
				"cook_time_s":     round(cook, 0),
				"energy_wh":       round(cook*power/3600, 1),
				"motor_current_a": round(cur, 2),
				"vibration_mm_s":  round(vib, 2),
				"door_cycles":     float64(1 + r.IntN(3)),
			}})
	}
	if failHour >= 0 {
		mode := modes[m.mode]
		event(at(failHour, r.Float64()), record.KindFailure, mode.code, mode.name+" failure")
		m.degrading = false
		m.downUntil = di + 1 + r.IntN(2)
		m.tempOff = r.NormFloat64() * 2
		truth.Failures = append(truth.Failures, Failure{Kitchen: k.Name, Machine: m.name, Mode: mode.name,
			Onset: day.AddDate(0, 0, m.onset-di).Format(time.DateOnly), Day: dayStr, Code: mode.code,
			Repaired: day.AddDate(0, 0, m.downUntil-di).Format(time.DateOnly),
			Shape:    "drift", Metrics: mode.metrics, Precursor: true, Lead: m.length - 1})
	}
	truth.Cooks += int64(n)
	return recs
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// Keys of the other objects Write puts.
const (
	TruthKey = "simulate/ground-truth.json"
)

// EncodeWindow returns the gzip NDJSON window of recs, written with the
// agent's line and window encoders, and its metadata.
func EncodeWindow(recs []record.Record, level int) ([]byte, map[string]string, error) {
	w, err := window.NewEncoder(level)
	if err != nil {
		return nil, nil, err
	}
	var line []byte
	for i := range recs {
		line = record.AppendLine(line[:0], &recs[i])
		if err := w.Line(line); err != nil {
			return nil, nil, err
		}
	}
	win, err := w.Finish()
	if err != nil {
		return nil, nil, err
	}
	return win.Data, win.Meta("", ""), nil
}

// Putter is where Write puts objects (an objstore.Bucket).
type Putter interface {
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
}

// Write simulates into a bucket: every window, inventory/kitchens.csv and the
// ground truth. Windows are written by `workers` goroutines (gzip is the
// slow part).
func Write(ctx context.Context, cfg Config, dst Putter, workers int) (*Truth, error) {
	workers = max(1, workers)
	type job struct {
		key  string
		recs []record.Record
		meta map[string]string
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, workers)
	errc := make(chan error, workers)
	for range workers {
		go func() {
			var first error
			for j := range jobs {
				if first != nil {
					continue
				}
				data, meta, err := EncodeWindow(j.recs, gzip.BestSpeed)
				if err == nil {
					for k, v := range j.meta {
						meta[k] = v
					}
					err = dst.Put(ctx, j.key, data, meta)
				}
				if err != nil {
					first = err
					cancel()
				}
			}
			errc <- first
		}()
	}
	truth, genErr := Generate(ctx, cfg, func(k Kitchen, day string, recs []record.Record) error {
		j := job{key: window.Key(k.Name, day), recs: slices.Clone(recs),
			meta: map[string]string{window.MetaKitchen: k.Name, window.MetaDay: day}}
		select {
		case jobs <- j:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	var errs []error
	for range workers {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if genErr != nil {
		return nil, genErr
	}
	if err := dst.Put(ctx, inventory.Key, Inventory(truth.Kitchens), nil); err != nil {
		return nil, err
	}
	tb, err := json.MarshalIndent(truth, "", " ")
	if err != nil {
		return nil, err
	}
	if err := dst.Put(ctx, TruthKey, append(tb, '\n'), nil); err != nil {
		return nil, err
	}
	return truth, nil
}

// Inventory returns kitchens.csv for the kitchens.
func Inventory(ks []Kitchen) []byte {
	inv := make([]inventory.Kitchen, len(ks))
	for i, k := range ks {
		inv[i] = inventory.Kitchen{Name: k.Name, Phase: k.Phase, Timezone: k.Timezone}
	}
	return inventory.Encode(inv)
}
