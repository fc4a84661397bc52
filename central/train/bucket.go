package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/budare/budare/internal/objstore"
)

// Bucket is the part of the object store the trainer uses. Get returns an
// error wrapping objstore.ErrNotFound for a missing key.
type Bucket interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
	List(ctx context.Context, prefix string) ([]string, error)
}

// metaGetter is a Bucket that also returns an object's user metadata with
// its bytes, so a window's recorded checksum can be checked at no cost.
type metaGetter interface {
	GetMeta(ctx context.Context, key string) ([]byte, map[string]string, error)
}

// Deleter is a Bucket that can remove objects (staging cleanup).
type Deleter interface {
	Delete(ctx context.Context, key string) error
}

// IsNotFound reports whether err is a missing key.
func IsNotFound(err error) bool { return errors.Is(err, objstore.ErrNotFound) }

// Store adapts an *objstore.Store (MinIO, S3) to Bucket.
type Store struct{ S *objstore.Store }

// maxObject bounds what the trainer reads into memory: daily windows and
// models are far smaller.
const maxObject = 1 << 30

// Get reads a whole object.
func (b Store) Get(ctx context.Context, key string) ([]byte, error) {
	return b.S.Get(ctx, key, maxObject)
}

// Put writes a whole object.
func (b Store) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	_, err := b.S.Put(ctx, key, data, contentType(key), meta)
	return err
}

// GetMeta reads a whole object and its user metadata.
func (b Store) GetMeta(ctx context.Context, key string) ([]byte, map[string]string, error) {
	return b.S.GetMeta(ctx, key, maxObject)
}

// Delete removes an object.
func (b Store) Delete(ctx context.Context, key string) error { return b.S.Delete(ctx, key) }

// List lists the keys under prefix, sorted.
func (b Store) List(ctx context.Context, prefix string) ([]string, error) {
	return b.S.List(ctx, prefix)
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	case strings.HasSuffix(key, ".ndjson.gz"):
		return "application/gzip"
	case strings.HasSuffix(key, ".csv"):
		return "text/csv"
	}
	return "text/plain"
}

// Dir is a Bucket kept in a local directory, one file per key: for
// `simulate --out DIR`, for a trainer run without a store, and for tests.
// Metadata is not kept.
type Dir string

func (d Dir) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || slices.Contains(strings.Split(key, "/"), "..") {
		return "", fmt.Errorf("bad object key %q", key)
	}
	return filepath.Join(string(d), filepath.FromSlash(key)), nil
}

// Get reads the file of key.
func (d Dir) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get %s: %w", key, objstore.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return b, nil
}

// Put writes the file of key atomically (temp file and rename), so a reader
// never sees half an object, as with S3.
func (d Dir) Put(_ context.Context, key string, data []byte, _ map[string]string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Delete removes the file of key; a missing one is not an error.
func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List returns the keys under prefix, sorted.
func (d Dir) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := string(d)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".put-") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		k := filepath.ToSlash(rel)
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}
