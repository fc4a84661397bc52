package modelsync

import (
	"testing"
	"time"
)

func TestPollJitter(t *testing.T) {
	s := &Syncer{opt: Options{Interval: 15 * time.Minute, Jitter: 0.2}}
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for range 2000 {
		w := s.nextWait()
		lo, hi = min(lo, w), max(hi, w)
	}
	if lo < 12*time.Minute || hi > 18*time.Minute {
		t.Fatalf("waits span %s..%s, want within 12m..18m", lo, hi)
	}
	if hi-lo < 4*time.Minute {
		t.Fatalf("waits span %s..%s: not jittered", lo, hi)
	}
}
