package train

import (
	"context"
	"testing"

	"github.com/budare/budare/internal/golden/contract"
	"github.com/budare/budare/internal/objstore"
)

// TestGoldenRelease: the trainer reads internal/release's golden release
// (the one the agent's tests install) as the current one, and its model as
// the champion.
func TestGoldenRelease(t *testing.T) {
	dir, pub := contract.Release(t)
	b := objstore.NewDir(dir)
	ctx := context.Background()
	n, m, err := Current(ctx, b, pub)
	if err != nil || n != 1 || m == nil || m.Levels == nil {
		t.Fatalf("Current(golden) = %d, %+v, %v", n, m, err)
	}
	cur, champs, err := loadChampions(ctx, b, pub, []string{"domino", "reina-pepiada"})
	if err != nil || cur != 1 {
		t.Fatalf("loadChampions = %d, %v", cur, err)
	}
	if c := champs["domino"]; c == nil || c.err != nil || c.model == nil || c.entry.Trained != 1 {
		t.Fatalf("golden champion = %+v", c)
	}
	if _, listed := champs["reina-pepiada"]; listed {
		t.Error("a champion for a type the release does not have")
	}
}
