package train

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// Span is the run's calendar: every day index below is an offset from First.
type Span struct {
	First, Last string // windows read, inclusive
	days        []string
	Window      int // feature window length (days before a row's day)
	Horizon     int // label horizon H
	// Row days (as indexes into days) of each slice, inclusive; the gaps
	// between them are H-1 days wide, so no label of an earlier slice looks
	// at a day a later slice's rows are labelled on.
	TrainFrom, TrainTo     int
	ValidFrom, ValidTo     int
	HoldoutFrom, HoldoutTo int
	// Folds split ValidFrom..ValidTo into weeks, latest first.
	Folds []Fold
	// skipOthers: this run trains only some types (a shard), so cook lines
	// of other types are recognised and skipped before decoding.
	skipOthers bool
	// failure says which events label a row (the zero rule: kind failure).
	failure record.FailureRule
}

// Day returns the date of day index i.
func (s *Span) Day(i int) string { return s.days[i] }

// Fold is one week of rolling-origin validation: its models are fitted on
// the row days TrainFrom..TrainTo and judged on ValidFrom..ValidTo.
type Fold struct {
	TrainTo, ValidFrom, ValidTo int
}

// NewSpan lays out the span for run date date (yyyy-mm-dd): spanDays days
// of windows ending the day before, rows on every day with a full window
// before it and a full horizon after it, split by time into train,
// validation (folds weeks of validDays, the rolling origin) and holdout
// (the latest days).
func NewSpan(date string, spanDays, window, horizon, validDays, holdoutDays, folds int) (*Span, error) {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil, fmt.Errorf("date %q is not yyyy-mm-dd", date)
	}
	folds = max(folds, 1)
	s := &Span{Window: window, Horizon: horizon}
	for i := spanDays; i >= 1; i-- {
		s.days = append(s.days, d.AddDate(0, 0, -i).Format(time.DateOnly))
	}
	s.First, s.Last = s.days[0], s.days[len(s.days)-1]
	lastRow := len(s.days) - horizon // label days lastRow..lastRow+H-1 are in the span
	s.HoldoutTo = lastRow
	s.HoldoutFrom = lastRow - holdoutDays + 1
	s.ValidTo = s.HoldoutFrom - horizon
	s.ValidFrom = s.ValidTo - folds*validDays + 1
	s.TrainTo = s.ValidFrom - horizon
	s.TrainFrom = window
	if s.TrainTo-s.TrainFrom < 2 {
		return nil, fmt.Errorf("span of %d days is too short for a %d-day window, %d-day horizon, %d validation weeks of %d days and %d holdout days (want at least %d days)",
			spanDays, window, horizon, folds, validDays, holdoutDays, window+3*horizon+holdoutDays+folds*validDays)
	}
	// Latest fold first; each trains on every row day whose labels end
	// before its own first validation day.
	for f := range folds {
		to := s.ValidTo - f*validDays
		from := to - validDays + 1
		s.Folds = append(s.Folds, Fold{TrainTo: from - horizon, ValidFrom: from, ValidTo: to})
	}
	return s, nil
}

// Slice names.
const (
	SliceTrain   = 0
	SliceValid   = 1
	SliceHoldout = 2
)

// sliceOf returns which slice a row day belongs to, or -1 for a purged day.
func (s *Span) sliceOf(day int) int {
	switch {
	case day >= s.TrainFrom && day <= s.TrainTo:
		return SliceTrain
	case day >= s.ValidFrom && day <= s.ValidTo:
		return SliceValid
	case day >= s.HoldoutFrom && day <= s.HoldoutTo:
		return SliceHoldout
	}
	return -1
}

// rowSet is the rows of one arepa type from one kitchen (or all, merged).
type rowSet struct {
	dim, champDim int
	x             []float64 // dim per row
	// champ holds, for each row judged (validation and holdout) in row
	// order, its vector under the champion's own Spec (champDim each), when
	// the champion has one; champRow[i] is row i's offset in vectors, or -1.
	champ    []float64
	champRow []int32
	day      []int32
	y        []bool
	machine  []string // kitchen/machine, for tests and diagnostics
}

func (r *rowSet) n() int { return len(r.y) }

// newRowSets returns an empty row set per type of specs, sized for its Spec
// and, when champ has one for the type, for the champion's.
func newRowSets(specs, champ map[string]*features.Spec) map[string]*rowSet {
	out := make(map[string]*rowSet, len(specs))
	for a, s := range specs {
		rs := &rowSet{dim: s.Len()}
		if c := champ[a]; c != nil {
			rs.champDim = c.Len()
		}
		out[a] = rs
	}
	return out
}

func (r *rowSet) append(o *rowSet) {
	r.x = append(r.x, o.x...)
	base := int32(len(r.champ) / max(r.champDim, 1))
	for _, c := range o.champRow {
		if c >= 0 {
			c += base
		}
		r.champRow = append(r.champRow, c)
	}
	r.champ = append(r.champ, o.champ...)
	r.day = append(r.day, o.day...)
	r.y = append(r.y, o.y...)
	r.machine = append(r.machine, o.machine...)
}

// machineDay is one machine's records of one day, cooks split by type.
type machineDay struct {
	cooks  map[string][]record.Record
	events []record.Record
}

// dayData is one kitchen day.
type dayData map[string]*machineDay

// readStats counts what a kitchen's windows held.
type readStats struct {
	Windows, Missing, Records, BadLines int
}

// readDay reads and decodes one window; a missing window is an empty day.
// Lines that are not records are counted and skipped. Only cook records of
// the wanted types are kept; with skipOthers the others are not even decoded.
func readDay(ctx context.Context, b Bucket, kitchen, day string, want map[string]bool, skipOthers bool, st *readStats, log *slog.Logger) (dayData, error) {
	data, err := b.Get(ctx, window.Key(kitchen, day), 0)
	if IsNotFound(err) {
		st.Missing++
		return dayData{}, nil
	}
	if err != nil {
		return nil, err
	}
	st.Windows++
	dd := dayData{}
	var skip func([]byte) bool
	if skipOthers && want != nil {
		skip = func(line []byte) bool {
			a, ok := cookArepa(line)
			if ok && !want[string(a)] {
				st.Records++
				return true
			}
			return false
		}
	}
	err = eachRecord(data, skip, func(r *record.Record) {
		st.Records++
		md := dd[r.Machine]
		if md == nil {
			md = &machineDay{cooks: map[string][]record.Record{}}
			dd[r.Machine] = md
		}
		switch r.Type {
		case record.TypeEvent:
			md.events = append(md.events, *r)
		case record.TypeCook:
			if want == nil || want[r.Arepa] {
				md.cooks[r.Arepa] = append(md.cooks[r.Arepa], *r)
			}
		}
	}, func(line int, err error) {
		st.BadLines++
		if st.BadLines <= 5 {
			log.Warn("skipping a bad window line", "kitchen", kitchen, "day", day, "line", line, "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("window %s: %w", window.Key(kitchen, day), err)
	}
	return dd, nil
}

var (
	cookMark  = []byte(`"type":"cook"`)
	arepaMark = []byte(`"arepa":"`)
	typeKey   = []byte(`"type"`)
	arepaKey  = []byte(`"arepa"`)
)

// cookArepa finds the arepa type of a cook line without decoding it, so a
// shard does not pay for decoding the other shards' types. It answers only
// for lines in the window format (json.Marshal of record.Record) with no
// escapes at all, where every quote delimits a string and each key appears
// once (also ignoring case, as encoding/json matches keys); ok is false
// otherwise and the line is decoded in full.
func cookArepa(line []byte) ([]byte, bool) {
	if bytes.IndexByte(line, '\\') >= 0 || !bytes.Contains(line, cookMark) {
		return nil, false
	}
	i := bytes.Index(line, arepaMark)
	if i < 0 {
		return nil, false
	}
	lower := bytes.ToLower(line)
	if bytes.Count(lower, typeKey) != 1 || bytes.Count(lower, arepaKey) != 1 {
		return nil, false
	}
	i += len(arepaMark)
	j := bytes.IndexByte(line[i:], '"')
	if j <= 0 || !utf8.Valid(line[i:i+j]) {
		return nil, false
	}
	return line[i : i+j], true
}

// eachRecord decodes a gzip NDJSON window, calling fn for every valid record
// and bad for every line that is not one. Lines skip reports true for are
// not decoded.
func eachRecord(data []byte, skip func([]byte) bool, fn func(*record.Record), bad func(line int, err error)) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not gzip: %w", err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 || (skip != nil && skip(line)) {
			continue
		}
		var r record.Record
		if err := json.Unmarshal(line, &r); err != nil {
			bad(n, err)
			continue
		}
		if r.Machine == "" || r.TS.IsZero() || (r.Type != record.TypeCook && r.Type != record.TypeEvent) ||
			(r.Type == record.TypeCook && r.Arepa == "") {
			bad(n, fmt.Errorf("not a cook or event record of a machine"))
			continue
		}
		fn(&r)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

// countMetrics reads a sample of each kitchen's days (every 7th, counting
// back from the span's last day) and counts, per arepa type, cook records and
// how many carry each metric, so every shard derives the same feature Spec
// from the same data.
func countMetrics(ctx context.Context, b Bucket, kitchens []Kitchen, span *Span, want map[string]bool, log *slog.Logger) (map[string]map[string]int, map[string]int, error) {
	counts := map[string]map[string]int{}
	cooks := map[string]int{}
	for _, k := range kitchens {
		for i := len(span.days) - 1; i >= 0; i -= 7 {
			var st readStats
			dd, err := readDay(ctx, b, k.Name, span.days[i], want, span.skipOthers, &st, log)
			if err != nil {
				return nil, nil, err
			}
			for _, md := range dd {
				for a, recs := range md.cooks {
					c := counts[a]
					if c == nil {
						c = map[string]int{}
						counts[a] = c
					}
					for ri := range recs {
						cooks[a]++
						for m := range recs[ri].Metrics {
							c[m]++
						}
					}
				}
			}
		}
	}
	return counts, cooks, nil
}

// kitchenRows streams one kitchen's windows oldest first, keeping only the
// last Window+Horizon days in memory, and returns its rows per arepa type.
// specs gives each wanted type's feature Spec; champ, when set for a type,
// is the champion's own Spec, computed for holdout rows too.
func kitchenRows(ctx context.Context, b Bucket, k Kitchen, span *Span, specs, champ map[string]*features.Spec, bar *progress.Bar, log *slog.Logger) (map[string]*rowSet, readStats, error) {
	var st readStats
	want := make(map[string]bool, len(specs))
	for a := range specs {
		want[a] = true
	}
	out := newRowSets(specs, champ)
	keep := span.Window + span.Horizon
	ring := make([]dayData, keep) // ring[i%keep] holds day i
	winBuf := make([][]record.Record, span.Window)
	scratch := make([][]record.Record, span.Window)
	vec := map[string][]float64{}
	for a, s := range specs {
		vec[a] = make([]float64, s.Len())
	}
	for i := range span.days {
		dd, err := readDay(ctx, b, k.Name, span.days[i], want, span.skipOthers, &st, log)
		if err != nil {
			return nil, st, err
		}
		bar.Add(1)
		ring[i%keep] = dd
		// Day i completes the horizon of row day d = i-H+1.
		d := i - span.Horizon + 1
		sl := span.sliceOf(d)
		if d < span.Window || sl < 0 {
			continue
		}
		// Machines seen in the window, sorted for a deterministic row order.
		seen := map[string]bool{}
		for j := d - span.Window; j < d; j++ {
			for m := range ring[j%keep] {
				seen[m] = true
			}
		}
		for _, m := range sortedKeys(seen) {
			label := false
			for j := d; j < d+span.Horizon; j++ {
				if md := ring[j%keep][m]; md != nil {
					for ei := range md.events {
						label = label || span.failure.Match(&md.events[ei])
					}
				}
			}
			types := map[string]bool{}
			for j := d - span.Window; j < d; j++ {
				if md := ring[j%keep][m]; md != nil {
					for a := range md.cooks {
						types[a] = true
					}
				}
			}
			for _, a := range sortedKeys(types) {
				spec := specs[a]
				for w := range span.Window {
					winBuf[w] = winBuf[w][:0]
					if md := ring[(d-span.Window+w)%keep][m]; md != nil {
						winBuf[w] = append(append(winBuf[w], md.cooks[a]...), md.events...)
					}
					scratch[w] = winBuf[w]
				}
				win := features.Window{Days: scratch}
				v := vec[a]
				if !spec.ComputeInto(v, win) {
					continue // too few days with data: not a trustworthy row
				}
				rs := out[a]
				rs.x = append(rs.x, v...)
				rs.day = append(rs.day, int32(d))
				rs.y = append(rs.y, label)
				rs.machine = append(rs.machine, k.Name+"/"+m)
				if c := champ[a]; c != nil && sl != SliceTrain {
					rs.champRow = append(rs.champRow, int32(len(rs.champ)/rs.champDim))
					cv := make([]float64, c.Len())
					c.ComputeInto(cv, win)
					rs.champ = append(rs.champ, cv...)
				} else if champ[a] != nil {
					rs.champRow = append(rs.champRow, -1)
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
	}
	return out, st, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// specFor derives an arepa type's feature Spec from sampled metric counts;
// a type missing from the sample gets the metrics common to all types.
func specFor(a string, counts map[string]map[string]int, cooks map[string]int, share float64, window int) *features.Spec {
	if cooks[a] > 0 {
		return &features.Spec{Metrics: features.MetricsFromCounts(counts[a], cooks[a], share), WindowDays: window, Set: features.Set2}
	}
	all, n := map[string]int{}, 0
	for t, c := range counts {
		n += cooks[t]
		for m, v := range c {
			all[m] += v
		}
	}
	return &features.Spec{Metrics: features.MetricsFromCounts(all, n, share), WindowDays: window, Set: features.Set2}
}
