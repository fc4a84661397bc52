package setup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

func TestCheckInventory(t *testing.T) {
	for _, tc := range []struct {
		name, csv, wantErr string
		kitchens           int
	}{
		{"good", "kitchen,phase,timezone\nk-001,1,America/Caracas\nk-002,2,UTC\n", "", 2},
		{"comments and column order", "# chain\ntimezone,kitchen,phase\nUTC,k-001,1\n", "", 1},
		{"no rows", "kitchen,phase,timezone\n", "lists no kitchen", 0},
		{"missing column", "kitchen,timezone\nk-001,UTC\n", `lacks column "phase"`, 0},
		{"bad time zone", "kitchen,phase,timezone\nk-001,1,Mars/Olympus\n", "line 2: timezone", 0},
		{"duplicate", "kitchen,phase,timezone\nk-001,1,UTC\nk-001,1,UTC\n", "repeats line 2", 0},
		{"placeholder kitchen", "kitchen,phase,timezone\nCHANGE-ME,1,UTC\n", "placeholder", 0},
		{"name no agent accepts", "kitchen,phase,timezone\nla cocina,1,UTC\n", "", 0},
		{"name the agent refuses", "kitchen,phase,timezone\nk:001,1,UTC\n", "letters, digits", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := CheckInventory([]byte(tc.csv))
			if tc.wantErr == "" && tc.kitchens == 0 {
				if err == nil {
					t.Fatalf("accepted %q", tc.csv)
				}
				return
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(ks) != tc.kitchens {
				t.Fatalf("= %d kitchens, %v; want %d", len(ks), err, tc.kitchens)
			}
		})
	}
}

func TestUploadInventoryIsIdempotent(t *testing.T) {
	ctx := context.Background()
	b := objstore.NewDir(t.TempDir())
	if _, err := UploadInventory(ctx, b, nil, false); err == nil || !strings.Contains(err.Error(), "--inventory") {
		t.Fatalf("no inventory anywhere: err %v, want one naming --inventory", err)
	}
	v1 := []byte("kitchen,phase,timezone\nk-001,1,UTC\nk-002,1,UTC\n")
	v2 := []byte("kitchen,phase,timezone\nk-001,1,UTC\nk-003,1,UTC\n")
	steps := []struct {
		data    []byte
		replace bool
		action  string
		err     error
	}{
		{v1, false, "uploaded", nil},
		{v1, false, "unchanged", nil},
		{nil, false, "kept", nil},
		{v2, false, "replaced", ErrInventoryDiffers},
		{v2, true, "replaced", nil},
		{v2, true, "unchanged", nil},
	}
	for i, s := range steps {
		res, err := UploadInventory(ctx, b, s.data, s.replace)
		if !errors.Is(err, s.err) || res.Action != s.action {
			t.Fatalf("step %d: action %q, err %v; want %q, %v", i, res.Action, err, s.action, s.err)
		}
		if s.action == "replaced" && (!slices.Equal(res.Added, []string{"k-003"}) || !slices.Equal(res.Removed, []string{"k-002"})) {
			t.Fatalf("step %d: added %v removed %v", i, res.Added, res.Removed)
		}
	}
	got, err := b.Get(ctx, inventory.Key, 0)
	if err != nil || string(got) != string(v2) {
		t.Fatalf("bucket holds %q, %v; want the replacement", got, err)
	}
	if _, err := UploadInventory(ctx, b, []byte("kitchen,phase,timezone\nk-9,x,UTC\n"), true); err == nil {
		t.Fatal("a bad inventory was accepted")
	}
	if got, _ := b.Get(ctx, inventory.Key, 0); string(got) != string(v2) {
		t.Fatal("a bad inventory replaced the good one")
	}
}

func TestWritePublicKey(t *testing.T) {
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "a.key"), filepath.Join(dir, "a.pub")
	if _, err := release.GenerateKeys(privPath, filepath.Join(dir, "orig.pub")); err != nil {
		t.Fatal(err)
	}
	priv, err := release.LoadPrivateKey(privPath, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"written", "exists"} {
		if got, err := WritePublicKey(priv, pubPath); err != nil || got != want {
			t.Fatalf("WritePublicKey = %q, %v; want %q", got, err, want)
		}
	}
	orig, _ := os.ReadFile(filepath.Join(dir, "orig.pub"))
	if written, _ := os.ReadFile(pubPath); string(orig) != string(written) {
		t.Fatalf("written key differs from keygen's:\n%s\n%s", written, orig)
	}
	if _, err := release.GenerateKeys(filepath.Join(dir, "b.key"), filepath.Join(dir, "b.pub")); err != nil {
		t.Fatal(err)
	}
	if _, err := WritePublicKey(priv, filepath.Join(dir, "b.pub")); err == nil || !strings.Contains(err.Error(), "not the signing key's") {
		t.Fatalf("another key's file: err %v", err)
	}
}
