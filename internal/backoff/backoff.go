// Package backoff spaces the retries of the agent's calls to central.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay is the n-th retry's delay (n >= 1): first, doubling up to max, with
// "equal jitter" (half fixed, half random) so that many kitchens coming back
// after a central outage do not retry in lockstep.
func Delay(first, max time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(half+1)
}
