package modelsync_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/internal/release"
)

// fakeTimer is one wait Run asked for: its duration and the channel the
// test fires to end it.
type fakeTimer struct {
	d    time.Duration
	fire chan time.Time
}

// runWithFakeTimers starts the syncer's Run loop with waits the test drives.
func runWithFakeTimers(t *testing.T, e *env, interval time.Duration) (<-chan fakeTimer, *modelsync.Syncer) {
	t.Helper()
	timers := make(chan fakeTimer)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := modelsync.New(modelsync.Options{
		Dir: filepath.Join(e.dir, "models"), PublicKey: e.pub, Source: e.src, State: e.st,
		Interval: interval, Now: func() time.Time { return e.now },
		After: func(d time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			select {
			case timers <- fakeTimer{d, c}:
			case <-ctx.Done():
			}
			return c
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return timers, s
}

func nextTimer(t *testing.T, timers <-chan fakeTimer) fakeTimer {
	t.Helper()
	select {
	case ft := <-timers:
		return ft
	case <-time.After(10 * time.Second):
		t.Fatal("Run asked for no further wait")
		return fakeTimer{}
	}
}

// A poll that cannot reach central is retried after seconds, doubling up
// to the poll interval; the first success returns to the interval.
func TestRunRetriesFailedPollWithBackoff(t *testing.T) {
	e := newEnv(t)
	e.src.SetDown(true)
	const interval = 2 * time.Minute
	timers, s := runWithFakeTimers(t, e, interval)

	first := nextTimer(t, timers)
	if first.d < 0 || first.d >= 5*time.Second {
		t.Fatalf("first wait %s, want a spread below 5s", first.d)
	}
	first.fire <- time.Time{}
	// Each retry waits [base/2, base] ("equal jitter"): 5s, 10s, ... up to the interval.
	bases := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second,
		80 * time.Second, interval, interval}
	for i, base := range bases {
		ft := nextTimer(t, timers)
		if ft.d < base/2 || ft.d > base {
			t.Fatalf("retry %d waits %s, want within [%s, %s]", i+1, ft.d, base/2, base)
		}
		if i == len(bases)-1 {
			e.src.SetDown(false)
			e.publish(4, "domino")
		}
		ft.fire <- time.Time{}
	}
	ft := nextTimer(t, timers)
	if lo, hi := interval*8/10, interval*12/10; ft.d < lo || ft.d > hi {
		t.Fatalf("after a successful poll the wait is %s, want the interval with jitter [%s, %s]", ft.d, lo, hi)
	}
	if r := s.Current(); r == nil || r.Number != 4 {
		t.Fatalf("installed %+v after central came back, want release 4", r)
	}
}

// A refused release is not retried early: only central publishing another
// one can change the answer.
func TestRunDoesNotRetryRefusedReleaseEarly(t *testing.T) {
	e := newEnv(t)
	e.publish(4, "domino")
	e.src.Put(context.Background(), release.CurrentKey, []byte("not a number\n"))
	const interval = 10 * time.Minute
	timers, _ := runWithFakeTimers(t, e, interval)
	nextTimer(t, timers).fire <- time.Time{}
	if ft := nextTimer(t, timers); ft.d < interval*8/10 {
		t.Fatalf("after a refused release the wait is %s, want about the interval %s", ft.d, interval)
	}
}

// SyncNow polls at once and ends the backoff of the running loop.
func TestSyncNowResetsRunBackoff(t *testing.T) {
	e := newEnv(t)
	e.src.SetDown(true)
	const interval = 10 * time.Minute
	timers, s := runWithFakeTimers(t, e, interval)
	nextTimer(t, timers).fire <- time.Time{}
	nextTimer(t, timers).fire <- time.Time{} // first retry, fails too
	if ft := nextTimer(t, timers); ft.d > 10*time.Second {
		t.Fatalf("second retry waits %s, want at most 10s", ft.d)
	}
	e.src.SetDown(false)
	e.publish(2, "domino")
	out, err := s.SyncNow(context.Background())
	if err != nil || !out.Installed || out.Release != 2 {
		t.Fatalf("SyncNow = %+v, %v; want release 2 installed", out, err)
	}
	if ft := nextTimer(t, timers); ft.d < interval*8/10 {
		t.Fatalf("after SyncNow succeeded the loop waits %s, want about the interval %s", ft.d, interval)
	}
}
