package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/budare/budare/internal/features"
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
	// failure says which events label a row (the zero rule: kind failure).
	failure record.FailureRule
	// referenceDecoder reads windows with encoding/json only (benchmarks).
	referenceDecoder bool
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

// rowSet is the rows of one arepa type from every kitchen, laid out under
// the type's feature Spec (buildRowSet).
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

// machineDay is one machine's records of one day, cooks split by type.
type machineDay struct {
	cooks  map[string][]record.Record
	events []record.Record
	// window holds, per type once asked for, its cooks then the events: the
	// day as every row window over it sees it (dayWindow).
	window map[string][]record.Record
}

// dayWindow returns type a's cooks followed by the day's events, built on
// the first call: a day is in Window row windows, copied once.
func (md *machineDay) dayWindow(a string) []record.Record {
	if w, ok := md.window[a]; ok {
		return w
	}
	if md.window == nil {
		md.window = map[string][]record.Record{}
	}
	cooks := md.cooks[a]
	w := make([]record.Record, 0, len(cooks)+len(md.events))
	w = append(append(w, cooks...), md.events...)
	md.window[a] = w
	return w
}

// dayData is one kitchen day.
type dayData map[string]*machineDay

// readStats counts what a kitchen's windows held.
type readStats struct {
	Windows, Missing, Records, BadLines int
	Bytes                               int64 // of the windows read, compressed
}

// readDay reads and decodes one window; a missing window is an empty day.
// Lines that are not records are counted and skipped. Only cook records of
// the wanted types are kept; lines skip reports true for are not decoded.
// When the store gives the window's recorded SHA-256, the bytes must match
// it (a window changed or cut in transit is an error, not a short day).
func readDay(ctx context.Context, b Bucket, kitchen, day string, want map[string]bool, skip func([]byte) bool, dec *lineDecoder, st *readStats, log *slog.Logger) (dayData, error) {
	key := window.Key(kitchen, day)
	data, sum, err := getWindow(ctx, b, key)
	if IsNotFound(err) {
		st.Missing++
		return dayData{}, nil
	}
	if err != nil {
		return nil, err
	}
	st.Windows++
	st.Bytes += int64(len(data))
	dd := dayData{}
	var skipLine func([]byte) bool
	if skip != nil {
		skipLine = func(line []byte) bool {
			if skip(line) {
				st.Records++
				return true
			}
			return false
		}
	}
	err = eachVerifiedRecord(data, sum, dec, skipLine, func(r *record.Record) {
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
		return nil, fmt.Errorf("window %s: %w", key, err)
	}
	return dd, nil
}

// skipOthers returns a line filter that skips the cook lines of types not in
// want without decoding them, or nil when every line is wanted.
func skipOthers(want map[string]bool) func([]byte) bool {
	if want == nil {
		return nil
	}
	return func(line []byte) bool {
		a, ok := cookArepa(line)
		return ok && !want[string(a)]
	}
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

// lineDecoder decodes window lines: with record.FastWindowLine, falling
// back to encoding/json (the reference, which also explains a bad line)
// when it declines, or with encoding/json alone when reference is set (the
// trainer's decoder before the fast one, kept for benchmarks).
type lineDecoder struct {
	names     record.Names
	reference bool
}

func (d *lineDecoder) decode(line []byte) (record.Record, error) {
	if !d.reference {
		return record.DecodeLine(line, &d.names)
	}
	var r record.Record
	err := json.Unmarshal(line, &r)
	return r, err
}

// eachVerifiedRecord decodes a gzip NDJSON window that must first match
// its recorded SHA-256 (window.MetaSHA256; "" checks nothing), calling fn
// for every valid record and bad for every line that is not one. Lines skip
// reports true for are not decoded. dec nil is a fresh fast decoder.
func eachVerifiedRecord(data []byte, wantSHA256 string, dec *lineDecoder, skip func([]byte) bool, fn func(*record.Record), bad func(line int, err error)) error {
	if dec == nil {
		dec = &lineDecoder{}
	}
	return window.Each(data, wantSHA256, func(n int, line []byte) error {
		if skip != nil && skip(line) {
			return nil
		}
		r, err := dec.decode(line)
		if err != nil {
			bad(n, err)
			return nil
		}
		if r.Machine == "" || r.TS.IsZero() || (r.Type != record.TypeCook && r.Type != record.TypeEvent) ||
			(r.Type == record.TypeCook && r.Arepa == "") {
			bad(n, fmt.Errorf("not a cook or event record of a machine"))
			return nil
		}
		fn(&r)
		return nil
	})
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
