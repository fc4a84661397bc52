package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/budare/budare/internal/record"
)

// Scenarios. The classic one is what the simulator always produced, kept byte
// for byte because other packages' tests are tuned to it; the field one is
// harder, closer to what kitchens send, so a model does not find failures
// too easily.
const (
	ScenarioClassic = "classic"
	ScenarioField   = "field"
)

// fieldStream is set in the PCG stream of every field-only draw. The classic
// streams (kitchen ki<<20|1, machine ki<<20|(mi+2), type 1000+i) never set
// bit 62, so the field scenario cannot shift a classic draw.
const fieldStream = 1 << 62

// Metric indices of the field scenario, in the order of metricNames.
const (
	mTemp = iota
	mCook
	mEnergy
	mCurrent
	mVibration
	mDoor
	nMetrics
)

var metricNames = [nMetrics]string{"plate_temp_c", "cook_time_s", "energy_wh", "motor_current_a", "vibration_mm_s", "door_cycles"}

// metricScale is how far a full-strength degradation moves a metric: an
// absolute amount, or a fraction of the value where metricRelative is set.
var metricScale = [nMetrics]float64{20, 0.18, 0.15, 0.9, 1.2, 1.5}

// metricNoise is a metric's normal cook-to-cook noise (same units as
// metricScale), the unit the rising-variance shape multiplies.
var metricNoise = [nMetrics]float64{1.5, 0.03, 0.02, 0.06, 0.08, 0.8}

var metricRelative = [nMetrics]bool{false, true, true, false, false, false}

// metricDigits is how a machine rounds each metric.
var metricDigits = [nMetrics]int{1, 0, 1, 2, 2, 0}

// effect is one metric a failure mode can move, and which way.
type effect struct {
	metric int
	sign   float64
}

// fieldModes extends the classic modes (same names and codes first) with two
// that show in other metrics. A failure shows in one or several of its
// mode's effects.
var fieldModes = []struct {
	name, code string
	effects    []effect
}{
	{"heater", "HEATER_OPEN", []effect{{mTemp, -1}, {mCook, +1}, {mEnergy, +1}}},
	{"motor", "MOTOR_STALL", []effect{{mCurrent, +1}, {mVibration, +1}}},
	{"bearing", "BEARING_SEIZED", []effect{{mVibration, +1}, {mCurrent, +1}}},
	{"thermostat", "THERMOSTAT_STUCK", []effect{{mTemp, +1}, {mEnergy, +1}}},
	{"latch", "DOOR_LATCH_BROKEN", []effect{{mDoor, +1}, {mTemp, -1}, {mEnergy, +1}}},
}

// Failure shapes (sudden: no precursor at all), and how often each occurs;
// the weights sum to 1.
var (
	fieldShapes       = []string{"drift", "step", "variance", "spikes", "sudden"}
	fieldShapeWeights = []float64{0.25, 0.20, 0.20, 0.20, 0.15}
)

var faultCodes = []string{"DOOR_SENSOR", "TEMP_OVERSHOOT", "MOTOR_OVERLOAD", "POWER_BLIP"}

// fieldKitchen is a kitchen's load pattern.
type fieldKitchen struct {
	week      [7]float64 // load by weekday (time.Weekday order)
	seasonAmp float64
	seasonLen float64 // days per seasonal cycle
	seasonPh  float64
}

func newFieldKitchen(seed uint64, ki int) *fieldKitchen {
	r := rand.New(rand.NewPCG(seed, fieldStream|uint64(ki)<<20|1))
	fk := &fieldKitchen{seasonAmp: 0.1 + 0.12*r.Float64(), seasonLen: 60 + 30*r.Float64()}
	fk.seasonPh = r.Float64() * fk.seasonLen
	weekend := 1.2 + 0.3*r.Float64()
	for d := range fk.week {
		fk.week[d] = 1 + 0.05*r.NormFloat64()
	}
	fk.week[time.Friday] += 0.1
	fk.week[time.Saturday] = weekend
	fk.week[time.Sunday] = weekend * (0.9 + 0.1*r.Float64())
	return fk
}

func (fk *fieldKitchen) load(di int, wd time.Weekday) float64 {
	return fk.week[wd] * (1 + fk.seasonAmp*math.Sin(2*math.Pi*(float64(di)+fk.seasonPh)/fk.seasonLen))
}

// baseline is a machine's normal; a repair after a failure draws a new one
// (new parts, new calibration), so "normal" is not fixed for a machine's life.
type baseline struct {
	tempOff, vibBase, curBase, cookFactor, energyFactor float64
}

func drawBaseline(r *rand.Rand) baseline {
	return baseline{
		tempOff:      r.NormFloat64() * 3,
		vibBase:      0.8 + 0.8*r.Float64(),
		curBase:      1.6 + 0.7*r.Float64(),
		cookFactor:   1 + 0.04*r.NormFloat64(),
		energyFactor: 1 + 0.05*r.NormFloat64(),
	}
}

// fieldPlan is the next failure of a machine, drawn when it (re)enters
// service.
type fieldPlan struct {
	mode    int
	shape   string
	effects []effect
	amp     float64
	lead    int // days before the failure day that show it (0: sudden)
	onset   int // day index of the first day that shows it
	failDay int // day index of the failure
}

// fieldMachine is a machine's field-only state; every draw comes from rng, a
// field stream.
type fieldMachine struct {
	rng      *rand.Rand
	base     baseline
	plan     fieldPlan
	busy     float64 // this machine's share of the kitchen's load
	logw     []float64
	weights  []float64
	wsum     float64
	week     int // week index weights were drawn for
	faultL   float64
	glitchP  float64
	missingP float64
}

func newFieldMachine(cfg Config, ki, mi, menuLen int) *fieldMachine {
	r := rand.New(rand.NewPCG(cfg.Seed, fieldStream|uint64(ki)<<20|uint64(mi+2)))
	f := &fieldMachine{rng: r, base: drawBaseline(r), busy: 0.85 + 0.3*r.Float64(),
		logw: make([]float64, menuLen), weights: make([]float64, menuLen), week: -1,
		// Fault rates are log-normal around 0.1 a day: some machines
		// (a sticky door, a weak socket) are much noisier than others.
		faultL:   math.Exp(-min(0.5, max(0.02, 0.1*math.Exp(0.6*r.NormFloat64())))),
		glitchP:  0.002 + 0.006*r.Float64(),
		missingP: 0.002 + 0.005*r.Float64(),
	}
	for i := range f.logw {
		f.logw[i] = 0.5 * r.NormFloat64()
	}
	// The machine has been in service for a while before the first day: plan
	// from a start in the past, so failures (and precursors already under
	// way) occur from the first days instead of after a quiet warm-up.
	start := -r.IntN(int(math.Ceil(cfg.MeanDaysBetweenFailures)))
	for {
		f.planNext(cfg, start)
		if f.plan.failDay >= 0 {
			break
		}
		start = f.plan.failDay + 2
	}
	return f
}

// planNext draws the failure that ends the service period starting at day
// index start. Days in service are lead + a geometric wait with mean
// mtbf - lead, so the mean days between failures stay --mtbf whatever the
// precursor's length.
func (f *fieldMachine) planNext(cfg Config, start int) {
	r := f.rng
	p := fieldPlan{mode: r.IntN(len(fieldModes)), amp: 0.5 + 0.9*r.Float64()}
	p.shape = fieldShapes[pick(r.Float64(), fieldShapeWeights, len(fieldShapes)-1)]
	if r.Float64() < 0.3 {
		p.amp = 0.15 + 0.25*r.Float64() // weak: hard to see in the noise
	}
	if p.shape != "sudden" {
		p.lead = 2 + r.IntN(13)
		pool := fieldModes[p.mode].effects
		n := 1
		if r.Float64() < 0.5 {
			n = 2 + r.IntN(len(pool)-1)
		}
		for _, i := range r.Perm(len(pool))[:n] {
			p.effects = append(p.effects, pool[i])
		}
	}
	wait := 1
	if mean := cfg.MeanDaysBetweenFailures - float64(p.lead); mean > 1 {
		wait = 1 + int(math.Log(1-r.Float64())/math.Log(1-1/mean))
	}
	p.failDay = start + wait - 1 + p.lead
	p.onset = p.failDay - p.lead
	f.plan = p
}

// menuWeights returns the machine's type weights for day index di: a
// mean-reverting random walk, redrawn weekly, around the kitchen's weights,
// so the mix a machine cooks changes from week to week.
func (f *fieldMachine) menuWeights(di int, kitchen []float64) ([]float64, float64) {
	if w := di / 7; w != f.week {
		f.week = w
		f.wsum = 0
		for i := range f.logw {
			f.logw[i] = 0.6*f.logw[i] + 0.5*f.rng.NormFloat64()
			f.weights[i] = kitchen[i] * math.Exp(f.logw[i])
			if f.rng.Float64() < 0.08 {
				f.weights[i] *= 0.05 // off the menu this week
			}
			f.wsum += f.weights[i]
		}
	}
	return f.weights, f.wsum
}

// fieldDay is simulateDay for the field scenario.
func (m *machineState) fieldDay(cfg Config, fk *fieldKitchen, di int, dayStr string, day time.Time, loc *time.Location,
	menu []int, kweights []float64, types []string, profiles []arepaProfile,
	k Kitchen, truth *Truth, recs []record.Record) []record.Record {
	f := m.field
	r := f.rng
	at := func(h int, minFrac float64) time.Time {
		sec := int(minFrac * 3600)
		return time.Date(day.Year(), day.Month(), day.Day(), h, 0, sec, r.IntN(1000)*1e6, loc).UTC()
	}
	event := func(ts time.Time, kind, code, note string) {
		m.seq++
		recs = append(recs, record.Record{Machine: m.name, Type: record.TypeEvent, TS: ts, Seq: m.seq, Kind: kind, Code: code, Note: note})
	}
	if di == m.downUntil {
		event(at(6, r.Float64()*0.9), record.KindMaintenance, "REPAIR", "repaired after failure")
		m.downUntil = -1
		m.seq = 0 // the machine was rebooted
		f.base = drawBaseline(r)
		f.planNext(cfg, di)
	}
	if m.downUntil > di {
		return recs
	}
	if di == m.nextMaint {
		event(at(5, r.Float64()*0.9), record.KindMaintenance, "ROUTINE", "routine cleaning")
		m.nextMaint = di + 20 + r.IntN(20)
		f.base.tempOff *= 0.5
	}
	p := &f.plan
	failHour := -1
	if di == p.failDay {
		failHour = 7 + r.IntN(14)
	}
	// Faults are a Poisson count at the machine's own rate, whatever its
	// health: in the field most are transient and say nothing of a coming
	// failure. None after a failure: the machine is off.
	nf := 0
	for q := r.Float64(); q > f.faultL; q *= r.Float64() {
		nf++
	}
	for range nf {
		h := pickHour(r)
		code := faultCodes[r.IntN(len(faultCodes))]
		ts := at(h, r.Float64())
		if failHour >= 0 && h >= failHour {
			continue
		}
		event(ts, record.KindFault, code, "")
		truth.Faults++
	}
	// x is how far the precursor has come (0 before onset, 1 on the failure
	// day).
	x := 0.0
	if p.lead > 0 && di >= p.onset {
		x = float64(di-p.onset+1) / float64(p.lead+1)
	}
	spikeP := 0.0
	if p.shape == "spikes" && x > 0 {
		spikeP = 0.01 + 0.3*p.amp*x*x
	}
	weights, wsum := f.menuWeights(di, kweights)
	mean := float64(cfg.CooksPerDay) * fk.load(di, day.Weekday()) * f.busy
	n := max(1, int(mean+r.NormFloat64()*math.Sqrt(mean)))
	b := f.base
	var v [nMetrics]float64
	cooks := 0
	for range n {
		h := pickHour(r)
		if failHour >= 0 && h >= failHour {
			continue
		}
		t := menu[pick(r.Float64()*wsum, weights, 0)]
		pr := profiles[t]
		v[mTemp] = pr.temp + b.tempOff + r.NormFloat64()*metricNoise[mTemp]
		v[mCook] = pr.cookTime * b.cookFactor * (1 + r.NormFloat64()*metricNoise[mCook])
		v[mEnergy] = v[mCook] * pr.power * (1 + r.NormFloat64()*metricNoise[mEnergy]) / 3600 * b.energyFactor
		v[mCurrent] = b.curBase + r.NormFloat64()*metricNoise[mCurrent]
		v[mVibration] = b.vibBase + r.NormFloat64()*metricNoise[mVibration]
		v[mDoor] = float64(1 + r.IntN(3))
		if hourWeight[h] >= 3 {
			v[mTemp] -= 1.5
			v[mVibration] += 0.05
		}
		if x > 0 {
			spike := spikeP > 0 && r.Float64() < spikeP
			for _, e := range p.effects {
				var d float64 // shift in metricScale units
				switch p.shape {
				case "drift":
					d = e.sign * p.amp * math.Pow(x, 1.5)
				case "step":
					d = e.sign * p.amp * 0.7
				case "variance":
					// Zero-mean noise: the mean stays, the spread grows.
					d = r.NormFloat64() * 3 * p.amp * x * metricNoise[e.metric] / metricScale[e.metric]
				case "spikes":
					if spike {
						d = e.sign * (2 + 3*r.Float64())
					}
				}
				if metricRelative[e.metric] {
					v[e.metric] *= 1 + d*metricScale[e.metric]
				} else {
					v[e.metric] += d * metricScale[e.metric]
				}
			}
		}
		v[mDoor] = max(1, v[mDoor])
		metrics := make(map[string]float64, nMetrics)
		for i, name := range metricNames {
			metrics[name] = round(v[i], metricDigits[i])
		}
		// Sensor glitches: an absurd but finite single reading, or a
		// metric the machine failed to send.
		if r.Float64() < f.glitchP {
			name := metricNames[r.IntN(nMetrics)]
			switch r.IntN(3) {
			case 0:
				metrics[name] = 0
			case 1:
				metrics[name] = -math.Max(1, math.Abs(metrics[name]))
			default:
				metrics[name] *= 10
			}
			truth.Glitches++
		}
		if r.Float64() < f.missingP {
			delete(metrics, metricNames[r.IntN(nMetrics)])
			truth.Missing++
		}
		m.seq++
		cooks++
		recs = append(recs, record.Record{Machine: m.name, Type: record.TypeCook, TS: at(h, r.Float64()), Seq: m.seq,
			Arepa: types[t], Metrics: metrics})
	}
	if failHour >= 0 {
		mode := fieldModes[p.mode]
		event(at(failHour, r.Float64()), record.KindFailure, mode.code, mode.name+" failure")
		m.downUntil = di + 1 + r.IntN(2)
		strength := 0.0 // a sudden failure has no precursor to be strong or weak
		if p.lead > 0 {
			strength = round(p.amp, 2)
		}
		shown := make([]string, 0, len(p.effects))
		for _, e := range p.effects {
			shown = append(shown, metricNames[e.metric])
		}
		truth.Failures = append(truth.Failures, Failure{Kitchen: k.Name, Machine: m.name, Mode: mode.name,
			Onset: day.AddDate(0, 0, p.onset-di).Format(time.DateOnly), Day: dayStr, Code: mode.code,
			Repaired: day.AddDate(0, 0, m.downUntil-di).Format(time.DateOnly),
			Shape:    p.shape, Metrics: shown, Precursor: p.lead > 0, Lead: p.lead, Strength: strength})
	}
	truth.Cooks += int64(cooks)
	return recs
}
