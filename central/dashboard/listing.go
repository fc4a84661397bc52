package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/budare/budare/internal/objstore"
)

// listCache keeps recent listings of the bucket's prefixes (the fleet pages
// list every kitchen's objects) and the parsed form of objects, keyed by
// key and ETag so a rewritten object is read again.
type listCache struct {
	mu    sync.Mutex
	lists map[string]cachedList
	objs  map[objKey]cachedObj
}

// objKey names a parsed form (kind) of an object.
type objKey struct{ kind, key string }

type cachedList struct {
	at    time.Time
	infos []objstore.Info
}

type cachedObj struct {
	etag string
	size int64
	v    any
}

// maxCachedObjs bounds the parsed-object cache; past it the cache starts
// over (a fleet's day summaries are small, ~100 bytes each).
const maxCachedObjs = 200_000

// listing returns the objects under prefix, from a listing at most
// Options.ListTTL old.
func (s *Server) listing(ctx context.Context, prefix string) ([]objstore.Info, error) {
	now := s.opt.Now()
	c := &s.cache
	c.mu.Lock()
	if l, ok := c.lists[prefix]; ok && s.opt.ListTTL > 0 && now.Sub(l.at) < s.opt.ListTTL && !now.Before(l.at) {
		c.mu.Unlock()
		return l.infos, nil
	}
	c.mu.Unlock()
	infos, err := s.store.ListInfo(ctx, prefix)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(infos, func(a, b objstore.Info) int { return strings.Compare(a.Key, b.Key) })
	c.mu.Lock()
	if c.lists == nil {
		c.lists = map[string]cachedList{}
	}
	c.lists[prefix] = cachedList{at: now, infos: infos}
	c.mu.Unlock()
	return infos, nil
}

// under returns the part of a sorted listing whose keys start with prefix.
func under(infos []objstore.Info, prefix string) []objstore.Info {
	i, _ := slices.BinarySearchFunc(infos, prefix, func(o objstore.Info, p string) int { return strings.Compare(o.Key, p) })
	j := i
	for j < len(infos) && strings.HasPrefix(infos[j].Key, prefix) {
		j++
	}
	return infos[i:j]
}

// cachedRead returns parse(object) for the listed object, reading and
// parsing it only when its ETag or size changed since the last read. An
// object without ETag is always read. kind names the parsed form, so one
// object can be cached in two forms.
func cachedRead[T any](ctx context.Context, s *Server, kind string, o objstore.Info, limit int64, parse func([]byte) (T, error)) (T, error) {
	c := &s.cache
	ck := objKey{kind, o.Key}
	if o.ETag != "" {
		c.mu.Lock()
		e, ok := c.objs[ck]
		c.mu.Unlock()
		if ok && e.etag == o.ETag && e.size == o.Size {
			if v, ok := e.v.(T); ok {
				return v, nil
			}
		}
	}
	var zero T
	b, err := s.store.Get(ctx, o.Key, limit)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", o.Key, err)
	}
	if o.ETag != "" {
		c.mu.Lock()
		if c.objs == nil || len(c.objs) >= maxCachedObjs {
			c.objs = map[objKey]cachedObj{}
		}
		c.objs[ck] = cachedObj{etag: o.ETag, size: o.Size, v: v}
		c.mu.Unlock()
	}
	return v, nil
}
