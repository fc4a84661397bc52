// Package modelsynctest builds signed model releases for tests and
// benchmarks of the agent's model sync and decision: a small logistic model
// per arepa type whose risk rises with the vibration trend, and a publisher
// that writes a release in the central store's layout.
package modelsynctest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// Metrics are the cook metrics the fixture models use.
var Metrics = []string{"plate_temp_c", "vibration_mm_s"}

// Model returns a logistic model for arepa whose risk is driven by the
// vibration_mm_s trend (slope per day): about 0.05 for a flat trend, above
// 0.9 for +0.3 mm/s per day. bias shifts every risk.
func Model(arepa string, bias float64) *model.Model {
	spec := features.Spec{Metrics: Metrics, WindowDays: 7}
	names := spec.Names()
	n := len(names)
	m := &model.Model{V: model.Version, Arepa: arepa, Technique: model.TechLogistic, Features: spec,
		Threshold: 0.3, Mean: make([]float64, n), Scale: make([]float64, n),
		Logistic: &model.Logistic{Weights: make([]float64, n), Bias: -3 + bias, Lambda: 0.01}}
	for i, nm := range names {
		m.Scale[i] = 1
		switch nm {
		case "plate_temp_c:mean", "plate_temp_c:min", "plate_temp_c:max":
			m.Mean[i] = 230
		case "vibration_mm_s:mean", "vibration_mm_s:min", "vibration_mm_s:max":
			m.Mean[i] = 1.4
		case "vibration_mm_s:slope":
			m.Scale[i] = 0.05
			m.Logistic.Weights[i] = 1.0
		case "faults":
			m.Logistic.Weights[i] = 0.5
		case features.FeatActiveDays:
			m.Mean[i] = 7
		case features.FeatCyclesPerDay:
			m.Mean[i] = 50
			m.Scale[i] = 20
		}
	}
	return m
}

// Putter writes an object; an objstore.Bucket (via a closure) and Mem satisfy it.
type Putter func(ctx context.Context, key string, data []byte) error

// Release is what Publish wrote, for tests that tamper with it.
type Release struct {
	Manifest    *release.Manifest
	ManifestRaw []byte
	Sig         []byte
	Files       map[string][]byte // by object key
}

// Options of Publish.
type Options struct {
	Release int64
	Created time.Time
	Expires time.Time // default Created + 30 days
	Models  map[string]*model.Model
	Key     ed25519.PrivateKey
	// NoCurrent leaves models/current alone.
	NoCurrent bool
}

// Publish writes the models, the signed manifest and models/current.
func Publish(ctx context.Context, put Putter, o Options) (*Release, error) {
	if o.Created.IsZero() {
		o.Created = time.Now().UTC().Add(-time.Hour)
	}
	if o.Expires.IsZero() {
		o.Expires = o.Created.Add(30 * 24 * time.Hour)
	}
	m := &release.Manifest{V: release.Version, Release: o.Release, Created: o.Created, Expires: o.Expires,
		Models: map[string]release.Entry{}}
	out := &Release{Files: map[string][]byte{}}
	for a, md := range o.Models {
		b, err := md.Marshal()
		if err != nil {
			return nil, err
		}
		key := release.ModelKey(a, o.Release)
		e := release.Describe(key, b)
		e.Technique, e.Threshold, e.Trained = md.Technique, md.Threshold, o.Release
		m.Models[a] = e
		out.Files[key] = b
		if err := put(ctx, key, b); err != nil {
			return nil, fmt.Errorf("put %s: %w", key, err)
		}
	}
	raw, sig, err := release.Sign(m, o.Key)
	if err != nil {
		return nil, err
	}
	out.Manifest, out.ManifestRaw, out.Sig = m, raw, sig
	if err := put(ctx, release.ManifestKey(o.Release), raw); err != nil {
		return nil, err
	}
	if err := put(ctx, release.SigKey(o.Release), sig); err != nil {
		return nil, err
	}
	if !o.NoCurrent {
		if err := put(ctx, release.CurrentKey, release.FormatCurrent(o.Release)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Mem is an in-memory object store.
type Mem struct {
	mu   sync.Mutex
	objs map[string][]byte
	// Down makes every Get fail as if central were unreachable.
	Down bool
	Gets int
}

// SetDown sets Down under the lock, for tests whose syncer runs in another
// goroutine.
func (m *Mem) SetDown(down bool) {
	m.mu.Lock()
	m.Down = down
	m.mu.Unlock()
}

// Put stores an object.
func (m *Mem) Put(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	m.objs[key] = append([]byte(nil), data...)
	return nil
}

// Get reads an object, refusing one above limit like objstore.Get.
func (m *Mem) Get(_ context.Context, key string, limit int64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Gets++
	if m.Down {
		return nil, fmt.Errorf("get %s: central unreachable", key)
	}
	b, ok := m.objs[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, objstore.ErrNotFound)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("get %s: %w (%d bytes)", key, objstore.ErrTooLarge, limit)
	}
	return append([]byte(nil), b...), nil
}
