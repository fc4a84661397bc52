package train

import (
	"context"
	"testing"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// TestGoldenRelease: the trainer reads internal/release's golden release
// (the one the agent's tests install) as the current one, and its model as
// the champion.
func TestGoldenRelease(t *testing.T) {
	pub, err := release.ParsePublicKey(golden.Read(t, golden.Contract(t, "release", "release.pub")))
	if err != nil {
		t.Fatal(err)
	}
	b := objstore.NewDir(golden.Contract(t, "release", "bucket"))
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
