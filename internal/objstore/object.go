package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("object not found")

// ErrTooLarge is returned (wrapped) by Get for an object above its limit.
var ErrTooLarge = errors.New("object larger than the limit")

// Put writes a whole object from memory. Objects budare writes are small
// (a day's window, a model, a manifest), so memory is the simplest path.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string, meta map[string]string) (minio.UploadInfo, error) {
	info, err := s.Client.PutObject(ctx, s.Bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType, UserMetadata: meta})
	if err != nil {
		return info, fmt.Errorf("put %s: %w", key, s.Explain(err))
	}
	return info, nil
}

// Get reads a whole object, at most limit bytes (0 means 1 GiB), returning
// ErrNotFound (wrapped) when the key does not exist.
func (s *Store) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	obj, err := s.Client.GetObject(ctx, s.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, s.Explain(err))
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, limit+1))
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "NoSuchKey" {
			return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", key, s.Explain(err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("get %s: %w (%d bytes)", key, ErrTooLarge, limit)
	}
	return b, nil
}

// Stat returns an object's metadata, or ErrNotFound (wrapped).
func (s *Store) Stat(ctx context.Context, key string) (minio.ObjectInfo, error) {
	info, err := s.Client.StatObject(ctx, s.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "NoSuchKey" || resp.StatusCode == 404) {
			return info, fmt.Errorf("stat %s: %w", key, ErrNotFound)
		}
		return info, fmt.Errorf("stat %s: %w", key, s.Explain(err))
	}
	return info, nil
}

// List returns the keys under prefix, sorted (S3 lists in key order).
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range s.Client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, s.Explain(o.Err))
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}

// ObjectInfo is what a listing says about one object.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
	ETag         string
}

// ListInfo returns the objects under prefix with their size, time and ETag,
// sorted by key: enough to tell a changed object or a late upload without
// downloading it.
func (s *Store) ListInfo(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	for o := range s.Client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, s.Explain(o.Err))
		}
		out = append(out, ObjectInfo{Key: o.Key, Size: o.Size, LastModified: o.LastModified, ETag: o.ETag})
	}
	return out, nil
}
