package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"
)

// Bucket is the object store as budare uses it: whole small objects by key,
// with a few string metadata fields. S3 (MinIO), Dir (a local directory)
// and Mem (tests) implement it; consumers declare the subset they need.
type Bucket interface {
	// Get reads a whole object, at most limit bytes (0 means 1 GiB). It
	// returns an error wrapping ErrNotFound for a missing key and
	// ErrTooLarge for an object above the limit.
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	// Put writes a whole object atomically: readers see the old object or
	// the new one, never a part. The content type follows from the key.
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
	// Stat returns an object's size, ETag and metadata, or ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// ListInfo returns the objects under prefix, sorted by key, with size,
	// time and an ETag that changes with the object (no metadata).
	ListInfo(ctx context.Context, prefix string) ([]Info, error)
	// Remove deletes an object; a missing key is not an error.
	Remove(ctx context.Context, key string) error
	// Check reports, in one line a person understands, why the bucket
	// cannot be used (unreachable, credentials, missing), or nil.
	Check(ctx context.Context) error
}

// Info describes a stored object.
type Info struct {
	Key      string
	Size     int64
	ETag     string // hex MD5 of the bytes for a single-part object, unquoted
	Modified time.Time
	// Meta holds the user metadata with canonical keys ("Sha256"), as S3
	// returns them.
	Meta map[string]string
}

// MetaValue returns a metadata field whatever the case of its key.
func (i Info) MetaValue(key string) string {
	if v, ok := i.Meta[textproto.CanonicalMIMEHeaderKey(key)]; ok {
		return v
	}
	for k, v := range i.Meta {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// ErrNotFound is returned (wrapped) by Get and Stat for a missing key.
var ErrNotFound = errors.New("object not found")

// ErrTooLarge is returned (wrapped) by Get for an object above its limit.
var ErrTooLarge = errors.New("object larger than the limit")

// defaultLimit bounds a Get without a limit: daily windows and models are
// far smaller.
const defaultLimit = 1 << 30

func orDefault(limit int64) int64 {
	if limit <= 0 {
		return defaultLimit
	}
	return limit
}

// Open returns the bucket the config names: the directory of s3.dir, or the
// S3 server of s3.endpoint. It does not touch the network; call Check.
func Open(cfg Config, credDir string) (Bucket, error) {
	if cfg.Dir != "" {
		if ps := cfg.Problems(credDir); len(ps) > 0 {
			return nil, fmt.Errorf("s3 config: %s", strings.Join(ps, "; "))
		}
		return NewDir(cfg.Dir), nil
	}
	return New(cfg, credDir)
}

// EnsureBucket creates b's bucket (or directory) when it is missing, for
// central, the demo and tests; a bucket that cannot be created is left to
// Check to explain.
func EnsureBucket(ctx context.Context, b Bucket) error {
	if e, ok := b.(interface{ EnsureBucket(context.Context) error }); ok {
		return e.EnsureBucket(ctx)
	}
	return b.Check(ctx)
}

// ContentType is the content type an object of key is stored with.
func ContentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	case strings.HasSuffix(key, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(key, ".csv"):
		return "text/csv"
	}
	return "text/plain"
}

// checkKey refuses keys that S3 would take but that have no file of their
// own in a directory, so every backend accepts the same keys.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || len(key) > 1024 {
		return fmt.Errorf("bad object key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, dirReserved) || strings.ContainsRune(seg, 0) {
			return fmt.Errorf("bad object key %q", key)
		}
	}
	return nil
}

// canonicalMeta returns meta with canonical keys, or nil when empty.
func canonicalMeta(meta map[string]string) map[string]string {
	if len(meta) == 0 {
		return nil
	}
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		out[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	return out
}
