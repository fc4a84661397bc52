package modelsync_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// TestGoldenRelease: the agent downloads, verifies and installs
// internal/release's golden release (the trainer's tests load the same
// files), and loads it back from its disk.
func TestGoldenRelease(t *testing.T) {
	pub, err := release.ParsePublicKey(golden.Read(t, golden.Contract(t, "release", "release.pub")))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := modelsync.New(modelsync.Options{
		Dir: filepath.Join(dir, "models"), PublicKey: pub, State: st,
		Source:     objstore.NewDir(golden.Contract(t, "release", "bucket")),
		Now:        func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) },
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sync(context.Background())
	if err != nil || !out.Installed || out.Release != 1 {
		t.Fatalf("sync of the golden release = %+v, %v", out, err)
	}
	r, err := modelsync.LoadInstalled(filepath.Join(dir, "models"), pub)
	if err != nil || r.Number != 1 || r.Model("domino") == nil || r.Manifest.Levels == nil {
		t.Fatalf("installed golden release = %+v, %v", r, err)
	}
}
