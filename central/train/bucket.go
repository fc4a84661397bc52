package train

import (
	"context"
	"errors"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/window"
)

// Bucket is the part of the object store the trainer uses; every
// objstore.Bucket (S3, Dir, Mem) satisfies it. Get returns an error
// wrapping objstore.ErrNotFound for a missing key; a limit of 0 is 1 GiB,
// far above a daily window or a model.
type Bucket interface {
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
	List(ctx context.Context, prefix string) ([]string, error)
}

// infoGetter is a Bucket that also returns an object's metadata with its
// bytes (objstore's buckets do), so a window's recorded checksum can be
// checked at no cost.
type infoGetter interface {
	GetInfo(ctx context.Context, key string, limit int64) ([]byte, objstore.Info, error)
}

// getWindow reads a window's bytes and, when the bucket gives metadata, the
// SHA-256 recorded with it ("" when it does not).
func getWindow(ctx context.Context, b Bucket, key string) (data []byte, sum string, err error) {
	ig, ok := b.(infoGetter)
	if !ok {
		data, err = b.Get(ctx, key, 0)
		return data, "", err
	}
	data, info, err := ig.GetInfo(ctx, key, 0)
	return data, info.MetaValue(window.MetaSHA256), err
}

// Remover is a Bucket that can remove objects (staging cleanup).
type Remover interface {
	Remove(ctx context.Context, key string) error
}

// IsNotFound reports whether err is a missing key.
func IsNotFound(err error) bool { return errors.Is(err, objstore.ErrNotFound) }
