package modelsync_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/internal/golden/contract"
	"github.com/budare/budare/internal/objstore"
)

// TestGoldenRelease: the agent downloads, verifies and installs
// internal/release's golden release (the trainer's tests load the same
// files), and loads it back from its disk.
func TestGoldenRelease(t *testing.T) {
	ctx := context.Background()
	dir, pub := contract.Release(t)
	src := objstore.NewDir(dir)
	keys, err := src.List(ctx, "")
	if err != nil || len(keys) == 0 {
		t.Fatalf("golden release: %v, %v", keys, err)
	}
	e := newEnv(t)
	for _, k := range keys {
		b, err := src.Get(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.src.Put(ctx, k, b); err != nil {
			t.Fatal(err)
		}
	}
	e.pub = pub
	e.open()
	out, err := e.sync()
	if err != nil || !out.Installed || out.Release != 1 {
		t.Fatalf("sync of the golden release = %+v, %v", out, err)
	}
	r, err := modelsync.LoadInstalled(filepath.Join(e.dir, "models"), pub)
	if err != nil || r.Number != 1 || r.Model("domino") == nil || r.Manifest.Levels == nil {
		t.Fatalf("installed golden release = %+v, %v", r, err)
	}
}
