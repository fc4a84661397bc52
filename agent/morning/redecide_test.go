package morning

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/internal/decision"
)

// TestRedecideAfterFirstRelease: a fresh agent decides its first day
// without any model (every machine "unknown"); once the first release is
// installed the machines that were unknown for want of a model are decided
// again, republished and re-uploaded, and only those, and only once.
func TestRedecideAfterFirstRelease(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	const day = "2026-11-27"
	decidetest.Fill(t, st, loc, day,
		decidetest.Machine{Name: "m-01", Arepa: "reina-pepiada", Days: 7},
		decidetest.Machine{Name: "m-02", Arepa: "reina-pepiada", Days: 7, Trend: 0.3},
		// Seen, but no cooking in the last 7 days: unknown with or without a model.
		decidetest.Machine{Name: "m-03", Arepa: "reina-pepiada", Days: 10, Skip: 8})
	rel := decidetest.Release(t, dir, st, "reina-pepiada")
	var installed atomic.Pointer[modelsync.Release]
	pub := &recPub{}
	var puts []string
	var lastPut []byte
	put := func(_ context.Context, key string, data []byte, _ map[string]string) error {
		puts, lastPut = append(puts, key), data
		return nil
	}
	s := newService(t, st, loc, nil, pub, put)
	s.Decider.Models = installed.Load
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 5, 30, 0, 0, loc)

	// Nothing installed yet: a re-decision is a no-op.
	if n, err := s.RedecideWithoutModel(ctx, at); n != 0 || err != nil {
		t.Fatalf("without a release: %d, %v", n, err)
	}
	s.Tick(ctx, at)
	d, err := s.Stored(day)
	if err != nil || d == nil || d.Counts[decide.LevelUnknown] != 3 {
		t.Fatalf("first decision %+v, %v: want 3 unknown", d, err)
	}
	published := pub.count()

	installed.Store(rel)
	n, err := s.RedecideWithoutModel(ctx, at.Add(10*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("redecided %d (%v), want m-01 and m-02", n, err)
	}
	d, _ = s.Stored(day)
	for _, a := range d.Actions {
		switch a.Machine {
		case "m-01", "m-02":
			if a.Level == decide.LevelUnknown || a.ModelRelease != rel.Number {
				t.Errorf("%s: %s release %d after the first release", a.Machine, a.Level, a.ModelRelease)
			}
		case "m-03":
			if a.Level != decide.LevelUnknown || a.ModelRelease != 0 || slices.Contains(a.Reasons, decision.ReasonNoRelease) {
				t.Errorf("m-03 changed: %+v", a)
			}
		}
	}
	if d.ModelRelease != rel.Number || d.Counts[decide.LevelUnknown] != 1 {
		t.Errorf("day release %d counts %v", d.ModelRelease, d.Counts)
	}
	msgs := actionMsgs(pub)
	if pub.count()-published != 3 || msgs["budare/k-017/m-03/action"] != 1 || msgs["budare/k-017/m-01/action"] != 2 ||
		msgs["budare/k-017/actions"] != 2 {
		t.Fatalf("published after the release: %v", msgs)
	}
	var up decide.Day
	if len(puts) != 2 || json.Unmarshal(lastPut, &up) != nil || up.ModelRelease != rel.Number {
		t.Fatalf("uploads %v: want the day uploaded again with release %d", puts, rel.Number)
	}

	// Once per machine per day: another release or signal changes nothing,
	// nor does the scheduler later that day.
	if n, err := s.RedecideWithoutModel(ctx, at.Add(time.Hour)); n != 0 || err != nil {
		t.Fatalf("second re-decision: %d, %v", n, err)
	}
	s.Tick(ctx, at.Add(2*time.Hour))
	if pub.count()-published != 3 || len(puts) != 2 {
		t.Fatalf("later the same day: %d more publishes, %d uploads", pub.count()-published, len(puts))
	}
}

// TestRunRedecidesOnInstalled: the Installed signal reaches Run.
func TestRunRedecidesOnInstalled(t *testing.T) {
	loc := time.UTC
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	now := time.Now().UTC()
	today := now.Format(time.DateOnly)
	decidetest.Fill(t, st, loc, today, decidetest.Machine{Name: "m-01", Arepa: "reina-pepiada", Days: 7})
	rel := decidetest.Release(t, dir, st, "reina-pepiada")
	var installed atomic.Pointer[modelsync.Release]
	pub := &recPub{}
	s := newService(t, st, loc, nil, pub, nil)
	s.Decider.Models = installed.Load
	s.StartOfDay = 0
	sig := make(chan struct{}, 1)
	s.Installed = sig
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "the first decision", func() bool { d, _ := s.Stored(today); return d != nil })
	installed.Store(rel)
	sig <- struct{}{}
	waitFor(t, "the re-decision", func() bool {
		d, _ := s.Stored(today)
		return d.Actions[0].ModelRelease == rel.Number && d.Actions[0].Level != decide.LevelUnknown
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
