package decide

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// BenchmarkScanRecords reads every machine's 8 stored days the way the
// decision does, decoding only: the part of BenchmarkDecide200 that the
// stored-line decoder owns.
func BenchmarkScanRecords(b *testing.B) {
	dir := b.TempDir()
	const day = "2026-11-27"
	if err := decidetest.Kitchen(dir, 50, 8, 96, 3, day, "America/Caracas"); err != nil {
		b.Fatal(err)
	}
	loc, _ := time.LoadLocation("America/Caracas")
	st, err := store.Open(filepath.Join(dir, "data", "agent.db"), store.Options{Location: loc, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ms, err := st.Machines()
	if err != nil {
		b.Fatal(err)
	}
	from, _ := DayStart(day, -8, loc)
	to, _ := DayStart(day, 0, loc)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, m := range ms {
			err := scanRecords(StoreRecords{st}, m.Machine, from, to, func(r record.Record) error {
				n += len(r.Metrics)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if n == 0 {
			b.Fatal("no records")
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time: with other jobs sharing
// the cores, wall time per op says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
