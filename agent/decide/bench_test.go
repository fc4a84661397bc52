package decide

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/release"
)

// BenchmarkDecide200 is one decision for 200 machines with 8 days of data;
// .ci/bench.d/40-decide.sh measures the same through the binary.
func BenchmarkDecide200(b *testing.B) {
	dir := b.TempDir()
	const day = "2026-11-27"
	if err := decidetest.Kitchen(dir, 200, 8, 96, 3, day, "America/Caracas"); err != nil {
		b.Fatal(err)
	}
	loc, _ := time.LoadLocation("America/Caracas")
	st, err := store.Open(filepath.Join(dir, "data", "agent.db"), store.Options{Location: loc, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	pub, err := release.LoadPublicKey(filepath.Join(dir, "release.pub"))
	if err != nil {
		b.Fatal(err)
	}
	rel, err := modelsync.LoadInstalled(filepath.Join(dir, "data", "models"), ed25519.PublicKey(pub))
	if err != nil || rel == nil {
		b.Fatal(err)
	}
	d := &Decider{Kitchen: "k-bench", Location: loc, Records: StoreRecords{st}, Models: func() *modelsync.Release { return rel },
		Thresholds: Thresholds{Service: 0.7, Stop: 0.9}}
	b.ResetTimer()
	for b.Loop() {
		got, err := d.Decide(context.Background(), day, time.Now())
		if err != nil || len(got.Actions) != 200 {
			b.Fatalf("%v, %d actions", err, len(got.Actions))
		}
	}
}
