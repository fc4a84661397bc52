package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

type memPut struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (m *memPut) Put(_ context.Context, key string, data []byte, _ map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string][]byte{}
	}
	m.m[key] = bytes.Clone(data)
	return nil
}

func small() Config {
	c := Defaults()
	c.Kitchens, c.Machines, c.Days = 3, 4, 24
	return c
}

func TestDeterministic(t *testing.T) {
	a, b := &memPut{}, &memPut{}
	ta, err := Write(context.Background(), small(), a, 2)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Write(context.Background(), small(), b, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.m) != 3*24+2 {
		t.Fatalf("wrote %d objects, want %d", len(a.m), 3*24+2)
	}
	for k, v := range a.m {
		if sha256.Sum256(v) != sha256.Sum256(b.m[k]) {
			t.Fatalf("%s differs between two runs with the same seed", k)
		}
	}
	ja, _ := json.Marshal(ta)
	jb, _ := json.Marshal(tb)
	if !bytes.Equal(ja, jb) {
		t.Fatal("ground truth differs between two runs with the same seed")
	}
	c := small()
	c.Seed = 2
	other := &memPut{}
	if _, err := Write(context.Background(), c, other, 2); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.m[window.Key("k-001", "2026-11-25")], a.m[window.Key("k-001", "2026-11-25")]) {
		t.Fatal("another seed gave the same window")
	}
}

// TestDegradationVisible checks the property the trainer relies on: in the
// days before a failure the machine's metrics drift away from its own
// earlier baseline, and every failure is in the emitted events.
func TestDegradationVisible(t *testing.T) {
	type key struct{ k, m, day string }
	events := map[key][]record.Record{}
	vib := map[key][]float64{}
	temp := map[key][]float64{}
	cur := map[key][]float64{}
	var days []string
	cfg := Defaults()
	cfg.Kitchens, cfg.Machines, cfg.Days = 3, 8, 60
	truth, err := Generate(context.Background(), cfg, func(k Kitchen, day string, recs []record.Record) error {
		loc, _ := time.LoadLocation(k.Timezone)
		if k.Name == "k-001" {
			days = append(days, day)
		}
		for _, r := range recs {
			if got := record.LocalDay(r.TS, loc); got != day {
				t.Fatalf("record at %s is on local day %s, emitted with %s", r.TS, got, day)
			}
			kk := key{k.Name, r.Machine, day}
			if r.Type == record.TypeEvent {
				events[kk] = append(events[kk], r)
				continue
			}
			vib[kk] = append(vib[kk], r.Metrics["vibration_mm_s"])
			temp[kk] = append(temp[kk], r.Metrics["plate_temp_c"])
			cur[kk] = append(cur[kk], r.Metrics["motor_current_a"])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(truth.Failures) < 5 {
		t.Fatalf("only %d failures in the small simulation; the trainer needs positives", len(truth.Failures))
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	drifted := 0
	for _, f := range truth.Failures {
		found := false
		for _, e := range events[key{f.Kitchen, f.Machine, f.Day}] {
			found = found || (e.Kind == record.KindFailure && e.Code == f.Code)
		}
		if !found {
			t.Fatalf("failure %+v not among the emitted events", f)
		}
		before, _ := time.Parse(time.DateOnly, f.Day)
		prev := key{f.Kitchen, f.Machine, before.AddDate(0, 0, -1).Format(time.DateOnly)}
		onset, _ := time.Parse(time.DateOnly, f.Onset)
		base := key{f.Kitchen, f.Machine, onset.AddDate(0, 0, -2).Format(time.DateOnly)}
		if len(vib[prev]) == 0 || len(vib[base]) == 0 {
			continue
		}
		switch f.Mode {
		case "heater":
			if mean(temp[prev]) < mean(temp[base])-3 {
				drifted++
			}
		case "motor":
			if mean(cur[prev]) > mean(cur[base])+0.15 {
				drifted++
			}
		case "bearing":
			if mean(vib[prev]) > mean(vib[base])+0.4 {
				drifted++
			}
		}
	}
	if drifted == 0 {
		t.Fatal("no failure was preceded by a visible drift")
	}
	t.Logf("%d failures, %d with a checked drift, %d cooks", len(truth.Failures), drifted, truth.Cooks)
}
