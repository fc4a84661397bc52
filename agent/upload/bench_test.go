package upload

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
)

// kitchenDay is one local day of a 20-machine kitchen, about 300 cooking
// cycles per machine, with realistic metric noise (so compression is not
// flattered by repeated values) and a few events.
func kitchenDay(loc *time.Location, day string, machines, cycles int) []record.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	from, _ := time.ParseInLocation(time.DateOnly, day, loc)
	arepas := []string{"reina-pepiada", "domino", "pabellon", "catira", "perico", "de-pernil"}
	round := func(v float64, d int) float64 { p := math.Pow(10, float64(d)); return math.Round(v*p) / p }
	var out []record.Record
	for m := range machines {
		name := fmt.Sprintf("m-%02d", m+1)
		seq := int64(10000 * (m + 1))
		// Opening hours 06:00-22:00: 300 cycles in 16 h.
		step := 16 * time.Hour / time.Duration(cycles)
		ts := from.Add(6 * time.Hour)
		for range cycles {
			ts = ts.Add(step + time.Duration(rng.IntN(20000)-10000)*time.Millisecond)
			out = append(out, record.Record{Machine: name, Type: record.TypeCook, TS: ts.UTC().Truncate(time.Millisecond), Seq: seq,
				Arepa: arepas[rng.IntN(len(arepas))],
				Metrics: map[string]float64{
					"plate_temp_c":    round(231+rng.NormFloat64()*2.5, 1),
					"cook_time_s":     float64(400 + rng.IntN(40)),
					"energy_wh":       round(38+rng.NormFloat64()*1.5, 1),
					"motor_current_a": round(2.1+rng.NormFloat64()*0.1, 2),
					"vibration_mm_s":  round(1.4+rng.NormFloat64()*0.2, 2),
					"door_cycles":     float64(1 + rng.IntN(3)),
				}})
			seq++
		}
		if m%7 == 0 {
			out = append(out, record.Record{Machine: name, Type: record.TypeEvent, TS: from.Add(13 * time.Hour).UTC(), Seq: seq,
				Kind: record.KindFault, Code: "MOTOR_STALL", Note: "motor stalled during cycle"})
		}
	}
	return out
}

// BenchmarkUploadDay measures one day of a 20-machine kitchen (~6,000
// records): reading it from the store, encoding the window, uploading it to
// a real MinIO and verifying it. It reports the window's compressed bytes
// per record and the seconds per day uploaded.
func BenchmarkUploadDay(b *testing.B) {
	m := testenv.MinIO(b)
	obj := connect(b, m)
	loc, _ := time.LoadLocation("America/Caracas")
	st, err := store.Open(filepath.Join(b.TempDir(), "budare.db"), store.Options{Location: loc})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const day = "2026-11-25"
	recs := kitchenDay(loc, day, 20, 300)
	for i := 0; i < len(recs); i += 1000 {
		if _, err := st.Commit(&store.Batch{Records: recs[i:min(i+1000, len(recs))]}); err != nil {
			b.Fatal(err)
		}
	}
	di, _, err := st.Day(day)
	if err != nil || di.Records != uint64(len(recs)) {
		b.Fatalf("day %+v, %v", di, err)
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, loc)
	var ds DayState
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// A new kitchen name each time, so every iteration is a first upload.
		svc, err := New(Config{Kitchen: fmt.Sprintf("bench-%d", i), Location: loc}, st, obj, nil)
		if err != nil {
			b.Fatal(err)
		}
		ds = DayState{}
		if err := svc.uploadDay(ctx, di, &ds, now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if ds.Records != len(recs) {
		b.Fatalf("uploaded %d records, want %d", ds.Records, len(recs))
	}
	b.ReportMetric(float64(ds.Bytes)/float64(ds.Records), "bytes/record")
	raw := 0
	for _, r := range recs {
		line, _ := json.Marshal(r)
		raw += len(line) + 1
	}
	b.ReportMetric(float64(raw)/float64(ds.Records), "ndjson_bytes/record")
	b.ReportMetric(float64(ds.Bytes), "object_bytes")
	b.ReportMetric(float64(ds.Records), "records/day")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/day")
}
