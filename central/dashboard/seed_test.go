package dashboard

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/agentstatus"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/window"
)

// fakeStore is an in-memory Store that counts reads and can be made to fail.
type fakeStore struct {
	mu    sync.Mutex
	objs  map[string][]byte
	mtime map[string]time.Time // LastModified; seedNow when unset
	keys  []string             // sorted keys of objs, for prefix listing
	err   error                // returned by every call when set
	calls int
}

func newFakeStore() *fakeStore {
	return &fakeStore{objs: map[string][]byte{}, mtime: map[string]time.Time{}}
}

// putAt stores an object modified at t.
func (f *fakeStore) putAt(key string, b []byte, t time.Time) {
	f.put(key, b)
	f.mu.Lock()
	f.mtime[key] = t
	f.mu.Unlock()
}

func (f *fakeStore) ListInfo(_ context.Context, prefix string) ([]objstore.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	i, _ := slices.BinarySearch(f.keys, prefix)
	var out []objstore.Info
	for ; i < len(f.keys) && strings.HasPrefix(f.keys[i], prefix); i++ {
		k := f.keys[i]
		sum := sha256.Sum256(f.objs[k])
		mt, ok := f.mtime[k]
		if !ok {
			mt = seedNow
		}
		out = append(out, objstore.Info{Key: k, Size: int64(len(f.objs[k])), Modified: mt, ETag: hex.EncodeToString(sum[:8])})
	}
	return out, nil
}

func (f *fakeStore) put(key string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.objs[key]; !ok {
		i, _ := slices.BinarySearch(f.keys, key)
		f.keys = slices.Insert(f.keys, i, key)
	}
	f.objs[key] = b
}

func (f *fakeStore) del(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, ok := slices.BinarySearch(f.keys, key); ok {
		f.keys = slices.Delete(f.keys, i, i+1)
	}
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
		return nil, fmt.Errorf("get %s: %w (%d bytes)", key, objstore.ErrTooLarge, limit)
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
	i, _ := slices.BinarySearch(f.keys, prefix)
	var keys []string
	for ; i < len(f.keys) && strings.HasPrefix(f.keys[i], prefix); i++ {
		keys = append(keys, f.keys[i])
	}
	return keys, nil
}

func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// seedNow is the clock of the seeded data: the morning of 2026-11-26 UTC.
var seedNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

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

// seed fills a store with what the agent and the trainer write: an
// inventory, a week of k-001's actions (action.Day, the agent's file), a
// day of k-002 as a bare JSON array, nothing for k-003, and two signed
// model releases with cards (train.Card). In release 12 domino gets a new
// model and reina-pepiada keeps release 11's.
func seed(t testing.TB, put func(key string, b []byte)) { seedAt(t, put, seedNow) }

// seedAt seeds as seed does with now as the morning of the last day, and
// adds what the fleet pages read: k-001's and k-002's windows (cook metrics
// and events; k-002 misses some days), agent status objects (k-001 fresh,
// k-002 three hours old, none for k-003) and a backtest report.
func seedAt(t testing.TB, put func(key string, b []byte), now time.Time) {
	t.Helper()
	put(inventory.Key, []byte("kitchen,phase,timezone\nk-001,1,America/Caracas\nk-002,1,Europe/Madrid\nk-003,2,UTC\n"))
	days := make([]string, 7)
	for i := range days {
		days[i] = now.AddDate(0, 0, i-6).Format(time.DateOnly)
	}
	seedWindows(t, put, now)
	put(agentstatus.Key("k-001"), mustJSON(t, agentstatus.Status{V: 1, Kitchen: "k-001", Agent: "0.9.1", At: now.Add(-5 * time.Minute),
		Release: 12, LastWindow: days[5], LastUploadAt: now.Add(-8 * time.Hour), LastDecision: days[6], LastDecidedAt: now.Add(-3 * time.Hour), StoreBytes: 48 << 20}))
	put(agentstatus.Key("k-002"), mustJSON(t, agentstatus.Status{V: 1, Kitchen: "k-002", Agent: "0.9.0", At: now.Add(-3 * time.Hour),
		Release: 11, LastWindow: days[3], PendingWindows: 2, LastDecision: days[6], StoreBytes: 12 << 20}))
	put(backtestPrefix+days[0]+"_"+days[6]+"_weekly.json", []byte(`{"from":"`+days[0]+`","to":"`+days[6]+`","retrain":"weekly","kitchens":["k-001","k-002"],"releases":[{"day":"`+days[0]+`","release":1}],`+
		`"report":{"chain":{"machine_days":56,"positive":6,"pr_auc":0.412,"roc_auc":0.861,"service":{"precision":0.5,"recall":0.33},"inspect":{"precision":0.3,"recall":0.66},"failures":2}}}`))
	for i, day := range days {
		decided := now.AddDate(0, 0, i-6).Add(-3 * time.Hour)
		d := action.Day{V: 1, Date: day, Kitchen: "k-001", ModelRelease: 12, DecidedAt: decided, Counts: map[string]int{}}
		for _, m := range seedK001 {
			if m.levels[i] == "" {
				continue
			}
			a := action.Action{V: 1, Date: day, Kitchen: "k-001", Machine: m.machine, Level: m.levels[i],
				Reasons: m.reasons, ModelRelease: 12, DataDays: 7, DecidedAt: decided}
			if m.risk >= 0 {
				a.Risk = m.risk
				a.ByArepa = map[string]float64{"reina-pepiada": m.risk, "domino": m.risk / 2}
			} else {
				a.DataDays = 2 // the agent writes risk 0 for an unknown level
			}
			d.Counts[a.Level]++
			d.Actions = append(d.Actions, a)
		}
		put(action.Key("k-001", day), mustJSON(t, d))
	}
	put(action.Key("k-002", days[6]), mustJSON(t, []map[string]any{
		{"v": 1, "date": days[6], "kitchen": "k-002", "machine": "m-10", "level": "none", "risk": 0.1, "reasons": []string{}, "model_release": 12, "data_days": 7},
		{"v": 1, "date": days[6], "kitchen": "k-002", "machine": "m-11", "level": "inspect", "risk": 0.45, "reasons": []string{"energy_wh level +9%"}, "model_release": 12, "data_days": 7},
	}))

	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	metrics := func(roc, pr, f1 float64) *model.Metrics {
		return &model.Metrics{ROCAUC: roc, PRAUC: pr, F1: f1, Precision: 0.8, Recall: 0.77, Brier: 0.061, Threshold: 0.35, N: 1000, Positives: 40}
	}
	entries := map[int64]map[string]release.Entry{}
	for _, rel := range []int64{11, 12} {
		entries[rel] = map[string]release.Entry{}
		for _, arepa := range []string{"domino", "reina-pepiada"} {
			card := &train.Card{V: 1, Arepa: arepa, Release: rel, Date: "2026-11-26", Phase: 1,
				SpanFirst: "2026-10-15", SpanLast: "2026-11-25", HorizonDays: 3, Kitchens: []string{"k-001", "k-002"},
				Slices: map[string]train.Part{
					"train":      {From: "2026-10-22", To: "2026-11-08", Rows: 12000, Positives: 300, Balance: 0.025},
					"validation": {From: "2026-11-11", To: "2026-11-15", Rows: 3000, Positives: 70, Balance: 0.023333333},
					"holdout":    {From: "2026-11-18", To: "2026-11-22", Rows: 3234, Positives: 42, Balance: 0.012987012987},
				},
				Features: []string{"plate_temp_c_mean", "vibration_mm_s_slope"}, Metric: "pr_auc", Margin: 0.01, Threshold: 0.35,
				Candidates: []train.CandidateCard{
					{Technique: "logistic", Holdout: metrics(0.9712, 0.8123, 0.7861)},
					{Technique: "gaussian", Holdout: metrics(0.9533, 0.7345, 0.7012)},
					{Technique: "boosted", Error: "too few positives to boost"},
				},
				Chosen:  "logistic",
				PRCurve: prCurve(0.9, 1, 0.1, 0.7, 0.9, 0.4, 0.5, 0.8, 0.6, 0.35, 0.7, 0.77, 0.2, 0.4, 0.9, 0.05, 0.05, 1),
			}
			key := release.ModelKey(arepa, rel)
			e := release.Entry{}
			switch {
			case rel == 11:
				card.Decision = "first model for this type"
			case arepa == "domino":
				card.Champion = &train.ChampionCard{Release: 11, Technique: "logistic", Holdout: metrics(0.9411, 0.7001, 0.69)}
				card.Decision = "challenger logistic pr_auc 0.8123 beats the current 0.7001 by at least 0.0100"
			default: // kept: the entry points at release 11's model file
				card.Champion = &train.ChampionCard{Release: 11, Technique: "gaussian", Holdout: metrics(0.9612, 0.8200, 0.79)}
				card.Decision = "challenger logistic pr_auc 0.8123 does not beat the current 0.8200 by 0.0100; the current model stays"
				e = entries[11][arepa]
			}
			if e.Key == "" {
				m := []byte(fmt.Sprintf(`{"technique":"logistic","release":%d,"arepa":%q}`, rel, arepa))
				put(key, m)
				e = release.Describe(key, m)
				e.Technique, e.Trained, e.Threshold = "logistic", rel, 0.35
				if arepa == "reina-pepiada" {
					e.Technique = "gaussian"
				}
			}
			e.Holdout = map[string]float64{"roc_auc": 0.9712, "pr_auc": 0.8123, "f1": 0.7861, "precision": 0.8, "recall": 0.77, "brier": 0.061}
			if arepa == "reina-pepiada" && rel == 12 {
				e.Holdout["roc_auc"] = 0.9612
			}
			e.Card = release.CardKey(arepa, rel)
			put(e.Card, mustJSON(t, card))
			entries[rel][arepa] = e
		}
		m := &release.Manifest{Release: rel, Created: now.Add(-time.Duration(13-rel) * 24 * time.Hour),
			Expires: now.Add(30 * 24 * time.Hour), Phase: 1, Models: entries[rel], Levels: &release.Levels{Inspect: 0.3, Service: 0.6, Stop: 0.85}}
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

// seedWindows writes k-001's windows for the week before now (every
// machine's cooks; m-01 has faults and a maintenance, m-02 a failure) and
// k-002's for some of those days only.
func seedWindows(t testing.TB, put func(key string, b []byte), now time.Time) {
	t.Helper()
	write := func(kitchen, day string, recs []record.Record) {
		enc, err := window.NewEncoder(1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := enc.Line(mustJSON(t, r)); err != nil {
				t.Fatal(err)
			}
		}
		w, err := enc.Finish()
		if err != nil {
			t.Fatal(err)
		}
		put(window.Key(kitchen, day), w.Data)
	}
	for i := range 7 {
		d := now.AddDate(0, 0, i-7)
		day := d.Format(time.DateOnly)
		base := time.Date(d.Year(), d.Month(), d.Day(), 8, 0, 0, 0, time.UTC)
		var recs []record.Record
		for m, sm := range seedK001[:4] {
			for c := range 6 {
				recs = append(recs, record.Record{Machine: sm.machine, Type: record.TypeCook, TS: base.Add(time.Duration(c) * time.Hour), Seq: int64(c),
					Arepa: "domino", Metrics: map[string]float64{
						"vibration_mm_s":  2 + float64(m) + float64(i)*0.4*float64(4-m)/4 + float64(c)*0.05,
						"plate_temp_c":    180 + float64(i*m) + float64(c),
						"motor_current_a": 4 + 0.1*float64(i+c),
					}})
			}
		}
		switch i {
		case 2:
			recs = append(recs, record.Record{Machine: "m-01", Type: record.TypeEvent, TS: base.Add(2 * time.Hour), Kind: record.KindMaintenance, Code: "BELT", Note: "belt tensioned"})
			recs = append(recs, record.Record{Machine: "m-02", Type: record.TypeEvent, TS: base.Add(5 * time.Hour), Kind: record.KindFailure, Code: "MOTOR"})
		case 4, 6:
			recs = append(recs, record.Record{Machine: "m-01", Type: record.TypeEvent, TS: base.Add(9 * time.Hour), Kind: record.KindFault, Code: "HEATER_OPEN"})
		}
		write("k-001", day, recs)
		if i == 0 || i >= 4 {
			write("k-002", day, recs[:6])
		}
	}
}

// prCurve makes curve points from threshold, precision, recall triples.
func prCurve(v ...float64) []model.PRPoint {
	var out []model.PRPoint
	for i := 0; i+2 < len(v); i += 3 {
		out = append(out, model.PRPoint{Threshold: v[i], Precision: v[i+1], Recall: v[i+2]})
	}
	return out
}
