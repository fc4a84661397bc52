package decide

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

func TestCandidatesOfAPastDateLeaveOutLaterMachines(t *testing.T) {
	loc := decidetest.Location(t, "America/Caracas")
	st, err := store.Open(filepath.Join(t.TempDir(), "agent.db"), store.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := func(day string, hour int) time.Time {
		d, _ := time.ParseInLocation(time.DateOnly, day, loc)
		return d.Add(time.Duration(hour) * time.Hour)
	}
	cook := func(m string, ts time.Time) record.Record {
		return record.Record{Machine: m, Type: record.TypeCook, TS: ts, Seq: ts.Unix(), Arepa: "domino",
			Metrics: map[string]float64{"plate_temp_c": 230}}
	}
	var b store.Batch
	for _, day := range []string{"2026-11-10", "2026-11-15", "2026-11-20", "2026-11-25"} {
		b.Records = append(b.Records, cook("m-old", at(day, 8)))
	}
	b.Records = append(b.Records,
		cook("m-same-day", at("2026-11-15", 9)), // first seen during the day decided
		cook("m-new", at("2026-11-20", 9)), cook("m-new", at("2026-11-25", 9)),
		cook("m-gone", at("2026-10-01", 9)), // unseen for longer than SeenDays
	)
	if _, err := st.Commit(&b); err != nil {
		t.Fatal(err)
	}
	d := &Decider{Kitchen: "k-1", Location: loc, Records: st, SeenDays: 14}
	tests := []struct {
		day  string
		want []string
	}{
		{"2026-11-15", []string{"m-old"}},
		{"2026-11-16", []string{"m-old", "m-same-day"}},
		{"2026-11-26", []string{"m-new", "m-old", "m-same-day"}},
	}
	for _, tt := range tests {
		ms, err := d.Candidates(tt.day)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.Machine)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("candidates for %s = %v, want %v", tt.day, got, tt.want)
		}
	}
}
