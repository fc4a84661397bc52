package objstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Mem is a Bucket in memory, for tests. The zero value is an empty bucket.
type Mem struct {
	mu   sync.Mutex
	objs map[string]memObject
}

type memObject struct {
	data []byte
	info Info
}

// NewMem returns an empty in-memory bucket.
func NewMem() *Mem { return &Mem{} }

// Check always succeeds.
func (m *Mem) Check(context.Context) error { return nil }

// Get returns a copy of the object.
func (m *Mem) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	b, _, err := m.GetInfo(ctx, key, limit)
	return b, err
}

// GetInfo is Get also returning the object's description.
func (m *Mem) GetInfo(_ context.Context, key string, limit int64) ([]byte, Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		return nil, Info{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if limit = orDefault(limit); int64(len(o.data)) > limit {
		return nil, Info{}, fmt.Errorf("get %s: %w (%d bytes)", key, ErrTooLarge, limit)
	}
	info := o.info
	info.Meta = maps.Clone(o.info.Meta)
	return slices.Clone(o.data), info, nil
}

// Put stores a copy of data and meta.
func (m *Mem) Put(_ context.Context, key string, data []byte, meta map[string]string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	sum := md5.Sum(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string]memObject{}
	}
	m.objs[key] = memObject{data: slices.Clone(data), info: Info{Key: key, Size: int64(len(data)),
		ETag: hex.EncodeToString(sum[:]), Modified: time.Now(), Meta: canonicalMeta(meta)}}
	return nil
}

// Stat returns the object's description.
func (m *Mem) Stat(_ context.Context, key string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		return Info{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	info := o.info
	info.Meta = maps.Clone(o.info.Meta)
	return info, nil
}

// List returns the keys under prefix, sorted.
func (m *Mem) List(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// ListInfo returns the objects under prefix, sorted by key.
func (m *Mem) ListInfo(_ context.Context, prefix string) ([]Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Info
	for k, o := range m.objs {
		if strings.HasPrefix(k, prefix) {
			info := o.info
			info.Meta = nil
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Remove deletes the object.
func (m *Mem) Remove(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}
