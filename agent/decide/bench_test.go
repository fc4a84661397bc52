package decide

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

const benchDay = "2026-11-27"

// benchKitchen opens, read-only, the store of a kitchen of the given
// machines with 8 days of data (96 cooks a day, 3 arepa types) and signed
// models installed in dir.
func benchKitchen(b *testing.B, dir string, machines int) (*store.Store, *time.Location) {
	b.Helper()
	if err := decidetest.Kitchen(dir, machines, 8, 96, 3, benchDay, "America/Caracas"); err != nil {
		b.Fatal(err)
	}
	loc, err := time.LoadLocation("America/Caracas")
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "data", "agent.db"), store.Options{Location: loc, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, loc
}

// BenchmarkDecide200 is one decision for 200 machines with 8 days of data;
// .ci/bench.d/40-decide.sh measures the same through the binary.
func BenchmarkDecide200(b *testing.B) {
	dir := b.TempDir()
	st, loc := benchKitchen(b, dir, 200)
	pub, err := release.LoadPublicKey(filepath.Join(dir, "release.pub"))
	if err != nil {
		b.Fatal(err)
	}
	rel, err := modelsync.LoadInstalled(filepath.Join(dir, "data", "models"), ed25519.PublicKey(pub))
	if err != nil || rel == nil {
		b.Fatal(err)
	}
	d := &Decider{Kitchen: "k-bench", Location: loc, Records: st, Models: func() *modelsync.Release { return rel },
		Thresholds: Thresholds{Service: 0.7, Stop: 0.9}}
	b.ResetTimer()
	for b.Loop() {
		got, err := d.Decide(context.Background(), benchDay, time.Now())
		if err != nil || len(got.Actions) != 200 {
			b.Fatalf("%v, %d actions", err, len(got.Actions))
		}
	}
}

// BenchmarkScanRecords reads every machine's 8 stored days the way the
// decision does, decoding only: the part of BenchmarkDecide200 that the
// stored-line decoder (record.DecodeLine) owns. cpu-ns/op is the process's
// CPU time: with other jobs sharing the cores, wall time per op says little.
func BenchmarkScanRecords(b *testing.B) {
	st, loc := benchKitchen(b, b.TempDir(), 50)
	ms, err := st.Machines()
	if err != nil {
		b.Fatal(err)
	}
	from, _ := record.DayStart(benchDay, -8, loc)
	to, _ := record.DayStart(benchDay, 0, loc)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, m := range ms {
			err := st.Scan(m.Machine, from, to, func(r record.Record) error {
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
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
