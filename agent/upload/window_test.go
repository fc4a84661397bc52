package upload

import (
	"compress/gzip"
	"testing"
	"time"

	"github.com/budare/budare/internal/window"
)

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	s := &Service{cfg: Config{MinBackoff: time.Second, MaxBackoff: 60 * time.Second}}
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, 60 * time.Second},
		{50, 30 * time.Second, 60 * time.Second},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := s.backoff(tc.n)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.n, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("backoff(%d) has no jitter: %d distinct values in 50", tc.n, len(seen))
		}
	}
}

// FuzzDecodeWindow: a downloaded window is outside input; decoding and
// merging it must never panic.
func FuzzDecodeWindow(f *testing.F) {
	enc, err := window.NewEncoder(gzip.BestCompression)
	if err != nil {
		f.Fatal(err)
	}
	if err := enc.Line([]byte(`{"machine":"m-01","type":"cook","ts":"2026-11-26T07:31:02.12Z","seq":1}`)); err != nil {
		f.Fatal(err)
	}
	w, err := enc.Finish()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w.Data)
	f.Add([]byte("not gzip"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := window.Decode(data, "")
		if err != nil {
			return
		}
		merged, err := window.Merge(lines, nil)
		if err != nil {
			return
		}
		if len(merged) > len(lines) {
			t.Fatalf("merge grew %d lines to %d", len(lines), len(merged))
		}
	})
}
