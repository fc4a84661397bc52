package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

// BenchmarkCommit1000 commits batches of 1,000 cook records from 20
// machines, as the ingester does at full rate: ns/op is one commit, two
// fsyncs included, and ns/record each record's share. "records" hands the
// store decoded records to encode; "lines" hands it the lines already
// encoded, as the ingester does.
func BenchmarkCommit1000(b *testing.B) {
	for _, encoded := range []bool{false, true} {
		name := "records"
		if encoded {
			name = "lines"
		}
		b.Run(name, func(b *testing.B) { benchCommit(b, encoded) })
	}
}

func benchCommit(b *testing.B, encoded bool) {
	s, err := Open(filepath.Join(b.TempDir(), "budare.db"), Options{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	metrics := map[string]float64{"plate_temp_c": 231.4, "batter_temp_c": 24.1, "cycle_s": 412.5,
		"power_w": 1830.2, "vibration_rms": 0.0213, "motor_current_a": 3.41, "press_force_n": 142.7, "door_open_s": 3.2}
	var machines [20]string
	for i := range machines {
		machines[i] = fmt.Sprintf("m-%02d", i)
	}
	var batch Batch
	seq := int64(0)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch.Records, batch.Lines = batch.Records[:0], batch.Lines[:0]
		for i := range 1000 {
			m := i % 20
			if m == 0 {
				seq++
			}
			r := record.Record{Machine: machines[m], Type: record.TypeCook,
				TS: t0.Add(time.Duration(seq) * time.Second), Seq: seq, Arepa: "reina-pepiada", Metrics: metrics}
			if encoded {
				batch.Lines = append(batch.Lines, Line{Machine: r.Machine, TS: r.TS, Seq: r.Seq, JSON: record.AppendLine(nil, &r)})
			} else {
				batch.Records = append(batch.Records, r)
			}
		}
		b.StartTimer()
		if _, err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/record")
}
