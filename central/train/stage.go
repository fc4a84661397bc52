package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/budare/budare/internal/release"
)

// A staged run splits one training run in two stages, each sharded, with
// objects in the bucket between them (staging/<run>/):
//
//   - rows, sharded by kitchen: each worker reads its kitchens' windows once
//     and writes one row file per arepa type (rows/<type>/<i>-of-<n>.bin),
//     then its manifest (rows/<i>-of-<n>.json) with the metric counts;
//   - fit, sharded by arepa type: each worker reads every rows manifest and
//     its types' row files, fits and judges exactly as a single run, and
//     writes its outcome (fit/<i>-of-<n>.json);
//   - assemble publishes one release from every fit outcome, as a single run
//     would, and removes staging/<run>/.
//
// Every stage derives the span from the same run date, so a run is fixed
// by its id and date.

// ValidRun reports whether id can name a staged run: it becomes an object
// key segment.
func ValidRun(id string) error {
	if !runID.MatchString(id) {
		return fmt.Errorf("run id %q: want 1-64 letters, digits, '.', '_' or '-'", id)
	}
	return nil
}

var runID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// StagingPrefix is where a staged run keeps its objects.
func StagingPrefix(run string) string { return "staging/" + run + "/" }

func shardName(s Shard) string { return fmt.Sprintf("%d-of-%d", s.I, s.N) }

// RowsManifestKey is rows shard s's manifest, written after its row files.
func RowsManifestKey(run string, s Shard) string {
	return StagingPrefix(run) + "rows/" + shardName(s) + ".json"
}

// RowFileKey is rows shard s's row file of arepa type a.
func RowFileKey(run, a string, s Shard) string {
	return StagingPrefix(run) + "rows/" + a + "/" + shardName(s) + ".bin"
}

// FitOutcomeKey is fit shard s's outcome.
func FitOutcomeKey(run string, s Shard) string {
	return StagingPrefix(run) + "fit/" + shardName(s) + ".json"
}

// RowsManifest is what a rows shard read and wrote.
type RowsManifest struct {
	V         int    `json:"v"`
	Run       string `json:"run"`
	Date      string `json:"date"`
	Phase     int    `json:"phase"`
	Shard     string `json:"shard"`
	SpanFirst string `json:"span_first"`
	SpanLast  string `json:"span_last"`
	// Types are every listed arepa type, sorted.
	Types []string `json:"types"`
	// Kitchens are this shard's, a run of the sorted phase kitchens.
	Kitchens        []string     `json:"kitchens"`
	ChampionRelease int64        `json:"champion_release"`
	Counts          metricCounts `json:"metric_counts"`
	Stats           Stats        `json:"stats"`
	// Files are the row files by arepa type (types without rows here have
	// none).
	Files map[string]RowFileRef `json:"files"`
}

// RowFileRef names a row file and what it holds.
type RowFileRef struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"` // of the whole object
	Rows   int    `json:"rows"`
	Bytes  int    `json:"bytes"`
}

// pickKitchens returns shard s's kitchens: the s.I-th of s.N runs of
// consecutive sorted kitchens, so the shards' rows in shard order are the
// rows in kitchen order.
func pickKitchens(ks []Kitchen, s Shard) []Kitchen {
	n := max(s.N, 1)
	return ks[s.I*len(ks)/n : (s.I+1)*len(ks)/n]
}

// Rows runs rows shard o.Shard of staged run o.Run: it reads its kitchens'
// windows and writes their rows of every listed type to staging.
func Rows(ctx context.Context, o Options) (*RowsManifest, error) {
	log := logOf(o.Log)
	if err := ValidRun(o.Run); err != nil {
		return nil, err
	}
	if o.Shard.N == 0 {
		o.Shard = Shard{0, 1}
	}
	span, err := runSpan(o.Date, o.Train)
	if err != nil {
		return nil, err
	}
	span.referenceDecoder = o.ReferenceDecoder
	all, err := phaseKitchens(ctx, o.Bucket, o.Phase)
	if err != nil {
		return nil, err
	}
	kitchens := pickKitchens(all, o.Shard)
	types := Shard{0, 1}.Pick(o.Types)
	m := &RowsManifest{V: 1, Run: o.Run, Date: o.Date, Phase: o.Phase, Shard: o.Shard.String(), SpanFirst: span.First,
		SpanLast: span.Last, Types: types, Files: map[string]RowFileRef{}}
	for _, k := range kitchens {
		m.Kitchens = append(m.Kitchens, k.Name)
	}
	log.Info("rows", "run", o.Run, "date", o.Date, "phase", o.Phase, "shard", m.Shard, "kitchens", len(kitchens),
		"of", len(all), "span", span.First+".."+span.Last)
	cur, champs, err := trustedChampions(ctx, o.Bucket, o.Public, types, log)
	if err != nil {
		return nil, err
	}
	m.ChampionRelease = cur
	parts, counts, err := readKitchens(ctx, o.Bucket, o.Train.Workers, kitchens, span, typeSet(types), nil,
		explicitChampSpecs(champs, span), &m.Stats, o.Progress, log)
	if err != nil {
		return nil, err
	}
	m.Counts = counts
	for _, a := range types {
		if len(parts[a]) == 0 {
			continue
		}
		f := &rowFile{Run: o.Run, Arepa: a, Shard: m.Shard, Parts: parts[a]}
		parts[a] = nil
		key := RowFileKey(o.Run, a, o.Shard)
		data := encodeRowFile(f)
		if err := o.Bucket.Put(ctx, key, data, nil); err != nil {
			return nil, fmt.Errorf("row file: %w", err)
		}
		sum := sha256.Sum256(data)
		m.Files[a] = RowFileRef{Key: key, SHA256: hex.EncodeToString(sum[:]), Rows: f.rows(), Bytes: len(data)}
		m.Stats.Rows += f.rows()
	}
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("rows manifest: %w", err)
	}
	if err := o.Bucket.Put(ctx, RowsManifestKey(o.Run, o.Shard), append(data, '\n'), nil); err != nil {
		return nil, fmt.Errorf("rows manifest: %w", err)
	}
	return m, nil
}

// shardKeys lists the <i>-of-<n>.json objects under prefix and returns them
// in shard order, checking that all n shards of one n are there.
func shardKeys(ctx context.Context, b Bucket, prefix, what string) ([]string, error) {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	byShard := map[int]string{}
	n := 0
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		i, of, ok := parseShardName(strings.TrimSuffix(rest, ".json"))
		if !ok || !strings.HasSuffix(rest, ".json") {
			continue
		}
		if n != 0 && of != n {
			return nil, fmt.Errorf("%s under %s are of %d and %d shards: one run, one shard count", what, prefix, n, of)
		}
		n = of
		byShard[i] = k
	}
	if n == 0 {
		return nil, fmt.Errorf("no %s under %s: run that stage first", what, prefix)
	}
	var out, missing []string
	for i := range n {
		k, ok := byShard[i]
		if !ok {
			missing = append(missing, Shard{i, n}.String())
			continue
		}
		out = append(out, k)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s shards %s of %d have not finished (nothing at %s<i>-of-%d.json)", what,
			strings.Join(missing, ", "), n, prefix, n)
	}
	return out, nil
}

func parseShardName(s string) (i, n int, ok bool) {
	a, b, found := strings.Cut(s, "-of-")
	if !found {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || i < 0 || n < 1 || i >= n {
		return 0, 0, false
	}
	return i, n, true
}

// readRowsManifests reads every rows shard's manifest of a run and checks
// they describe one run of date and phase.
func readRowsManifests(ctx context.Context, b Bucket, run, date string, phase int) ([]*RowsManifest, error) {
	keys, ms, err := readShardJSON[RowsManifest](ctx, b, StagingPrefix(run)+"rows/", "rows manifest")
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		m := ms[i]
		switch {
		case m.Run != run || m.Shard != (Shard{i, len(keys)}).String():
			return nil, fmt.Errorf("rows manifest %s is of run %q shard %s", k, m.Run, m.Shard)
		case m.Date != date || m.Phase != phase:
			return nil, fmt.Errorf("rows of run %s are of %s phase %d, not %s phase %d: give the rows stage's --date and --phase",
				run, m.Date, m.Phase, date, phase)
		case i > 0 && (!slices.Equal(m.Types, ms[0].Types) || m.ChampionRelease != ms[0].ChampionRelease || m.SpanFirst != ms[0].SpanFirst):
			return nil, fmt.Errorf("rows manifests %s and %s disagree on types, span or current release: run the rows stage again", keys[0], k)
		}
	}
	return ms, nil
}

// readShardJSON reads and decodes every shard's JSON object under prefix
// (shardKeys: one run, one shard count, none missing), in shard order.
func readShardJSON[T any](ctx context.Context, b Bucket, prefix, what string) ([]string, []*T, error) {
	keys, err := shardKeys(ctx, b, prefix, what+"s")
	if err != nil {
		return nil, nil, err
	}
	out := make([]*T, len(keys))
	for i, k := range keys {
		data, err := b.Get(ctx, k, 0)
		if err != nil {
			return nil, nil, err
		}
		out[i] = new(T)
		if err := json.Unmarshal(data, out[i]); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", what, k, err)
		}
	}
	return keys, out, nil
}

// Fit runs fit shard o.Shard of staged run o.Run: it reads the row files of
// its arepa types from every rows shard, and fits and judges each type as a
// single run does. The outcome is written to staging and returned.
func Fit(ctx context.Context, o Options) (*Outcome, error) {
	log := logOf(o.Log)
	if err := ValidRun(o.Run); err != nil {
		return nil, err
	}
	if o.Shard.N == 0 {
		o.Shard = Shard{0, 1}
	}
	span, err := runSpan(o.Date, o.Train)
	if err != nil {
		return nil, err
	}
	techs, err := techniques(o)
	if err != nil {
		return nil, err
	}
	ms, err := readRowsManifests(ctx, o.Bucket, o.Run, o.Date, o.Phase)
	if err != nil {
		return nil, err
	}
	if types := (Shard{0, 1}).Pick(o.Types); !slices.Equal(types, ms[0].Types) {
		return nil, fmt.Errorf("the rows of run %s were read for types %v, this fit lists %v", o.Run, ms[0].Types, types)
	}
	kitchens, err := phaseKitchens(ctx, o.Bucket, o.Phase)
	if err != nil {
		return nil, err
	}
	var staged []string
	var counts metricCounts
	counts.add(metricCounts{})
	out := &Outcome{Date: o.Date, Phase: o.Phase, Shard: o.Shard.String(), Types: o.Shard.Pick(o.Types)}
	for _, m := range ms {
		staged = append(staged, m.Kitchens...)
		counts.add(m.Counts)
		out.Stats.Windows += m.Stats.Windows
		out.Stats.Missing += m.Stats.Missing
		out.Stats.Records += m.Stats.Records
		out.Stats.BadLines += m.Stats.BadLines
	}
	for _, k := range kitchens {
		out.Kitchens = append(out.Kitchens, k.Name)
	}
	if !slices.Equal(staged, out.Kitchens) {
		return nil, fmt.Errorf("the rows of run %s cover %d kitchens, the inventory lists %d of phase %d now: run the rows stage again",
			o.Run, len(staged), len(out.Kitchens), o.Phase)
	}
	log.Info("fit", "run", o.Run, "date", o.Date, "phase", o.Phase, "shard", out.Shard, "types", len(out.Types), "row_shards", len(ms))
	cur, champs, err := trustedChampions(ctx, o.Bucket, o.Public, out.Types, log)
	if err != nil {
		return nil, err
	}
	if cur != ms[0].ChampionRelease {
		return nil, fmt.Errorf("release %d is current, the rows were read under release %d: a release was published meanwhile; run the rows stage again",
			cur, ms[0].ChampionRelease)
	}
	out.ChampionRelease = cur
	for _, a := range out.Types {
		var parts []*typeRows
		for _, m := range ms {
			ref, ok := m.Files[a]
			if !ok {
				continue
			}
			data, err := o.Bucket.Get(ctx, ref.Key, 0)
			if err != nil {
				return nil, fmt.Errorf("row file: %w", err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != ref.SHA256 {
				return nil, fmt.Errorf("row file %s is not the one its manifest names (sha256 differs)", ref.Key)
			}
			out.Stats.Bytes += int64(len(data))
			f, err := decodeRowFile(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref.Key, err)
			}
			if f.Run != o.Run || f.Arepa != a || f.Shard != m.Shard {
				return nil, fmt.Errorf("%s holds run %q type %q shard %s", ref.Key, f.Run, f.Arepa, f.Shard)
			}
			parts = append(parts, f.Parts...)
		}
		spec, champSpec := chooseSpecs(a, counts, champs[a], o.Train.MinMetricShare)
		rs, err := buildRowSet(parts, spec, champSpec, span)
		if err != nil {
			return nil, fmt.Errorf("arepa %s: %w", a, err)
		}
		out.Stats.Rows += rs.n()
		res := trainType(ctx, a, o, span, kitchens, spec, champSpec, rs, champs[a], techs, log)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out.Results = append(out.Results, res)
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("fit outcome: %w", err)
	}
	if err := o.Bucket.Put(ctx, FitOutcomeKey(o.Run, o.Shard), data, nil); err != nil {
		return nil, fmt.Errorf("fit outcome: %w", err)
	}
	return out, nil
}

// ReadFitOutcomes reads every fit shard's outcome of a run.
func ReadFitOutcomes(ctx context.Context, b Bucket, run string) ([]*Outcome, error) {
	if err := ValidRun(run); err != nil {
		return nil, err
	}
	_, outs, err := readShardJSON[Outcome](ctx, b, StagingPrefix(run)+"fit/", "fit outcome")
	if err != nil {
		return nil, err
	}
	for _, o := range outs[1:] {
		if o.Date != outs[0].Date || o.Phase != outs[0].Phase {
			return nil, fmt.Errorf("fit outcomes of run %s are of %s and %s", run, outs[0].Date, o.Date)
		}
	}
	return outs, nil
}

// Assemble publishes one release from every fit shard's outcome of a run,
// as a single run's Publish would, then removes the run's staging objects.
func Assemble(ctx context.Context, b Bucket, run string, p *Publisher) (*release.Manifest, []*Outcome, error) {
	outs, err := ReadFitOutcomes(ctx, b, run)
	if err != nil {
		return nil, nil, err
	}
	m, err := p.Publish(ctx, outs)
	if err != nil {
		return nil, outs, err
	}
	n, err := CleanStaging(ctx, b, run)
	if err != nil {
		// The release stands; stale staging only costs space.
		p.log().Warn("release published but staging not cleaned", "run", run, "err", err)
	} else {
		p.log().Info("staging cleaned", "run", run, "objects", n)
	}
	return m, outs, nil
}

// CleanStaging removes every object of a staged run and returns how many.
func CleanStaging(ctx context.Context, b Bucket, run string) (int, error) {
	if err := ValidRun(run); err != nil {
		return 0, err
	}
	d, ok := b.(Remover)
	if !ok {
		return 0, errors.New("this store cannot delete objects")
	}
	keys, err := b.List(ctx, StagingPrefix(run))
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := d.Remove(ctx, k); err != nil {
			return i, err
		}
	}
	return len(keys), nil
}

func logOf(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
