package morning

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// memState is a StateStore over the real store with a switch to fail
// uploads; the service is rebuilt over the same store to model a restart.
func newService(t testing.TB, st *store.Store, loc *time.Location, rel *modelsync.Release, pub Publisher, put PutFunc) *Service {
	t.Helper()
	return &Service{
		Decider: &decide.Decider{Kitchen: "k-017", Location: loc, Records: st,
			Models:     func() *modelsync.Release { return rel },
			Thresholds: decide.Thresholds{Service: 0.7, Stop: 0.9}},
		State: st, Pub: pub, Put: put, StartOfDay: 5*time.Hour + 30*time.Minute, UnseenClearDays: 14,
	}
}

func actionMsgs(p *recPub) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, m := range p.msgs {
		out[m.topic]++
	}
	return out
}

func TestOncePerDayAcrossRestarts(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	decidetest.Fill(t, st, loc, "2026-11-27",
		decidetest.Machine{Name: "m-01", Arepa: "reina-pepiada", Days: 7},
		decidetest.Machine{Name: "m-02", Arepa: "reina-pepiada", Days: 7, Trend: 0.3})
	rel := decidetest.Release(t, dir, st, "reina-pepiada")
	pub := &recPub{}
	var puts []string
	put := func(_ context.Context, key string, _ []byte, meta map[string]string) error {
		if meta["sha256"] == "" {
			t.Error("upload without sha256 metadata")
		}
		puts = append(puts, key)
		return nil
	}
	s := newService(t, st, loc, rel, pub, put)
	ctx := context.Background()
	before := time.Date(2026, 11, 27, 5, 29, 0, 0, loc)
	next := s.Tick(ctx, before)
	if pub.count() != 0 {
		t.Fatalf("published %d messages before start of day", pub.count())
	}
	if want := time.Date(2026, 11, 27, 5, 30, 0, 0, loc); !next.Equal(want) {
		t.Fatalf("next = %s, want %s", next, want)
	}
	s.Tick(ctx, next)
	msgs := actionMsgs(pub)
	if msgs["budare/k-017/m-01/action"] != 1 || msgs["budare/k-017/m-02/action"] != 1 || msgs["budare/k-017/actions"] != 1 {
		t.Fatalf("published %v, want each action and the summary once", msgs)
	}
	for _, m := range pub.msgs {
		if !m.retained {
			t.Fatalf("%s not retained", m.topic)
		}
	}
	if len(puts) != 1 || puts[0] != "actions/k-017/2026-11-27.json" {
		t.Fatalf("uploads %v", puts)
	}
	// Later the same day, and after a restart: nothing again.
	s.Tick(ctx, next.Add(3*time.Hour))
	s2 := newService(t, st, loc, rel, pub, put)
	s2.Tick(ctx, next.Add(4*time.Hour))
	if pub.count() != 3 || len(puts) != 1 {
		t.Fatalf("after restart: %d publishes, %d uploads; want 3 and 1", pub.count(), len(puts))
	}
	// Next day: decided again, once.
	s2.Tick(ctx, time.Date(2026, 11, 28, 6, 0, 0, 0, loc))
	if pub.count() != 6 {
		t.Fatalf("next day: %d publishes, want 6", pub.count())
	}
}

func TestDowntimeAcrossStartOfDayAndBrokerDown(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	decidetest.Fill(t, st, loc, "2026-11-27", decidetest.Machine{Name: "m-01", Arepa: "reina-pepiada", Days: 7})
	rel := decidetest.Release(t, dir, st, "reina-pepiada")
	pub := &recPub{fail: true}
	var uploads int
	upErr := errors.New("central unreachable")
	put := func(context.Context, string, []byte, map[string]string) error {
		if upErr != nil {
			return upErr
		}
		uploads++
		return nil
	}
	s := newService(t, st, loc, rel, pub, put)
	ctx := context.Background()
	// The agent was down at 05:30 and starts at 11:00 with broker and central down.
	start := time.Date(2026, 11, 27, 11, 0, 0, 0, loc)
	next := s.Tick(ctx, start)
	if next.Sub(start) > time.Minute {
		t.Fatalf("next = %s, want a retry soon", next)
	}
	stored, err := s.Stored("2026-11-27")
	if err != nil || stored == nil || len(stored.Actions) != 1 {
		t.Fatalf("stored decision = %+v, %v; want it persisted before publishing", stored, err)
	}
	st1 := s.Status()
	if st1.PendingPublish != 2 || len(st1.PendingUploads) != 1 {
		t.Fatalf("status %+v", st1)
	}
	// Restart; broker back: published once, from the stored decision.
	pub.fail = false
	s2 := newService(t, st, loc, rel, pub, put)
	s2.Tick(ctx, start.Add(10*time.Minute))
	if pub.count() != 2 {
		t.Fatalf("published %d, want action + summary", pub.count())
	}
	var a decide.Action
	if err := json.Unmarshal(pub.msgs[0].payload, &a); err != nil || !a.DecidedAt.Equal(stored.Actions[0].DecidedAt) {
		t.Fatalf("published %s (%v), want the stored decision", pub.msgs[0].payload, err)
	}
	// Central back: the queued upload goes out.
	upErr = nil
	s2.Tick(ctx, start.Add(20*time.Minute))
	if uploads != 1 || len(s2.Status().PendingUploads) != 0 {
		t.Fatalf("uploads %d, pending %v", uploads, s2.Status().PendingUploads)
	}
	if pub.count() != 2 {
		t.Fatalf("republished: %d", pub.count())
	}
}

func TestYesterdayPublishedBeforeStartOfDay(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	decidetest.Fill(t, st, loc, "2026-11-27", decidetest.Machine{Name: "m-01", Arepa: "domino", Days: 7})
	rel := decidetest.Release(t, dir, st, "domino")
	pub := &recPub{fail: true}
	ctx := context.Background()
	// Decided on the 26th with the broker down; the agent then stops.
	newService(t, st, loc, rel, pub, nil).Tick(ctx, time.Date(2026, 11, 26, 6, 0, 0, 0, loc))
	if pub.count() != 0 {
		t.Fatal("published with the broker down")
	}
	// It starts on the 27th at 03:00, broker up: the 26th goes out, nothing is decided.
	pub.fail = false
	s := newService(t, st, loc, rel, pub, nil)
	next := s.Tick(ctx, time.Date(2026, 11, 27, 3, 0, 0, 0, loc))
	msgs := actionMsgs(pub)
	if msgs["budare/k-017/m-01/action"] != 1 || msgs["budare/k-017/actions"] != 1 {
		t.Fatalf("published %v, want the 26th's action and summary", msgs)
	}
	var a decide.Action
	if err := json.Unmarshal(pub.msgs[0].payload, &a); err != nil || a.Date != "2026-11-26" {
		t.Fatalf("published %s", pub.msgs[0].payload)
	}
	if d, _ := s.Stored("2026-11-27"); d != nil {
		t.Fatal("the 27th decided before its start of day")
	}
	if want := time.Date(2026, 11, 27, 5, 30, 0, 0, loc); !next.Equal(want) {
		t.Fatalf("next = %s, want %s", next, want)
	}
	s.Tick(ctx, time.Date(2026, 11, 27, 4, 0, 0, 0, loc))
	if pub.count() != 2 {
		t.Fatalf("republished: %d messages", pub.count())
	}
}

func TestClearUnseen(t *testing.T) {
	loc := decidetest.Location(t, "UTC")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	decidetest.Fill(t, st, loc, "2026-11-27",
		decidetest.Machine{Name: "m-live", Arepa: "domino", Days: 7},
		decidetest.Machine{Name: "m-gone", Arepa: "domino", Days: 20, Skip: 15})
	rel := decidetest.Release(t, dir, st, "domino")
	pub := &recPub{}
	s := newService(t, st, loc, rel, pub, nil)
	ctx := context.Background()
	s.Tick(ctx, time.Date(2026, 11, 27, 6, 0, 0, 0, loc))
	var cleared []pubMsg
	for _, m := range pub.msgs {
		if m.topic == "budare/k-017/m-gone/action" {
			cleared = append(cleared, m)
		}
	}
	if len(cleared) != 1 || len(cleared[0].payload) != 0 || !cleared[0].retained {
		t.Fatalf("m-gone messages %+v, want one empty retained", cleared)
	}
	if d, _ := s.Stored("2026-11-27"); len(d.Actions) != 1 || d.Actions[0].Machine != "m-live" {
		t.Fatalf("decided %+v, want only m-live", d.Actions)
	}
	n := pub.count()
	s.Tick(ctx, time.Date(2026, 11, 28, 6, 0, 0, 0, loc))
	for _, m := range pub.msgs[n:] {
		if m.topic == "budare/k-017/m-gone/action" {
			t.Fatal("m-gone cleared twice")
		}
	}
}

// TestDSTDecidesOnceAtLocalTime drives the scheduler with an injected clock
// across DST changes, the way Run does (jumping to the time Tick asks for)
// and in 5-minute steps, and checks the decision happens exactly once, at
// start_of_day local time.
func TestDSTDecidesOnceAtLocalTime(t *testing.T) {
	cases := []struct {
		name, tz, day string
		sod           time.Duration
		wantUTC       time.Time
	}{
		{"spring forward, Berlin", "Europe/Berlin", "2026-03-29", 5*time.Hour + 30*time.Minute, time.Date(2026, 3, 29, 3, 30, 0, 0, time.UTC)},
		{"fall back, Berlin", "Europe/Berlin", "2026-10-25", 5*time.Hour + 30*time.Minute, time.Date(2026, 10, 25, 4, 30, 0, 0, time.UTC)},
		{"fall back, New York", "America/New_York", "2026-11-01", 5*time.Hour + 30*time.Minute, time.Date(2026, 11, 1, 10, 30, 0, 0, time.UTC)},
		// 02:30 does not exist on this day in Berlin: decided at 03:30 CEST.
		{"start in the gap", "Europe/Berlin", "2026-03-29", 2*time.Hour + 30*time.Minute, time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		// 01:30 happens twice in New York: decided once, at the first.
		{"start in the overlap", "America/New_York", "2026-11-01", time.Hour + 30*time.Minute, time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			loc := decidetest.Location(t, c.tz)
			for _, mode := range []string{"jump", "5 minutes"} {
				dir := t.TempDir()
				st := decidetest.OpenStore(t, dir, loc)
				// Data every local day at noon: the 7-day window spans the DST change.
				decidetest.Fill(t, st, loc, c.day, decidetest.Machine{Name: "m-01", Arepa: "domino", Days: 7, Cooks: 3})
				rel := decidetest.Release(t, dir, st, "domino")
				var mu sync.Mutex
				var at []time.Time
				clock := time.Time{}
				pub := publisherFunc(func(topic string, payload []byte) {
					mu.Lock()
					defer mu.Unlock()
					var a decide.Action
					// The hour before the day also decides the day before; count c.day only.
					if strings.HasSuffix(topic, "/m-01/action") && json.Unmarshal(payload, &a) == nil && a.Date == c.day {
						at = append(at, clock)
					}
				})
				s := newService(t, st, loc, rel, pub, nil)
				s.StartOfDay = c.sod
				dayStart, _ := record.DayStart(c.day, 0, loc)
				dayEnd, _ := record.DayStart(c.day, 1, loc)
				clock = dayStart.Add(-time.Hour)
				ctx := context.Background()
				for clock.Before(dayEnd) {
					next := s.Tick(ctx, clock)
					if !next.After(clock) {
						t.Fatalf("%s: Tick(%s) asked for %s", mode, clock, next)
					}
					if mode == "jump" {
						clock = next
					} else {
						clock = clock.Add(5 * time.Minute)
					}
				}
				if len(at) != 1 || !at[0].Equal(c.wantUTC) {
					t.Fatalf("%s: decided at %v, want once at %s", mode, at, c.wantUTC)
				}
				d, _ := s.Stored(c.day)
				if d == nil || d.Actions[0].DataDays != 7 || d.Actions[0].Level == decide.LevelUnknown {
					t.Fatalf("%s: decision %+v, want 7 data days across the DST change", mode, d)
				}
			}
		})
	}
}

type publisherFunc func(topic string, payload []byte)

func (f publisherFunc) Publish(_ context.Context, topic string, payload []byte, _ bool) error {
	f(topic, payload)
	return nil
}

// TestNewGatewayDecidesOnceMachinesReport: a gateway installed before its
// machines report must not record an empty decision for the day; it
// decides as soon as a machine has reported.
func TestNewGatewayDecidesOnceMachinesReport(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	rel := decidetest.Release(t, dir, st, "reina-pepiada")
	pub := &recPub{}
	s := newService(t, st, loc, rel, pub, func(context.Context, string, []byte, map[string]string) error { return nil })
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, loc)
	next := s.Tick(ctx, at)
	if pub.count() != 0 {
		t.Fatalf("published %d messages with no machine seen", pub.count())
	}
	if !next.Before(at.Add(10 * time.Minute)) {
		t.Fatalf("next look at %s, want a retry within minutes", next)
	}
	decidetest.Fill(t, st, loc, "2026-11-27", decidetest.Machine{Name: "m-01", Arepa: "reina-pepiada", Days: 7})
	s.Tick(ctx, next)
	if msgs := actionMsgs(pub); msgs["budare/k-017/m-01/action"] != 1 {
		t.Fatalf("after the machine reported: published %v, want m-01's action once", msgs)
	}
}
