package objstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dirReserved starts the names Dir keeps for itself inside its root: the
// metadata tree and temporary files. Keys may not use it.
const dirReserved = ".objstore"

// metaDir holds one JSON file of user metadata per object that has any,
// at the object's key below it.
const metaDir = dirReserved + "-meta"

// Dir is a Bucket kept in a local directory, one file per key: for a
// kitchen or a demo without an S3 server, `simulate --out DIR`, and tests.
// Writes are atomic (temporary file, fsync, rename), so a reader, even
// another process, sees a whole object or none, as with S3. Metadata is kept
// beside the objects in a hidden tree; it is written before the object, so
// an object never lacks the metadata it was written with.
type Dir struct {
	root string
}

// NewDir returns the bucket in directory root.
func NewDir(root string) *Dir { return &Dir{root: root} }

// Root is the directory the objects are in.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

func (d *Dir) metaPath(key string) string {
	return filepath.Join(d.root, metaDir, filepath.FromSlash(key)+".json")
}

// Check reports a missing or unusable directory.
func (d *Dir) Check(context.Context) error {
	fi, err := os.Stat(d.root)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("object store directory %s does not exist (create it, or set s3.dir): %w", d.root, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("object store directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("object store directory %s is not a directory", d.root)
	}
	return nil
}

// EnsureBucket creates the directory when it is missing.
func (d *Dir) EnsureBucket(context.Context) error {
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		return fmt.Errorf("create object store directory: %w", err)
	}
	return nil
}

// Get reads the file of key.
func (d *Dir) Get(_ context.Context, key string, limit int64) ([]byte, error) {
	b, _, err := d.get(key, limit)
	return b, err
}

// get reads the file of key and returns it with the file's description.
func (d *Dir) get(key string, limit int64) ([]byte, fs.FileInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, nil, err
	}
	limit = orDefault(limit)
	fi, err := os.Stat(p)
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist // a key prefix, not an object
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", key, err)
	}
	if fi.Size() > limit {
		return nil, nil, fmt.Errorf("get %s: %w (%d bytes)", key, ErrTooLarge, limit)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", key, err)
	}
	if int64(len(b)) > limit { // replaced between Stat and read
		return nil, nil, fmt.Errorf("get %s: %w (%d bytes)", key, ErrTooLarge, limit)
	}
	return b, fi, nil
}

// Put writes the file of key (and its metadata) atomically.
func (d *Dir) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := d.Check(ctx); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	mp := d.metaPath(key)
	if m := canonicalMeta(meta); m != nil {
		mb, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("put %s: metadata: %w", key, err)
		}
		if err := writeAtomic(mp, mb); err != nil {
			return fmt.Errorf("put %s: metadata: %w", key, err)
		}
	} else if err := os.Remove(mp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("put %s: stale metadata: %w", key, err)
	}
	if err := writeAtomic(p, data); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory so the rename survives a power cut: the
// agent deletes its local copy of a day once the object is written.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, dirReserved+"-put-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if df, err := os.Open(dir); err == nil {
		err = df.Sync()
		df.Close()
		if err != nil {
			return fmt.Errorf("sync %s: %w", dir, err)
		}
	}
	return nil
}

// GetInfo is Get also returning the object's description, made from the
// bytes read (not read twice).
func (d *Dir) GetInfo(ctx context.Context, key string, limit int64) ([]byte, Info, error) {
	b, fi, err := d.get(key, limit)
	if err != nil {
		return nil, Info{}, err
	}
	sum := md5.Sum(b)
	info := Info{Key: key, Size: int64(len(b)), ETag: hex.EncodeToString(sum[:]), Modified: fi.ModTime()}
	if info.Meta, err = d.readMeta(key); err != nil {
		return nil, Info{}, fmt.Errorf("get %s: %w", key, err)
	}
	return b, info, nil
}

// readMeta returns the user metadata stored with key, nil when none.
func (d *Dir) readMeta(key string) (map[string]string, error) {
	mb, err := os.ReadFile(d.metaPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	var meta map[string]string
	if err := json.Unmarshal(mb, &meta); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", d.metaPath(key), err)
	}
	return meta, nil
}

// Stat returns the object's size, the MD5 of its bytes as ETag (as S3 does
// for a single-part object) and its metadata.
func (d *Dir) Stat(_ context.Context, key string) (Info, error) {
	p, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if fi.IsDir() {
		return Info{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	h := md5.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	info := Info{Key: key, Size: n, ETag: hex.EncodeToString(h.Sum(nil)), Modified: fi.ModTime()}
	if info.Meta, err = d.readMeta(key); err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return info, nil
}

// List returns the keys under prefix, sorted.
func (d *Dir) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	err := d.walk(prefix, func(k string, _ fs.DirEntry) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// ListInfo returns the objects under prefix, sorted by key, without their
// metadata. Their ETag is made of size and modification time: it changes
// when the object does, without reading every file for an MD5.
func (d *Dir) ListInfo(_ context.Context, prefix string) ([]Info, error) {
	var out []Info
	err := d.walk(prefix, func(k string, e fs.DirEntry) error {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing
		}
		if err != nil {
			return err
		}
		out = append(out, Info{Key: k, Size: fi.Size(), Modified: fi.ModTime(),
			ETag: fmt.Sprintf("%x-%x", fi.Size(), fi.ModTime().UnixNano())})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// walk calls fn for every object whose key starts with prefix. It starts
// at the prefix's directory, so listing one kitchen's days does not visit
// every other kitchen's files.
func (d *Dir) walk(prefix string, fn func(key string, e fs.DirEntry) error) error {
	start := d.root
	if dir := prefix[:strings.LastIndex(prefix, "/")+1]; dir != "" && !strings.Contains(dir, "..") {
		start = filepath.Join(d.root, filepath.FromSlash(dir))
	}
	return filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(e.Name(), dirReserved) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		k := filepath.ToSlash(rel)
		if !strings.HasPrefix(k, prefix) {
			return nil
		}
		return fn(k, e)
	})
}

// Remove deletes the file of key and its metadata.
func (d *Dir) Remove(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", key, err)
	}
	if err := os.Remove(d.metaPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: metadata: %w", key, err)
	}
	return nil
}
