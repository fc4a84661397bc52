package cmapss

import (
	"fmt"
	"math"
	"slices"
)

// Regimes finds the operating conditions from the settings columns: k-means on
// the standardised, non-constant settings, with k the smallest in 1..maxK
// whose clusters explain at least explain (e.g. 0.999) of the settings'
// variance. Settings that are noise around one condition (FD001) never reach
// that share, so they form one regime; discrete conditions (FD002's six) do.
type Regimes struct {
	Cols    []int       // settings columns used
	Mean    []float64   // per used column, for standardising
	Std     []float64   // per used column
	Centers [][]float64 // standardised cluster centers
}

// FitRegimes fits the regimes on rows (the training units).
func FitRegimes(rows []Row, maxK int, explain float64) *Regimes {
	g := &Regimes{}
	n := float64(len(rows))
	for c := range NumSettings {
		var s, ss float64
		for i := range rows {
			v := rows[i].Settings[c]
			s += v
			ss += v * v
		}
		mean := s / n
		sd := math.Sqrt(math.Max(ss/n-mean*mean, 0))
		if sd > 1e-9*math.Max(1, math.Abs(mean)) {
			g.Cols = append(g.Cols, c)
			g.Mean = append(g.Mean, mean)
			g.Std = append(g.Std, sd)
		}
	}
	d := len(g.Cols)
	if d == 0 || len(rows) < 2 {
		g.Centers = [][]float64{make([]float64, d)}
		return g
	}
	// A systematic sample is plenty to find operating conditions and keeps
	// the k scan cheap on large subsets.
	step := max(1, len(rows)/2000)
	X := make([][]float64, 0, len(rows)/step+1)
	for i := 0; i < len(rows); i += step {
		X = append(X, g.point(&rows[i]))
	}
	total := 0.0 // about the mean, which is 0 after standardising
	for _, x := range X {
		for _, v := range x {
			total += v * v
		}
	}
	g.Centers = [][]float64{make([]float64, d)}
	for k := 2; k <= maxK && k <= len(X); k++ {
		centers, wss := kmeans(X, k)
		if wss <= (1-explain)*total {
			g.Centers = centers
			break
		}
	}
	return g
}

func (g *Regimes) point(r *Row) []float64 {
	p := make([]float64, len(g.Cols))
	for j, c := range g.Cols {
		p[j] = (r.Settings[c] - g.Mean[j]) / g.Std[j]
	}
	return p
}

// K is the number of regimes.
func (g *Regimes) K() int { return len(g.Centers) }

// Of returns the regime of a row: its nearest center.
func (g *Regimes) Of(r *Row) int {
	if len(g.Centers) == 1 {
		return 0
	}
	p := g.point(r)
	best, bd := 0, math.Inf(1)
	for k, c := range g.Centers {
		if d := dist2(p, c); d < bd {
			best, bd = k, d
		}
	}
	return best
}

func dist2(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// kmeans runs Lloyd's algorithm from a deterministic maximin start (first
// center the point farthest from the mean, then each next the point
// farthest from the chosen ones) and returns the centers and the
// within-cluster sum of squares.
func kmeans(X [][]float64, k int) ([][]float64, float64) {
	d := len(X[0])
	centers := make([][]float64, 0, k)
	pick := func(score func(i int) float64) {
		far, fd := 0, -1.0
		for i := range X {
			if v := score(i); v > fd {
				far, fd = i, v
			}
		}
		centers = append(centers, append([]float64(nil), X[far]...))
	}
	origin := make([]float64, d)
	pick(func(i int) float64 { return dist2(X[i], origin) })
	near := make([]float64, len(X))
	for i := range near {
		near[i] = math.Inf(1)
	}
	for len(centers) < k {
		last := centers[len(centers)-1]
		pick(func(i int) float64 {
			near[i] = math.Min(near[i], dist2(X[i], last))
			return near[i]
		})
	}
	assign := make([]int, len(X))
	wss := 0.0
	for iter := range 50 {
		changed := false
		wss = 0
		for i, x := range X {
			best, bd := 0, math.Inf(1)
			for j, c := range centers {
				if dd := dist2(x, c); dd < bd {
					best, bd = j, dd
				}
			}
			if assign[i] != best || iter == 0 {
				changed = changed || assign[i] != best
				assign[i] = best
			}
			wss += bd
		}
		if !changed && iter > 0 {
			break
		}
		sums := make([][]float64, k)
		cnt := make([]float64, k)
		for j := range sums {
			sums[j] = make([]float64, d)
		}
		for i, x := range X {
			cnt[assign[i]]++
			for t, v := range x {
				sums[assign[i]][t] += v
			}
		}
		for j := range centers {
			if cnt[j] == 0 {
				continue // keep an empty cluster's center where it was
			}
			for t := range d {
				centers[j][t] = sums[j][t] / cnt[j]
			}
		}
	}
	return centers, wss
}

// Normalizer standardises each sensor per regime with training statistics,
// so that a sensor's value means "how far from usual in this operating
// condition". Sensors constant within every regime are dropped.
type Normalizer struct {
	Regimes *Regimes
	Sensors []int       // kept sensor indexes (0-based)
	Mean    [][]float64 // [regime][sensor]
	Std     [][]float64 // [regime][sensor]; 0 means constant there
	names   []string    // metric names of Sensors
}

// FitNormalizer computes per-regime sensor statistics on training rows.
func FitNormalizer(rows []Row, g *Regimes) (*Normalizer, error) {
	k := g.K()
	nz := &Normalizer{Regimes: g, Mean: make([][]float64, k), Std: make([][]float64, k)}
	cnt := make([]float64, k)
	sum := make([][NumSensors]float64, k)
	sq := make([][NumSensors]float64, k)
	for i := range rows {
		r := g.Of(&rows[i])
		cnt[r]++
		for s, v := range rows[i].Sensors {
			sum[r][s] += v
			sq[r][s] += v * v
		}
	}
	keep := make([]bool, NumSensors)
	for r := range k {
		nz.Mean[r] = make([]float64, NumSensors)
		nz.Std[r] = make([]float64, NumSensors)
		if cnt[r] == 0 {
			continue
		}
		for s := range NumSensors {
			m := sum[r][s] / cnt[r]
			sd := math.Sqrt(math.Max(sq[r][s]/cnt[r]-m*m, 0))
			// Relative test: sensors printed with few digits show
			// rounding-level variance only, which is not information.
			if sd <= 1e-6*math.Max(1, math.Abs(m)) {
				sd = 0
			} else {
				keep[s] = true
			}
			nz.Mean[r][s], nz.Std[r][s] = m, sd
		}
	}
	for s, ok := range keep {
		if ok {
			nz.Sensors = append(nz.Sensors, s)
			nz.names = append(nz.names, SensorName(s))
		}
	}
	if len(nz.Sensors) == 0 {
		return nil, fmt.Errorf("cmapss: every sensor is constant")
	}
	return nz, nil
}

// Metrics returns the normalised metrics of a row, keyed by sensor name.
func (nz *Normalizer) Metrics(r *Row) map[string]float64 {
	g := nz.Regimes.Of(r)
	out := make(map[string]float64, len(nz.Sensors))
	for i, s := range nz.Sensors {
		v := 0.0
		if sd := nz.Std[g][s]; sd > 0 {
			v = (r.Sensors[s] - nz.Mean[g][s]) / sd
		}
		out[nz.names[i]] = v
	}
	return out
}

// Names returns the kept sensors' metric names, sorted.
func (nz *Normalizer) Names() []string {
	return slices.Clone(nz.names)
}

// SensorName is the metric name of 0-based sensor s: "sensor_01".."sensor_21".
func SensorName(s int) string { return fmt.Sprintf("sensor_%02d", s+1) }
