package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

// TestSalvageRawSkipsPrunedLocalDays: the leaf-page pass of salvage skips
// the days the index marks pruned by the store's local day. In Caracas
// (UTC-4) a cook at 21:00 on 2 November is 01:00 UTC on the 3rd: it belongs
// to the pruned 2 November, and the cooks of the next morning do not (200 of
// them, so that the machine's bucket has leaf pages of its own).
func TestSalvageRawSkipsPrunedLocalDays(t *testing.T) {
	loc, err := time.LoadLocation("America/Caracas")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "agent.db")
	s, err := Open(path, Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	evening := time.Date(2026, 11, 2, 21, 0, 0, 0, loc)
	morning := time.Date(2026, 11, 3, 9, 0, 0, 0, loc)
	times := []time.Time{evening}
	for i := range 200 {
		times = append(times, morning.Add(time.Duration(i)*time.Second))
	}
	var b Batch
	for i, ts := range times {
		r := record.Record{Machine: "m-01", Type: record.TypeCook, TS: ts.UTC(), Seq: int64(i + 1), Arepa: "domino",
			Metrics: map[string]float64{"plate_temp_c": 230}}
		b.Lines = append(b.Lines, Line{Machine: r.Machine, TS: r.TS, Seq: r.Seq, JSON: record.AppendLine(nil, &r)})
	}
	if _, err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var got Batch
	rep := &SalvageReport{}
	pruned := map[string]DayInfo{"2026-11-02": {Pruned: true}}
	if err := salvageRaw(path, os.Getpagesize(), loc, pruned, &got, func() error { return nil }, rep); err != nil {
		t.Fatal(err)
	}
	if len(got.Lines) != 200 {
		t.Fatalf("salvaged %d records, want the 200 of the morning of 3 November", len(got.Lines))
	}
	for _, l := range got.Lines {
		if l.TS.Before(morning) {
			t.Fatalf("salvaged a record of the pruned 2 November (local): %s", l.TS.In(loc))
		}
	}
}
