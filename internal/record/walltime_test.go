package record

import (
	"testing"
	"time"
)

func TestWallTimeAndDayStart(t *testing.T) {
	load := func(name string) *time.Location {
		t.Helper()
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	havana, madrid, caracas := load("America/Havana"), load("Europe/Madrid"), load("America/Caracas")
	for _, c := range []struct {
		name string
		got  time.Time
		want string // UTC
	}{
		{"ordinary", WallTime(2026, 11, 27, 5, 30, caracas), "2026-11-27T09:30:00Z"},
		{"Madrid gap 02:30 -> 03:30 CEST", WallTime(2026, 3, 29, 2, 30, madrid), "2026-03-29T01:30:00Z"},
		{"Havana midnight gap 00:30 -> 01:30 CDT", WallTime(2026, 3, 8, 0, 30, havana), "2026-03-08T05:30:00Z"},
		{"normalised day", WallTime(2026, 11, 31, 0, 0, caracas), "2026-12-01T04:00:00Z"},
	} {
		if want, _ := time.Parse(time.RFC3339, c.want); !c.got.Equal(want) {
			t.Errorf("%s: %s, want %s", c.name, c.got.UTC().Format(time.RFC3339), c.want)
		}
	}
	// Havana's 2026-03-08 starts at 01:00 CDT, on that day, not on the 7th.
	d, err := DayStart("2026-03-08", 0, havana)
	if err != nil || LocalDay(d, havana) != "2026-03-08" || d.In(havana).Hour() != 1 {
		t.Errorf("DayStart(2026-03-08, Havana) = %s, %v", d.In(havana), err)
	}
	next, _ := DayStart("2026-03-07", 1, havana)
	if !next.Equal(d) {
		t.Errorf("DayStart(2026-03-07 +1) = %s, want %s", next, d)
	}
	if _, err := DayStart("27/11/2026", 0, havana); err == nil {
		t.Error("accepted a bad day")
	}
}

func TestAddDays(t *testing.T) {
	tests := []struct {
		day  string
		n    int
		want string
	}{
		{"2026-11-26", 0, "2026-11-26"},
		{"2026-11-26", -7, "2026-11-19"},
		{"2026-12-31", 1, "2027-01-01"},
		{"2028-03-01", -1, "2028-02-29"},
		{"2026-03-08", 1, "2026-03-09"}, // a DST change in the Americas: days, not 24 h
	}
	for _, tc := range tests {
		if got, err := AddDays(tc.day, tc.n); err != nil || got != tc.want {
			t.Errorf("AddDays(%s, %d) = %s, %v; want %s", tc.day, tc.n, got, err, tc.want)
		}
	}
	if _, err := AddDays("26/11/2026", 1); err == nil {
		t.Error("AddDays accepted a day that is not yyyy-mm-dd")
	}
}
