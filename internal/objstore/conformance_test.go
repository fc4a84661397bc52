package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestConformance runs the same contract against every Bucket: S3 on a real
// MinIO, Dir and Mem. Consumers rely on exactly these behaviours.
func TestConformance(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) Bucket
	}{
		{"mem", func(*testing.T) Bucket { return NewMem() }},
		{"dir", func(t *testing.T) Bucket {
			d := NewDir(filepath.Join(t.TempDir(), "bucket"))
			if err := EnsureBucket(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"s3", func(t *testing.T) Bucket {
			m := startMinIO(t)
			a, sk := writeKeys(t, m.AccessKey, m.SecretKey)
			s, err := Open(Config{Endpoint: m.Endpoint, Bucket: "conformance", AccessKeyFile: a, SecretKeyFile: sk, TLS: ptr(false)}, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := EnsureBucket(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			b := be.open(t)
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, b) })
			}
		})
	}
}

// conformanceCases share one bucket per backend (MinIO starts once), so
// each uses keys under its own prefix.
var conformanceCases = []struct {
	name string
	run  func(t *testing.T, b Bucket)
}{
	{"check", func(t *testing.T, b Bucket) {
		if err := b.Check(context.Background()); err != nil {
			t.Fatalf("check: %v", err)
		}
	}},
	{"missing key", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		if _, err := b.Get(ctx, "missing/nope", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("get: %v, want ErrNotFound", err)
		}
		if _, err := b.Stat(ctx, "missing/nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("stat: %v, want ErrNotFound", err)
		}
		if err := b.Remove(ctx, "missing/nope"); err != nil {
			t.Errorf("remove of a missing key: %v, want nil", err)
		}
	}},
	{"round trip", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		key := "rt/windows/k-1/2026-11-02.ndjson.gz"
		body := []byte("hello window")
		if err := b.Put(ctx, key, body, map[string]string{"sha256": "abc", "Records": "12"}); err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(ctx, key, 0)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("get: %q %v", got, err)
		}
		if _, err := b.Get(ctx, key, 3); !errors.Is(err, ErrTooLarge) {
			t.Errorf("get beyond the limit: %v, want ErrTooLarge", err)
		}
		if got, err := b.Get(ctx, key, int64(len(body))); err != nil || !bytes.Equal(got, body) {
			t.Errorf("get at exactly the limit: %q %v", got, err)
		}
		info, err := b.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(body)
		if info.Size != int64(len(body)) || info.ETag != hex.EncodeToString(sum[:]) || info.Modified.IsZero() {
			t.Errorf("stat: %+v, want size %d and the MD5 as ETag", info, len(body))
		}
		if info.Meta["Sha256"] != "abc" || info.MetaValue("sha256") != "abc" || info.MetaValue("RECORDS") != "12" {
			t.Errorf("metadata: %v, want canonical keys Sha256 and Records", info.Meta)
		}
	}},
	{"overwrite replaces data and metadata", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		key := "ow/models/current"
		if err := b.Put(ctx, key, []byte("1\n"), map[string]string{"Old": "x"}); err != nil {
			t.Fatal(err)
		}
		if err := b.Put(ctx, key, []byte("22\n"), nil); err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(ctx, key, 0)
		if err != nil || string(got) != "22\n" {
			t.Fatalf("get: %q %v", got, err)
		}
		info, err := b.Stat(ctx, key)
		if err != nil || info.Size != 3 || info.MetaValue("Old") != "" {
			t.Errorf("stat after overwrite: %+v %v", info, err)
		}
	}},
	{"empty object", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		if err := b.Put(ctx, "empty/x.json", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Get(ctx, "empty/x.json", 0); err != nil || len(got) != 0 {
			t.Errorf("get: %q %v", got, err)
		}
	}},
	{"list is recursive, sorted and by prefix", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		keys := []string{"ls/b/2.json", "ls/a/1.csv", "ls/a/sub/3.ndjson.gz", "lsx/other", "ls/a/0"}
		for _, k := range keys {
			if err := b.Put(ctx, k, []byte(k), map[string]string{"K": k}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"ls/", []string{"ls/a/0", "ls/a/1.csv", "ls/a/sub/3.ndjson.gz", "ls/b/2.json"}},
			{"ls/a/", []string{"ls/a/0", "ls/a/1.csv", "ls/a/sub/3.ndjson.gz"}},
			{"ls/a/1", []string{"ls/a/1.csv"}},
			{"ls", []string{"ls/a/0", "ls/a/1.csv", "ls/a/sub/3.ndjson.gz", "ls/b/2.json", "lsx/other"}},
			{"nothing/", nil},
		} {
			got, err := b.List(ctx, tc.prefix)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("list %q = %v %v, want %v", tc.prefix, got, err, tc.want)
			}
			infos, err := b.ListInfo(ctx, tc.prefix)
			if err != nil || len(infos) != len(tc.want) {
				t.Fatalf("list info %q = %d objects %v, want %d", tc.prefix, len(infos), err, len(tc.want))
			}
			for i, o := range infos {
				if o.Key != tc.want[i] || o.Size != int64(len(o.Key)) || o.ETag == "" || o.Modified.IsZero() {
					t.Errorf("list info %q [%d] = %+v, want key %s of %d bytes with an ETag and a time", tc.prefix, i, o, tc.want[i], len(tc.want[i]))
				}
			}
		}
	}},
	{"small objects come back whole", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		for _, v := range []string{"", "x", "{}", "7\n", "abc", "[1,2]"} {
			key := fmt.Sprintf("small/%d", len(v))
			if err := b.Put(ctx, key, []byte(v), nil); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, key, 0)
			if err != nil || string(got) != v {
				t.Errorf("get of %q = %q, %v", v, got, err)
			}
			if got, err := b.Get(ctx, key, int64(len(v))); err != nil || string(got) != v {
				t.Errorf("get of %q at a limit of its size = %q, %v", v, got, err)
			}
		}
	}},
	{"get info returns the bytes and their metadata", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		if err := b.Put(ctx, "gi/x", []byte("hello"), map[string]string{"Sha256": "abc"}); err != nil {
			t.Fatal(err)
		}
		ig, ok := b.(interface {
			GetInfo(context.Context, string, int64) ([]byte, Info, error)
		})
		if !ok {
			t.Fatal("no GetInfo")
		}
		data, info, err := ig.GetInfo(ctx, "gi/x", 0)
		if err != nil || string(data) != "hello" || info.Size != 5 || info.MetaValue("sha256") != "abc" {
			t.Errorf("get info = %q %+v %v", data, info, err)
		}
		if _, _, err := ig.GetInfo(ctx, "gi/none", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("get info of a missing key: %v, want ErrNotFound", err)
		}
	}},
	{"a prefix is not an object", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		if err := b.Put(ctx, "pf/a/b", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "pf/a", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("get of a prefix: %v, want ErrNotFound", err)
		}
	}},
	{"remove", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		if err := b.Put(ctx, "rm/x", []byte("x"), map[string]string{"A": "1"}); err != nil {
			t.Fatal(err)
		}
		if err := b.Remove(ctx, "rm/x"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "rm/x", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("get after remove: %v", err)
		}
		if keys, _ := b.List(ctx, "rm/"); len(keys) != 0 {
			t.Errorf("list after remove: %v", keys)
		}
		if err := b.Put(ctx, "rm/x", []byte("y"), nil); err != nil {
			t.Fatal(err)
		}
		if info, err := b.Stat(ctx, "rm/x"); err != nil || len(info.Meta) != 0 {
			t.Errorf("metadata came back after remove and put: %+v %v", info, err)
		}
	}},
	{"bad keys are refused", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		for _, k := range []string{"", "/abs", "a//b", "a/../b", "a/./b", "dir/", ".objstore-meta/x"} {
			if err := b.Put(ctx, k, []byte("x"), nil); err == nil {
				t.Errorf("put %q succeeded, want an error", k)
			}
		}
	}},
	{"concurrent writers and readers see whole objects", func(t *testing.T, b Bucket) {
		ctx := context.Background()
		key := "cc/obj"
		vals := [][]byte{bytes.Repeat([]byte("a"), 64<<10), bytes.Repeat([]byte("b"), 32<<10)}
		if err := b.Put(ctx, key, vals[0], nil); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errc := make(chan error, 40)
		for i := range 20 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := b.Put(ctx, key, vals[i%2], nil); err != nil {
					errc <- err
				}
			}()
			go func() {
				defer wg.Done()
				got, err := b.Get(ctx, key, 0)
				if err != nil {
					errc <- err
				} else if !bytes.Equal(got, vals[0]) && !bytes.Equal(got, vals[1]) {
					errc <- fmt.Errorf("read a torn object of %d bytes", len(got))
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
	}},
}

func TestDirMissingRoot(t *testing.T) {
	d := NewDir(filepath.Join(t.TempDir(), "absent"))
	ctx := context.Background()
	if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("check: %v, want does not exist", err)
	}
	if err := d.Put(ctx, "a", []byte("x"), nil); err == nil {
		t.Error("put into a missing directory succeeded (a typo or unmounted share would fill the wrong disk)")
	}
	if err := EnsureBucket(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "a", []byte("x"), nil); err != nil {
		t.Errorf("put after EnsureBucket: %v", err)
	}
	// No temporary file is left behind.
	ents, err := os.ReadDir(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), "-put-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestConfigSelectsBackend(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantDir  bool
		problems []string
	}{
		{"dir", Config{Dir: "/var/lib/budare/bucket"}, true, nil},
		{"relative dir", Config{Dir: "bucket"}, false, []string{"must be an absolute path"}},
		{"dir and endpoint", Config{Dir: "/b", Endpoint: "127.0.0.1:9000"}, false, []string{"remove s3.endpoint"}},
		{"dir and bucket", Config{Dir: "/b", Bucket: "budare"}, false, []string{"no meaning with s3.dir"}},
		{"neither", Config{}, false, []string{"s3.endpoint is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := strings.Join(tc.cfg.Problems(""), "\n")
			for _, w := range tc.problems {
				if !strings.Contains(ps, w) {
					t.Errorf("problems %q lack %q", ps, w)
				}
			}
			b, err := Open(tc.cfg, "")
			if tc.wantDir {
				if _, ok := b.(*Dir); !ok || err != nil {
					t.Errorf("open = %T %v, want *Dir", b, err)
				}
			} else if err == nil {
				t.Errorf("open succeeded with %T, want an error", b)
			}
		})
	}
}
