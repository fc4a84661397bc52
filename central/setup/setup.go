// Package setup prepares a chain's central bucket for its agents
// (`budare-central init`): it checks the kitchen inventory the way the
// trainer reads it, uploads it when it changed, and writes the release
// public key the gateways install. Every step is idempotent, so init can be
// run again after editing the inventory.
package setup

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/budare/budare/internal/inventory"
	"github.com/budare/budare/internal/objstore"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// Bucket is the part of the central store init uses (every
// objstore.Bucket has it).
type Bucket interface {
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
}

// CheckInventory parses kitchens.csv with internal/inventory and checks
// every kitchen name against the kitchen rule the agent's config uses (record.CheckKitchen), so no kitchen is
// listed that no agent could be configured as.
func CheckInventory(data []byte) ([]inventory.Kitchen, error) {
	ks, err := inventory.Decode(data)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		return nil, errors.New("kitchens.csv lists no kitchen")
	}
	for _, k := range ks {
		if err := record.CheckKitchen(k.Name); err != nil {
			return nil, fmt.Errorf("kitchens.csv: %w", err)
		}
	}
	return ks, nil
}

// InventoryResult says what UploadInventory did.
type InventoryResult struct {
	Kitchens []inventory.Kitchen
	// Action is "uploaded" (there was none), "unchanged", "replaced" or
	// "kept" (no file given: the bucket's inventory was checked).
	Action           string
	Added, Removed   []string // kitchens, when replaced (or refused)
	PreviousKitchens int
}

// ErrInventoryDiffers is returned when the bucket holds another inventory
// and replace was not asked for.
var ErrInventoryDiffers = errors.New("the bucket holds a different inventory")

// UploadInventory checks data and puts it at inventory.Key. An
// identical inventory is left alone; a different one is replaced only when
// replace is set, since dropping a kitchen drops it from training. With
// data nil, the bucket's inventory is checked instead.
func UploadInventory(ctx context.Context, b Bucket, data []byte, replace bool) (InventoryResult, error) {
	var res InventoryResult
	old, err := b.Get(ctx, inventory.Key, 0)
	if err != nil && !errors.Is(err, objstore.ErrNotFound) {
		return res, fmt.Errorf("read %s: %w", inventory.Key, err)
	}
	exists := err == nil
	if data == nil {
		if !exists {
			return res, fmt.Errorf("the bucket has no %s yet: give --inventory FILE (kitchen,phase,timezone per line)", inventory.Key)
		}
		if res.Kitchens, err = CheckInventory(old); err != nil {
			return res, fmt.Errorf("the bucket's %s: %w", inventory.Key, err)
		}
		res.Action = "kept"
		return res, nil
	}
	if res.Kitchens, err = CheckInventory(data); err != nil {
		return res, err
	}
	switch {
	case !exists:
		res.Action = "uploaded"
	case bytes.Equal(old, data):
		res.Action = "unchanged"
		return res, nil
	default:
		res.Action = "replaced"
		prev, perr := inventory.Decode(old)
		if perr == nil {
			res.PreviousKitchens = len(prev)
			res.Added, res.Removed = diff(names(prev), names(res.Kitchens))
		}
		if !replace {
			return res, fmt.Errorf("%w (%d kitchens; the file adds %v and removes %v): give --replace to upload it",
				ErrInventoryDiffers, res.PreviousKitchens, res.Added, res.Removed)
		}
	}
	if err := b.Put(ctx, inventory.Key, data, nil); err != nil {
		return res, fmt.Errorf("upload %s: %w", inventory.Key, err)
	}
	return res, nil
}

func names(ks []inventory.Kitchen) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}

// diff returns what is in b but not a, and in a but not b.
func diff(a, b []string) (added, removed []string) {
	for _, n := range b {
		if !slices.Contains(a, n) {
			added = append(added, n)
		}
	}
	for _, n := range a {
		if !slices.Contains(b, n) {
			removed = append(removed, n)
		}
	}
	return added, removed
}

// WritePublicKey makes sure path holds priv's public key, the file every
// gateway installs as models.release_public_key_file. It returns "written"
// or "exists"; a file holding another key is an error, never overwritten:
// agents configured with it would refuse every release.
func WritePublicKey(priv ed25519.PrivateKey, path string) (string, error) {
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok {
		return "", errors.New("signing key: not an ed25519 key")
	}
	if have, err := release.LoadPublicKey(path); err == nil {
		if !have.Equal(pub) {
			return "", fmt.Errorf("public key %s is not the signing key's: agents installing it would refuse every release (remove it, or give --public-key another file)", path)
		}
		return "exists", nil
	} else if _, serr := os.Stat(path); serr == nil {
		return "", err
	}
	b, err := release.EncodePublicKey(pub)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("write public key: %w", err)
	}
	return "written", nil
}
