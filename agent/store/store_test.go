package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

func openTest(t *testing.T, loc *time.Location) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "budare.db"), Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func cook(m string, ts time.Time, seq int64) record.Record {
	return record.Record{Machine: m, Type: record.TypeCook, TS: ts, Seq: seq, Arepa: "reina-pepiada",
		Metrics: map[string]float64{"plate_temp_c": 230 + float64(seq%5)}}
}

func TestCommitStoresOnceAndCountsDuplicates(t *testing.T) {
	s := openTest(t, time.UTC)
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	b := &Batch{Records: []record.Record{cook("m-1", t0, 1), cook("m-1", t0, 1), cook("m-2", t0, 1), cook("m-1", t0.Add(time.Second), 2)}}
	res, err := s.Commit(b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 3 || res.Duplicates != 1 {
		t.Fatalf("first commit: added %d dup %d, want 3 and 1", res.Added, res.Duplicates)
	}
	res, err = s.Commit(b) // a redelivered batch
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 0 || res.Duplicates != 4 {
		t.Fatalf("redelivery: added %d dup %d, want 0 and 4", res.Added, res.Duplicates)
	}
	st, _ := s.Stats()
	if st.Records != 3 || st.Duplicates != 5 {
		t.Fatalf("stats %+v, want 3 records and 5 duplicates", st)
	}
	ms, _ := s.Machines()
	if len(ms) != 2 || ms[0].Machine != "m-1" || ms[0].Records != 2 || !ms[0].Last.Equal(t0.Add(time.Second)) {
		t.Fatalf("machines %+v", ms)
	}
}

func TestScanIsARangeInTimeOrder(t *testing.T) {
	s := openTest(t, time.UTC)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var b Batch
	for i := 20; i >= 0; i-- { // inserted out of order
		b.Records = append(b.Records, cook("m-1", t0.Add(time.Duration(i)*24*time.Hour), int64(i)))
		b.Records = append(b.Records, cook("m-2", t0.Add(time.Duration(i)*24*time.Hour), int64(i)))
	}
	if _, err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, to int
		want     []int64
	}{
		{0, 3, []int64{0, 1, 2}},
		{13, 20, []int64{13, 14, 15, 16, 17, 18, 19}},
		{20, 30, []int64{20}},
		{25, 30, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d", tt.from, tt.to), func(t *testing.T) {
			var got []int64
			err := s.Scan("m-1", t0.AddDate(0, 0, tt.from), t0.AddDate(0, 0, tt.to), func(r record.Record) error {
				if r.Machine != "m-1" {
					t.Errorf("record of %s in m-1's scan", r.Machine)
				}
				got = append(got, r.Seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQuarantineIsBounded(t *testing.T) {
	s := openTest(t, time.UTC)
	for i := range QuarantineMax + 50 {
		q := Quarantined{Topic: "budare/k/m/cook", Reason: "not_json", Payload: []byte(fmt.Sprintf("junk %d", i))}
		if _, err := s.Commit(&Batch{Quarantine: []Quarantined{q}}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := s.Stats()
	if st.Quarantined != QuarantineMax+50 || st.QuarantineLen != QuarantineMax {
		t.Fatalf("stats %+v", st)
	}
	qs, err := s.Quarantine(2)
	if err != nil {
		t.Fatal(err)
	}
	if string(qs[0].Payload) != fmt.Sprintf("junk %d", QuarantineMax+49) {
		t.Fatalf("newest kept is %q", qs[0].Payload)
	}
}

func TestDaysFollowLocalTimeAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, ny)
	// 2026-11-01 is the fall-back day in New York: 25 hours long.
	from, to, err := s.DayBounds("2026-11-01")
	if err != nil {
		t.Fatal(err)
	}
	if to.Sub(from) != 25*time.Hour {
		t.Fatalf("fall-back day is %s long", to.Sub(from))
	}
	// 03:30 UTC on Nov 1 is still Oct 31 in New York.
	late := time.Date(2026, 11, 1, 3, 30, 0, 0, time.UTC)
	in := time.Date(2026, 11, 2, 4, 30, 0, 0, time.UTC) // 23:30 local Nov 1 (EST)
	if _, err := s.Commit(&Batch{Records: []record.Record{cook("m", late, 1), cook("m", in, 2)}}); err != nil {
		t.Fatal(err)
	}
	days, _ := s.Days()
	if len(days) != 2 || days[0].Day != "2026-10-31" || days[1].Day != "2026-11-01" {
		t.Fatalf("days %+v", days)
	}
	var lines []string
	if err := s.RawDay("2026-11-01", func(m string, line []byte) error {
		var r record.Record
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		lines = append(lines, fmt.Sprint(r.Seq))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lines) != "[2]" {
		t.Fatalf("day 2026-11-01 holds seq %v, want [2]", lines)
	}
}

func TestPruneDayKeepsOthersAndMarksDay(t *testing.T) {
	s := openTest(t, time.UTC)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var b Batch
	for d := range 3 {
		for i := range 5 {
			b.Records = append(b.Records, cook("m-1", t0.AddDate(0, 0, d).Add(time.Duration(i)*time.Minute), int64(d*10+i)))
		}
	}
	if _, err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneDay("2026-11-01")
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v; want 5", n, err)
	}
	di, ok, _ := s.Day("2026-11-01")
	if !ok || !di.Pruned || di.Records != 0 {
		t.Fatalf("day after prune: %+v", di)
	}
	ms, _ := s.Machines()
	if ms[0].Records != 10 || !ms[0].First.Equal(t0.AddDate(0, 0, 1)) {
		t.Fatalf("machine after prune: %+v", ms[0])
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := openTest(t, time.UTC)
	type doc struct{ A int }
	if ok, err := s.GetState("upload", "2026-11-01", &doc{}); ok || err != nil {
		t.Fatalf("absent state: ok=%v err=%v", ok, err)
	}
	if err := s.PutState("upload", "2026-11-01", doc{A: 7}); err != nil {
		t.Fatal(err)
	}
	var d doc
	if ok, err := s.GetState("upload", "2026-11-01", &d); !ok || err != nil || d.A != 7 {
		t.Fatalf("got %+v ok=%v err=%v", d, ok, err)
	}
}

func TestReadOnlyOpenWhileWriterHoldsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "budare.db")
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// bbolt's write lock is exclusive: a reader must time out with a clear error.
	_, err = Open(path, Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("read-only open succeeded while a writer holds the lock")
	}
}

// TestCommitLateAndRedeliveredOutOfOrder: records older than a machine's
// newest are still added when new and dropped when already stored, in the
// same batch and across batches.
func TestCommitLateAndRedeliveredOutOfOrder(t *testing.T) {
	s := openTest(t, time.UTC)
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	steps := []struct {
		recs           []record.Record
		added, dropped int
	}{
		{[]record.Record{cook("m", at(10), 10), cook("m", at(5), 5), cook("m", at(10), 10)}, 2, 1},
		{[]record.Record{cook("m", at(1), 1), cook("m", at(5), 5), cook("m", at(20), 20), cook("m", at(1), 1)}, 2, 2},
		{[]record.Record{cook("m", at(7), 7), cook("m", at(20), 20)}, 1, 1},
	}
	for i, st := range steps {
		res, err := s.Commit(&Batch{Records: st.recs})
		if err != nil {
			t.Fatal(err)
		}
		if res.Added != st.added || res.Duplicates != st.dropped {
			t.Fatalf("step %d: added %d dropped %d, want %d and %d", i, res.Added, res.Duplicates, st.added, st.dropped)
		}
	}
	var seqs []int64
	if err := s.Scan("m", t0, at(60), func(r record.Record) error { seqs = append(seqs, r.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs) != "[1 5 7 10 20]" {
		t.Fatalf("stored %v", seqs)
	}
}
