package store

import (
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

func TestPruneDayIfVersionRefusesAMovedDay(t *testing.T) {
	s := openTest(t, time.UTC)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if _, err := s.Commit(&Batch{Records: []record.Record{cook("m-1", t0, 1), cook("m-1", t0.Add(time.Minute), 2)}}); err != nil {
		t.Fatal(err)
	}
	di, _, _ := s.Day("2026-11-02")
	// A late record lands after the upload of version di.Version was verified.
	if _, err := s.Commit(&Batch{Records: []record.Record{cook("m-2", t0, 1)}}); err != nil {
		t.Fatal(err)
	}
	n, pruned, err := s.PruneDayIfVersion("2026-11-02", di.Version)
	if err != nil || pruned || n != 0 {
		t.Fatalf("stale version: deleted %d pruned %v err %v, want nothing deleted", n, pruned, err)
	}
	cur, _, _ := s.Day("2026-11-02")
	if cur.Records != 3 || cur.Pruned {
		t.Fatalf("day after refused prune: %+v", cur)
	}
	n, pruned, err = s.PruneDayIfVersion("2026-11-02", cur.Version)
	if err != nil || !pruned || n != 3 {
		t.Fatalf("current version: deleted %d pruned %v err %v, want 3 deleted", n, pruned, err)
	}
	cur, _, _ = s.Day("2026-11-02")
	if !cur.Pruned || cur.Records != 0 {
		t.Fatalf("day after prune: %+v", cur)
	}
	lines := 0
	_ = s.RawDay("2026-11-02", func(string, []byte) error { lines++; return nil })
	if lines != 0 {
		t.Fatalf("%d lines left after prune", lines)
	}
	if _, pruned, _ := s.PruneDayIfVersion("2026-11-09", 0); pruned {
		t.Fatal("pruned a day that was never stored")
	}
}
