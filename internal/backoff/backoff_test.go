package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	for _, tc := range []struct {
		n        int
		lo, high time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{5, 4 * time.Second, 8 * time.Second}, // capped at max
		{60, 4 * time.Second, 8 * time.Second},
	} {
		for range 100 {
			if d := Delay(time.Second, 8*time.Second, tc.n); d < tc.lo || d > tc.high {
				t.Fatalf("Delay(1s, 8s, %d) = %s, want within [%s, %s]", tc.n, d, tc.lo, tc.high)
			}
		}
	}
}
