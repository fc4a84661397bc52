package dashboard

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// fakeStore is an in-memory Store that counts reads and can be made to fail.
type fakeStore struct {
	mu    sync.Mutex
	objs  map[string][]byte
	err   error // returned by every call when set
	calls int
}

func newFakeStore() *fakeStore { return &fakeStore{objs: map[string][]byte{}} }

func (f *fakeStore) put(key string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objs[key] = b
}

func (f *fakeStore) del(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objs, key)
}

func (f *fakeStore) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeStore) Get(_ context.Context, key string, limit int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	b, ok := f.objs[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, objstore.ErrNotFound)
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("get %s: object larger than %d bytes", key, limit)
	}
	return slices.Clone(b), nil
}

func (f *fakeStore) List(_ context.Context, prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var keys []string
	for k := range f.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// seedNow is the clock of the seeded data: the morning of 2026-11-26 UTC.
var seedNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func ptr(x float64) *float64 { return &x }

// seedMachine is one machine's action in the seeded data, per day offset.
type seedMachine struct {
	machine string
	levels  []string // oldest first, one per day of k-001's week
	risk    float64
	reasons []string
}

// seedK001 is a week of k-001's actions; the last day is today.
var seedK001 = []seedMachine{
	{"m-01", []string{"none", "none", "inspect", "service", "service", "service", "stop"}, 0.91, []string{"vibration_mm_s trend +38% over 7 days", "2 HEATER_OPEN faults in 7 days"}},
	{"m-02", []string{"none", "none", "none", "none", "none", "inspect", "service"}, 0.64, []string{"plate_temp_c spread x2.1 vs fleet"}},
	{"m-03", []string{"none", "none", "none", "none", "none", "none", "inspect"}, 0.41, []string{"motor_current_a level +12%"}},
	{"m-04", []string{"none", "none", "none", "none", "none", "none", "none"}, 0.05, nil},
	{"m-05", []string{"", "", "", "", "", "unknown", "unknown"}, -1, []string{"only 2 days of data (need 7)"}},
	// A name with markup must be shown as text, never parsed.
	{"m-<b>x</b>", []string{"", "", "", "", "", "", "none"}, 0.02, []string{"<img src=x onerror=alert(1)>"}},
}

// seed fills a store with an inventory, a week of actions for k-001, a day
// for k-002 as an object with an "actions" array, nothing for k-003, and two
// signed model releases with cards.
func seed(t testing.TB, put func(key string, b []byte)) {
	t.Helper()
	put(InventoryKey, []byte("kitchen,phase,timezone\nk-001,1,America/Caracas\nk-002,1,Europe/Madrid\nk-003,2,UTC\n"))
	days := make([]string, 7)
	for i := range days {
		days[i] = seedNow.AddDate(0, 0, i-6).Format(time.DateOnly)
	}
	for i, day := range days {
		var acts []map[string]any
		for _, m := range seedK001 {
			if m.levels[i] == "" {
				continue
			}
			a := map[string]any{"v": 1, "date": day, "kitchen": "k-001", "machine": m.machine,
				"level": m.levels[i], "reasons": m.reasons, "model_release": 12, "data_days": 7,
				"decided_at": day + "T05:30:00-04:00"}
			if m.risk >= 0 {
				a["risk"] = m.risk
				a["by_arepa"] = map[string]float64{"reina-pepiada": m.risk, "domino": m.risk / 2}
			} else {
				a["risk"] = nil
				a["data_days"] = 2
			}
			acts = append(acts, a)
		}
		put(actionsKey("k-001", day), mustJSON(t, acts))
	}
	put(actionsKey("k-002", days[6]), mustJSON(t, map[string]any{
		"v": 1, "date": days[6], "kitchen": "k-002",
		"actions": []map[string]any{
			{"machine": "m-10", "level": "none", "risk": 0.1, "reasons": []string{}, "model_release": 12, "data_days": 7},
			{"machine": "m-11", "level": "inspect", "risk": 0.45, "reasons": []string{"energy_wh level +9%"}, "model_release": 12, "data_days": 7},
		},
	}))

	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []int64{11, 12} {
		m := &release.Manifest{Release: rel, Created: seedNow.Add(-time.Duration(13-rel) * 24 * time.Hour),
			Expires: seedNow.Add(30 * 24 * time.Hour), Phase: 1, Models: map[string]release.Entry{}}
		for i, arepa := range []string{"domino", "reina-pepiada"} {
			model := []byte(fmt.Sprintf(`{"technique":"logistic","release":%d,"arepa":%q}`, rel, arepa))
			e := release.Describe(release.ModelKey(arepa, rel), model)
			e.Technique = []string{"logistic", "gaussian"}[i]
			e.Trained = rel
			e.Threshold = 0.35
			e.Holdout = map[string]float64{"roc_auc": 0.9712 - float64(i)/100, "pr_auc": 0.8123, "f1": 0.7861, "precision": 0.8, "recall": 0.77, "brier": 0.061}
			m.Models[arepa] = e
			put(e.Key, model)
			put(release.CardKey(arepa, rel), mustJSON(t, map[string]any{
				"arepa": arepa, "release": rel, "rows": 18234, "positives": 412,
				"span":     map[string]any{"from": "2026-10-15", "to": "2026-11-25"},
				"kitchens": []string{"k-001", "k-002"},
				"candidates": []map[string]any{
					{"technique": "logistic", "role": "challenger", "chosen": i == 0,
						"holdout": map[string]any{"roc_auc": 0.9712, "pr_auc": 0.8123, "f1": 0.7861, "precision": 0.8, "recall": 0.77, "brier": 0.061, "threshold": 0.35}},
					{"technique": "gaussian", "role": "challenger", "chosen": i == 1,
						"holdout": map[string]any{"roc_auc": 0.9533, "pr_auc": 0.7345, "f1": 0.7012, "precision": 0.7, "recall": 0.70, "brier": 0.08, "threshold": 0.5}},
					{"technique": "logistic", "role": "champion", "chosen": false,
						"holdout": map[string]any{"roc_auc": 0.9411, "pr_auc": nil, "f1": 0.69, "brier": 0.09}},
				},
			}))
		}
		mb, sig, err := release.Sign(m, priv)
		if err != nil {
			t.Fatal(err)
		}
		put(release.ManifestKey(rel), mb)
		put(release.SigKey(rel), sig)
	}
	put(release.CurrentKey, release.FormatCurrent(12))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
