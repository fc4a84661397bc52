package train

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
)

var fixedNow = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

// stagedRun runs rows as rowShards workers, fit as fitShards, then
// assemble, on b.
func stagedRun(t *testing.T, b Bucket, priv ed25519.PrivateKey, techs []model.Technique, run string, rowShards, fitShards int) {
	t.Helper()
	ctx := context.Background()
	for i := range rowShards {
		o := options(b, priv, techs)
		o.Run, o.Shard = run, Shard{i, rowShards}
		if _, err := Rows(ctx, o); err != nil {
			t.Fatalf("rows %d/%d: %v", i, rowShards, err)
		}
	}
	for i := range fitShards {
		o := options(b, priv, techs)
		o.Run, o.Shard = run, Shard{i, fitShards}
		if _, err := Fit(ctx, o); err != nil {
			t.Fatalf("fit %d/%d: %v", i, fitShards, err)
		}
	}
	p := publisher(b, priv)
	p.Now = func() time.Time { return fixedNow }
	if _, _, err := Assemble(ctx, b, run, p); err != nil {
		t.Fatalf("assemble: %v", err)
	}
}

// sameModels fails unless a and b hold the same objects under models/, byte
// for byte (releases, signatures, model files, cards).
func sameModels(t *testing.T, a, b Bucket) {
	t.Helper()
	ctx := context.Background()
	ka, err := a.List(ctx, "models/")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.List(ctx, "models/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ka, " ") != strings.Join(kb, " ") || len(ka) == 0 {
		t.Fatalf("objects differ:\n%v\n%v", ka, kb)
	}
	for _, k := range ka {
		da, err := a.Get(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		db, err := b.Get(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Fatalf("%s differs between the single and the staged run:\n%s\n%s", k, da, db)
		}
	}
}

// TestStagedEqualsSingle: rows by kitchen, fit by type and assemble publish
// byte for byte the release one run publishes, on two nights in a row (the
// second judges champions), and leave no staging behind.
func TestStagedEqualsSingle(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	single := simDir(t)
	staged := copyDir(t, single)
	techs := []model.Technique{model.LogisticTechnique{}, model.GaussianTechnique{}}
	for night, shards := range [][2]int{{3, 2}, {2, 3}} {
		p := publisher(single, priv)
		p.Now = func() time.Time { return fixedNow }
		m := mustPublish(t, p, mustRun(t, options(single, priv, techs)))
		if m.Release != int64(night+1) {
			t.Fatalf("night %d: release %d", night, m.Release)
		}
		stagedRun(t, staged, priv, techs, "night-"+string(rune('a'+night)), shards[0], shards[1])
		sameModels(t, single, staged)
		if keys, err := staged.List(ctx, "staging/"); err != nil || len(keys) != 0 {
			t.Fatalf("staging left after assemble: %v %v", keys, err)
		}
	}
}

// recordingBucket records the keys read.
type recordingBucket struct {
	*objstore.Dir
	mu   sync.Mutex
	read []string
}

func (r *recordingBucket) record(key string) {
	r.mu.Lock()
	r.read = append(r.read, key)
	r.mu.Unlock()
}

func (r *recordingBucket) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	r.record(key)
	return r.Dir.Get(ctx, key, limit)
}

func (r *recordingBucket) GetInfo(ctx context.Context, key string, limit int64) ([]byte, objstore.Info, error) {
	r.record(key)
	return r.Dir.GetInfo(ctx, key, limit)
}

// TestRowsShardReadsOnlyItsKitchens: a rows worker reads each window of its
// own kitchens once and no other kitchen's.
func TestRowsShardReadsOnlyItsKitchens(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	rb := &recordingBucket{Dir: simDir(t)}
	o := options(rb, priv, nil)
	o.Run, o.Shard = "r1", Shard{1, 2}
	m, err := Rows(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	all, err := phaseKitchens(ctx, rb.Dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Kitchens) == 0 || len(m.Kitchens) >= len(all) {
		t.Fatalf("shard 1/2 has %d of %d kitchens", len(m.Kitchens), len(all))
	}
	mine := typeSet(m.Kitchens)
	perKitchen := map[string]int{}
	seen := map[string]bool{}
	for _, k := range rb.read {
		if !strings.HasPrefix(k, "windows/") {
			continue
		}
		kitchen := strings.Split(k, "/")[1]
		if !mine[kitchen] {
			t.Fatalf("rows shard 1/2 read %s of kitchen %s, not one of its %v", k, kitchen, m.Kitchens)
		}
		if seen[k] {
			t.Fatalf("read %s twice", k)
		}
		seen[k] = true
		perKitchen[kitchen]++
	}
	for _, k := range m.Kitchens {
		if perKitchen[k] != testTrain().SpanDays {
			t.Fatalf("kitchen %s: %d windows read, want %d", k, perKitchen[k], testTrain().SpanDays)
		}
	}
	if m.Stats.Bytes <= 0 || m.Stats.Windows != len(m.Kitchens)*testTrain().SpanDays {
		t.Fatalf("stats %+v", m.Stats)
	}
}

// TestStagesRefuseIncompleteOrForeignInput: fit before every rows shard has
// finished, fit of another date and a damaged row file are refused, as is
// assemble before every fit shard has finished.
func TestStagesRefuseIncompleteOrForeignInput(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	b := simDir(t)
	techs := []model.Technique{model.LogisticTechnique{}}
	o := options(b, priv, techs)
	o.Run, o.Shard = "r2", Shard{0, 2}
	m, err := Rows(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	fit := options(b, priv, techs)
	fit.Run = "r2"
	if _, err := Fit(ctx, fit); err == nil || !strings.Contains(err.Error(), "have not finished") {
		t.Fatalf("fit with rows shard 1/2 missing: %v", err)
	}
	o.Shard = Shard{1, 2}
	if _, err := Rows(ctx, o); err != nil {
		t.Fatal(err)
	}
	other := fit
	other.Date = "2026-11-25"
	if _, err := Fit(ctx, other); err == nil || !strings.Contains(err.Error(), "--date") {
		t.Fatalf("fit of another date: %v", err)
	}
	for _, ref := range m.Files {
		data, err := b.Get(ctx, ref.Key, 0)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)-1] ^= 1
		if err := b.Put(ctx, ref.Key, data, nil); err != nil {
			t.Fatal(err)
		}
		break
	}
	if _, err := Fit(ctx, fit); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("fit of a damaged row file: %v", err)
	}
	if _, _, err := Assemble(ctx, b, "r2", publisher(b, priv)); err == nil || !strings.Contains(err.Error(), "no fit outcomes") {
		t.Fatalf("assemble before fit: %v", err)
	}
	if _, err := Rows(ctx, Options{Run: "../x"}); err == nil {
		t.Fatal("run id with a slash accepted")
	}
}

func TestRowFileRoundTrip(t *testing.T) {
	one := &typeRows{Metrics: []string{"m"}, Day: []int32{9, 10}, Y: []bool{true, false}, Machine: []string{"k/m", "k/m"},
		X: make([]float64, 2*rowSpec([]string{"m"}, 7).Len())}
	one.X[3], one.X[5] = -0.1, math.NaN()
	two := &typeRows{Metrics: []string{"m", "t"}, Day: []int32{8, 9, 9}, Y: []bool{false, false, true},
		Machine: []string{"j/a", "j/b", "j/a"}, X: make([]float64, 3*rowSpec([]string{"m", "t"}, 7).Len()),
		ChampDim: 2, Champ: []float64{1, 2, 3, 4}, ChampRow: []int32{-1, 0, 1}}
	two.X[len(two.X)-1] = math.Copysign(0, -1)
	f := &rowFile{Run: "r", Arepa: "a", Shard: "0/1", Parts: []*typeRows{one, two}}
	data := encodeRowFile(f)
	if again := encodeRowFile(f); !bytes.Equal(data, again) {
		t.Fatal("row file encoding is not deterministic")
	}
	g, err := decodeRowFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.Run != "r" || g.Arepa != "a" || g.Shard != "0/1" || len(g.Parts) != 2 || g.rows() != 5 {
		t.Fatalf("round trip: %+v", g)
	}
	for i, want := range f.Parts {
		got := g.Parts[i]
		if !slices.Equal(got.Metrics, want.Metrics) || !slices.Equal(got.Day, want.Day) || !slices.Equal(got.Y, want.Y) ||
			!slices.Equal(got.Machine, want.Machine) || got.ChampDim != want.ChampDim || !slices.Equal(got.ChampRow, want.ChampRow) ||
			!slices.Equal(got.Champ, want.Champ) || len(got.X) != len(want.X) {
			t.Fatalf("part %d: got %+v, want %+v", i, got, want)
		}
		for j := range want.X {
			if math.Float64bits(got.X[j]) != math.Float64bits(want.X[j]) {
				t.Fatalf("part %d feature %d: %v, want %v", i, j, got.X[j], want.X[j])
			}
		}
	}
	flipped := bytes.Clone(data)
	flipped[len(rowFileMagic)] ^= 0x40
	for name, bad := range map[string][]byte{"empty": nil, "magic only": []byte(rowFileMagic), "cut": data[:len(data)-1],
		"trailing": append(bytes.Clone(data), 0), "v1": []byte("budare-rows v1\nshort"), "bad length": flipped} {
		if _, err := decodeRowFile(bad); err == nil {
			t.Errorf("%s: decoded a bad row file", name)
		}
	}
}

// FuzzDecodeRowFile: damaged row files give an error, never a panic or a
// part whose columns disagree.
func FuzzDecodeRowFile(f *testing.F) {
	p := &typeRows{Metrics: []string{"m"}, Day: []int32{9}, Y: []bool{true}, Machine: []string{"k/m"},
		X: make([]float64, rowSpec([]string{"m"}, 7).Len()), ChampDim: 1, Champ: []float64{2}, ChampRow: []int32{0}}
	f.Add(encodeRowFile(&rowFile{Run: "r", Arepa: "a", Shard: "0/1", Parts: []*typeRows{p}}))
	f.Add([]byte(rowFileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := decodeRowFile(data)
		if err != nil {
			return
		}
		for _, p := range g.Parts {
			n := p.n()
			if len(p.Day) != n || len(p.Machine) != n || len(p.X) != n*rowSpec(p.Metrics, 0).Len() ||
				(p.ChampDim > 0 && len(p.ChampRow) != n) {
				t.Fatalf("inconsistent part %+v", p)
			}
		}
	})
}

// TestFastDecoderSameRows: the fast window-line decoder gives the very rows
// encoding/json gives.
func TestFastDecoderSameRows(t *testing.T) {
	ctx := context.Background()
	b := simDir(t)
	ks, err := phaseKitchens(ctx, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := typeSet(options(b, testKey(t), nil).Types)
	var outs [2]*kitchenOut
	for i, reference := range []bool{false, true} {
		span, err := runSpan(runDate, testTrain())
		if err != nil {
			t.Fatal(err)
		}
		span.referenceDecoder = reference
		if outs[i], err = kitchenRows(ctx, b, ks[0], span, want, nil, nil, nil, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	if len(outs[0].rows) == 0 || outs[0].st.Records == 0 {
		t.Fatal("no rows")
	}
	for a, r := range outs[1].rows {
		f := outs[0].rows[a]
		if f == nil || !slices.Equal(f.Metrics, r.Metrics) || !slices.Equal(f.Day, r.Day) || !slices.Equal(f.Y, r.Y) ||
			!slices.Equal(f.Machine, r.Machine) || len(f.X) != len(r.X) {
			t.Fatalf("%s: rows differ between the fast decoder and encoding/json", a)
		}
		for i := range r.X {
			if math.Float64bits(f.X[i]) != math.Float64bits(r.X[i]) {
				t.Fatalf("%s: feature %d is %v with the fast decoder, %v with encoding/json", a, i, f.X[i], r.X[i])
			}
		}
	}
	if !reflect.DeepEqual(outs[0].counts, outs[1].counts) || outs[0].st != outs[1].st {
		t.Fatalf("counts or stats differ: %+v %+v", outs[0].st, outs[1].st)
	}
}
