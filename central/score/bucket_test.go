package score

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseDayKey(t *testing.T) {
	for _, tt := range []struct {
		key, kitchen, day string
		ok                bool
	}{
		{"actions/k1/2026-11-01.json", "k1", "2026-11-01", true},
		{"actions/k1/README.txt", "", "", false},
		{"actions/k1/2026-11-31.json", "", "", false},
		{"actions/k1/sub/2026-11-01.json", "", "", false},
		{"actions//2026-11-01.json", "", "", false},
		{"windows/k1/2026-11-01.ndjson.gz", "", "", false},
	} {
		k, d, ok := parseDayKey(tt.key)
		if k != tt.kitchen || d != tt.day || ok != tt.ok {
			t.Errorf("parseDayKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, k, d, ok, tt.kitchen, tt.day, tt.ok)
		}
	}
}

func TestParallel(t *testing.T) {
	var n atomic.Int64
	if err := parallel(context.Background(), 100, 4, func(int) error { n.Add(1); return nil }); err != nil || n.Load() != 100 {
		t.Fatalf("err %v, %d calls; want nil, 100", err, n.Load())
	}
	boom := errors.New("boom")
	n.Store(0)
	// The first item fails at once; the others take a millisecond each, so
	// feeding all 1000 would take half a second after the failure: the
	// assertion does not depend on how the two workers are scheduled.
	err := parallel(context.Background(), 1000, 2, func(i int) error {
		n.Add(1)
		if i == 0 {
			return boom
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if !errors.Is(err, boom) || n.Load() == 1000 {
		t.Errorf("err %v after %d calls; want boom, and the rest not started", err, n.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := parallel(ctx, 10, 2, func(int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err %v", err)
	}
}
