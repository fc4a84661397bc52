package train

import (
	"context"
	"errors"

	"github.com/budare/budare/internal/objstore"
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

// Remover is a Bucket that can remove objects (staging cleanup).
type Remover interface {
	Remove(ctx context.Context, key string) error
}

// IsNotFound reports whether err is a missing key.
func IsNotFound(err error) bool { return errors.Is(err, objstore.ErrNotFound) }
