package morning

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/internal/record"
)

// clockKitchen is a store with two machines cooking for the week before
// each of days, a release and a recording publisher.
func clockKitchen(t *testing.T, zone string, days ...string) (*Service, *recPub, func() *Service) {
	t.Helper()
	loc := decidetest.Location(t, zone)
	dir := t.TempDir()
	st := decidetest.OpenStore(t, dir, loc)
	for _, d := range days {
		decidetest.Fill(t, st, loc, d,
			decidetest.Machine{Name: "m-01", Arepa: "reina-pepiada", Days: 2},
			decidetest.Machine{Name: "m-02", Arepa: "reina-pepiada", Days: 2, Trend: 0.3})
	}
	rel := decidetest.Release(t, dir, st, "reina-pepiada")
	pub := &recPub{}
	restart := func() *Service { return newService(t, st, loc, rel, pub, nil) }
	return restart(), pub, restart
}

// summaries counts the kitchen summaries published: one per decision.
func summaries(p *recPub) int {
	return actionMsgs(p)["budare/k-017/actions"]
}

// summariesOf counts the summaries published for day.
func summariesOf(t *testing.T, p *recPub, day string) int {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		if m.topic == "budare/k-017/actions" && jsonField(t, m.payload, "date") == day {
			n++
		}
	}
	return n
}

// actionDates lists the dates of m-01's published actions, in order.
func (p *recPub) actionDates(t *testing.T) []string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.msgs {
		if m.topic == "budare/k-017/m-01/action" {
			out = append(out, jsonField(t, m.payload, "date"))
		}
	}
	return out
}

// TestClockJumps drives the service with a wall clock that jumps hours
// backwards and forwards around start of day (05:30), with and without a
// restart in between: every day is decided exactly once, never skipped,
// and an older day never replaces a newer one on the displays.
func TestClockJumps(t *testing.T) {
	at := func(loc *time.Location, day string, hm string) time.Time {
		t.Helper()
		d, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, loc)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name    string
		restart bool     // restart the agent right after the jump
		ticks   []string // "yyyy-mm-dd HH:MM", in the order the clock shows them
		want    []string // dates of m-01's published actions, in order
	}{
		{"back 3h after deciding", false,
			[]string{"2026-11-27 05:30", "2026-11-27 02:30", "2026-11-27 05:30", "2026-11-27 09:00"}, []string{"2026-11-27"}},
		{"back 3h after deciding, restart", true,
			[]string{"2026-11-27 05:30", "2026-11-27 02:30", "2026-11-27 05:30", "2026-11-27 09:00"}, []string{"2026-11-27"}},
		{"back across midnight", false,
			[]string{"2026-11-28 05:31", "2026-11-27 23:00", "2026-11-28 05:31"}, []string{"2026-11-28"}},
		{"back across midnight, restart", true,
			[]string{"2026-11-28 05:31", "2026-11-27 23:00", "2026-11-27 05:30", "2026-11-28 06:00"}, []string{"2026-11-28"}},
		{"back to yesterday before start of day, restart", true,
			[]string{"2026-11-27 05:30", "2026-11-28 05:30", "2026-11-27 04:00", "2026-11-28 07:00"}, []string{"2026-11-27", "2026-11-28"}},
		{"forward 4h over start of day", false,
			[]string{"2026-11-27 03:00", "2026-11-27 07:00", "2026-11-27 08:00"}, []string{"2026-11-27"}},
		{"forward 8h over midnight and start of day", true,
			[]string{"2026-11-27 05:30", "2026-11-27 23:00", "2026-11-28 07:00", "2026-11-28 07:01"}, []string{"2026-11-27", "2026-11-28"}},
		{"forward then back then forward", false,
			[]string{"2026-11-27 05:00", "2026-11-27 09:00", "2026-11-27 04:00", "2026-11-27 05:30", "2026-11-28 05:30"}, []string{"2026-11-27", "2026-11-28"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, pub, restart := clockKitchen(t, "America/Caracas", "2026-11-27", "2026-11-28")
			ctx := context.Background()
			loc := s.loc()
			for i, tick := range c.ticks {
				p := stringsCut(tick)
				s.Tick(ctx, at(loc, p[0], p[1]))
				if c.restart && i == 1 {
					s = restart()
				}
			}
			got := pub.actionDates(t)
			if len(got) != len(c.want) {
				t.Fatalf("m-01's actions published for %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("m-01's actions published for %v, want %v", got, c.want)
				}
			}
			if summaries(pub) != len(c.want) {
				t.Fatalf("%d summaries, want %d", summaries(pub), len(c.want))
			}
		})
	}
}

// TestStartOfDayInDSTGap: a start of day that does not exist on the
// spring-forward day (Europe/Madrid 02:30 on 2026-03-29; America/Havana
// 00:30 on 2026-03-08, a midnight change) moves forward by the gap and the
// day is decided once; on the fall-back day (02:30 happens twice in Madrid)
// it is decided once too.
func TestStartOfDayInDSTGap(t *testing.T) {
	cases := []struct {
		zone, day string
		sod       time.Duration
		wantAt    string          // the decision instant, UTC
		ticks     []time.Duration // after wantAt
	}{
		{"Europe/Madrid", "2026-03-29", 2*time.Hour + 30*time.Minute, "2026-03-29T01:30:00Z",
			[]time.Duration{-time.Minute, 0, time.Minute, time.Hour}},
		{"America/Havana", "2026-03-08", 30 * time.Minute, "2026-03-08T05:30:00Z",
			[]time.Duration{-time.Minute, 0, 30 * time.Minute, 3 * time.Hour}},
		// Fall back: 02:30 CEST, then 02:30 CET an hour later (the decision).
		{"Europe/Madrid", "2026-10-25", 2*time.Hour + 30*time.Minute, "2026-10-25T01:30:00Z",
			[]time.Duration{-time.Minute, 0, time.Hour, time.Hour + time.Minute, 2 * time.Hour}},
	}
	for _, c := range cases {
		t.Run(c.zone+" "+c.day, func(t *testing.T) {
			prev, err := record.DayStart(c.day, -1, decidetest.Location(t, c.zone))
			if err != nil {
				t.Fatal(err)
			}
			s, pub, restart := clockKitchen(t, c.zone, prev.Format(time.DateOnly), c.day,
				prev.AddDate(0, 0, 2).Format(time.DateOnly))
			s.StartOfDay = c.sod
			want, _ := time.Parse(time.RFC3339, c.wantAt)
			got, err := s.DecisionTime(c.day)
			if err != nil || !got.Equal(want) {
				t.Fatalf("DecisionTime(%s) = %s, %v; want %s", c.day, got.UTC(), err, want)
			}
			ctx := context.Background()
			if next := s.Tick(ctx, want.Add(-time.Hour)); !next.Equal(want) {
				t.Fatalf("an hour before: next decision %s, want %s", next.UTC(), want)
			}
			for i, d := range c.ticks {
				s.Tick(ctx, want.Add(d))
				if i == len(c.ticks)/2 {
					s = restart()
					s.StartOfDay = c.sod
				}
				n := summariesOf(t, pub, c.day)
				if (d < 0 && n != 0) || (d >= 0 && n != 1) {
					t.Fatalf("at %s (decision %s %+v): %d decisions of %s", want.Add(d).UTC(), want, d, n, c.day)
				}
			}
			// The next day is decided at its own start of day, once.
			after := prev.AddDate(0, 0, 2).Format(time.DateOnly)
			next, _ := s.DecisionTime(after)
			s.Tick(ctx, next)
			s.Tick(ctx, next.Add(time.Hour))
			if n, m := summariesOf(t, pub, c.day), summariesOf(t, pub, after); n != 1 || m != 1 {
				t.Fatalf("after the next day's start: %d decisions of %s, %d of %s; want 1 and 1", n, c.day, m, after)
			}
		})
	}
}

func stringsCut(s string) [2]string {
	d, hm, _ := strings.Cut(s, " ")
	return [2]string{d, hm}
}

func jsonField(t *testing.T, b []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	v, _ := m[field].(string)
	return v
}
