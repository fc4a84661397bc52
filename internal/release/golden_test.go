package release

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
)

// The golden release: testdata/bucket holds release 1 as the trainer
// publishes it (models/current, the signed manifest and one model file),
// signed with the key whose public half is testdata/release.pub. It
// expires in 2126, so the agent's tests can install it today. The agent's
// and the trainer's tests load the same files.
const goldenRelease = 1

// goldenKey is a fixed test key: ed25519 signatures are deterministic, so
// the same manifest always has the same signature file.
func goldenKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "budare golden release test key!!")
	return ed25519.NewKeyFromSeed(seed)
}

func goldenModel() *model.Model {
	spec := features.Spec{Metrics: []string{"plate_temp_c", "vibration_mm_s"}, WindowDays: 7}
	n := len(spec.Names())
	m := &model.Model{V: model.Version, Arepa: "domino", Technique: model.TechLogistic, Features: spec,
		Threshold: 0.3, Mean: make([]float64, n), Scale: make([]float64, n),
		Logistic: &model.Logistic{Weights: make([]float64, n), Bias: -3, Lambda: 0.01}}
	for i := range n {
		m.Scale[i] = 1
		m.Logistic.Weights[i] = 0.125 * float64(i%3)
	}
	return m
}

func goldenManifest(modelFile []byte) *Manifest {
	e := Describe(ModelKey("domino", goldenRelease), modelFile)
	e.Card, e.Technique, e.Threshold, e.Trained = CardKey("domino", goldenRelease), model.TechLogistic, 0.3, goldenRelease
	e.Holdout = map[string]float64{"f1": 0.75, "pr_auc": 0.5}
	return &Manifest{V: Version, Release: goldenRelease,
		Created: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC), Expires: time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC),
		Phase: 1, Models: map[string]Entry{"domino": e}, Levels: &Levels{Inspect: 0.3, Service: 0.5, Stop: 0.8}}
}

func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "bucket")
	at := func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }
	priv := goldenKey()
	pub := priv.Public().(ed25519.PublicKey)

	mf, err := goldenModel().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := goldenManifest(mf)
	raw, sig, err := Sign(want, priv)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, at(ModelKey("domino", goldenRelease)), mf)
	golden.Check(t, at(ManifestKey(goldenRelease)), raw)
	golden.Check(t, at(SigKey(goldenRelease)), sig)
	golden.Check(t, at(CurrentKey), FormatCurrent(goldenRelease))
	golden.Check(t, filepath.Join("testdata", "release.pub"), []byte(base64.StdEncoding.EncodeToString(pub)+"\n"))

	ctx := context.Background()
	src := objstore.NewDir(dir)
	n, err := Current(ctx, src)
	if err != nil || n != goldenRelease {
		t.Fatalf("Current(golden) = %d, %v", n, err)
	}
	l, err := Load(ctx, src, Published(n), LoadOptions{Policy: Policy{PublicKey: pub, Now: want.Created, Release: n}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Manifest, want) {
		t.Errorf("Load(golden) manifest = %+v, want %+v", l.Manifest, want)
	}
	if l.Models["domino"] == nil || len(l.Errs) != 0 {
		t.Errorf("Load(golden) models %v, errors %v", l.Models, l.Errs)
	}
}

func TestLoadRefuses(t *testing.T) {
	ctx := context.Background()
	priv := goldenKey()
	pub := priv.Public().(ed25519.PublicKey)
	mf, err := goldenModel().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	put := func(b *objstore.Mem, key string, data []byte) {
		if err := b.Put(ctx, key, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(modelFile []byte, n int64) *objstore.Mem {
		b := objstore.NewMem()
		m := goldenManifest(mf)
		m.Release = n
		raw, sig, err := Sign(m, priv)
		if err != nil {
			t.Fatal(err)
		}
		put(b, ManifestKey(goldenRelease), raw)
		put(b, SigKey(goldenRelease), sig)
		put(b, ModelKey("domino", goldenRelease), modelFile)
		return b
	}
	_, other, _ := ed25519.GenerateKey(nil)
	tests := []struct {
		name    string
		b       *objstore.Mem
		opt     LoadOptions
		wantErr error
	}{
		{"wrong key", publish(mf, 1), LoadOptions{Policy: Policy{PublicKey: other.Public().(ed25519.PublicKey)}}, ErrSignature},
		{"expired", publish(mf, 1), LoadOptions{Policy: Policy{PublicKey: pub, Now: time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC)}}, ErrExpired},
		{"expired, unsigned read", publish(mf, 1), LoadOptions{Policy: Policy{Now: time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC)}}, ErrExpired},
		{"rollback", publish(mf, 1), LoadOptions{Policy: Policy{PublicKey: pub, MinRelease: 2}}, ErrRollback},
		{"manifest of another release", publish(mf, 2), LoadOptions{Policy: Policy{PublicKey: pub, Release: 1}}, ErrMalformed},
		{"model bytes changed", publish(append(mf[:len(mf)-2:len(mf)-2], "} "...), 1), LoadOptions{Policy: Policy{PublicKey: pub}}, ErrHash},
		{"model larger", publish(append(mf[:len(mf):len(mf)], ' '), 1), LoadOptions{Policy: Policy{PublicKey: pub}}, ErrHash},
		{"model above the limit", publish(mf, 1), LoadOptions{Policy: Policy{PublicKey: pub}, MaxModelBytes: int64(len(mf) - 1)}, ErrTooLarge},
		{"held bytes changed", publish(mf, 1), LoadOptions{Policy: Policy{PublicKey: pub},
			Reuse: func(string, Entry) []byte { return append(mf[:len(mf)-1:len(mf)-1], ' ') }}, ErrHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(ctx, tc.b, Published(1), tc.opt)
			if !errors.Is(err, tc.wantErr) || !IsRefusal(err) {
				t.Fatalf("Load = %v, want %v", err, tc.wantErr)
			}
		})
	}
	t.Run("partial keeps the model's error", func(t *testing.T) {
		l, err := Load(ctx, publish(append(mf[:len(mf):len(mf)], ' '), 1), Published(1), LoadOptions{Policy: Policy{PublicKey: pub}, Partial: true})
		if err != nil || l.Models["domino"] != nil || !errors.Is(l.Errs["domino"], ErrHash) {
			t.Fatalf("Load partial = %+v, %v", l, err)
		}
	})
	t.Run("missing model is a source error, not a refusal", func(t *testing.T) {
		b := publish(mf, 1)
		if err := b.Remove(ctx, ModelKey("domino", 1)); err != nil {
			t.Fatal(err)
		}
		_, err := Load(ctx, b, Published(1), LoadOptions{Policy: Policy{PublicKey: pub}})
		if !errors.Is(err, objstore.ErrNotFound) || IsRefusal(err) {
			t.Fatalf("Load = %v", err)
		}
	})
}

// TestLoadReuse: held bytes that check are used instead of a download.
func TestLoadReuse(t *testing.T) {
	ctx := context.Background()
	src := objstore.NewDir(filepath.Join("testdata", "bucket"))
	held, err := src.Get(ctx, ModelKey("domino", goldenRelease), 0)
	if err != nil {
		t.Fatal(err)
	}
	empty := objstore.NewMem() // the model is not there: only Reuse can give it
	for _, key := range []string{ManifestKey(goldenRelease), SigKey(goldenRelease)} {
		b, err := src.Get(ctx, key, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := empty.Put(ctx, key, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	pub := goldenKey().Public().(ed25519.PublicKey)
	asked := 0
	l, err := Load(ctx, empty, Published(goldenRelease), LoadOptions{Policy: Policy{PublicKey: pub},
		Reuse: func(a string, e Entry) []byte { asked++; return held }})
	if err != nil || asked != 1 || l.Models["domino"] == nil {
		t.Fatalf("Load with held model: %v (asked %d)", err, asked)
	}
}
