package modelsync_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

type env struct {
	t     *testing.T
	dir   string
	st    *store.Store
	src   *mst.Mem
	pub   ed25519.PublicKey
	priv  ed25519.PrivateKey
	now   time.Time
	reg   *prometheus.Registry
	syncr *modelsync.Syncer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, dir: dir, st: st, src: &mst.Mem{}, pub: pub, priv: priv,
		now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	e.open()
	return e
}

// open (re)creates the syncer, as an agent restart does.
func (e *env) open() {
	e.t.Helper()
	e.reg = prometheus.NewRegistry()
	s, err := modelsync.New(modelsync.Options{
		Dir: filepath.Join(e.dir, "models"), PublicKey: e.pub, Source: e.src, State: e.st,
		Now: func() time.Time { return e.now }, Registerer: e.reg,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.syncr = s
}

func (e *env) publish(n int64, arepas ...string) *mst.Release {
	e.t.Helper()
	ms := map[string]*model.Model{}
	for _, a := range arepas {
		ms[a] = mst.Model(a, float64(n)/10)
	}
	r, err := mst.Publish(context.Background(), e.src.Put, mst.Options{Release: n, Models: ms, Key: e.priv,
		Created: e.now.Add(-time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) sync() (modelsync.Outcome, error) {
	return e.syncr.Sync(context.Background())
}

func TestAcceptInstallAndReload(t *testing.T) {
	e := newEnv(t)
	e.publish(3, "reina-pepiada", "domino")
	out, err := e.sync()
	if err != nil || !out.Installed || out.Release != 3 {
		t.Fatalf("sync = %+v, %v; want release 3 installed", out, err)
	}
	cur := e.syncr.Current()
	if got := cur.Arepas(); !slices.Equal(got, []string{"domino", "reina-pepiada"}) {
		t.Fatalf("arepas = %v", got)
	}
	// Same release again: nothing downloaded beyond models/current.
	gets := e.src.Gets
	if out, err := e.sync(); err != nil || out.Installed {
		t.Fatalf("second sync = %+v, %v; want nothing new", out, err)
	}
	if e.src.Gets != gets+1 {
		t.Fatalf("second sync made %d gets, want 1", e.src.Gets-gets)
	}
	// Restart with central down: the installed release is loaded from disk.
	e.src.Down = true
	e.open()
	if r := e.syncr.Current(); r == nil || r.Number != 3 || r.Model("domino") == nil {
		t.Fatalf("after restart current = %+v, want release 3 with domino", r)
	}
	if _, err := e.sync(); err == nil || modelsync.IsRejection(err) {
		t.Fatalf("sync with central down = %v, want an unreachable error", err)
	}
	if e.syncr.Current().Number != 3 {
		t.Fatal("release lost while central is down")
	}
}

func TestRejections(t *testing.T) {
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name   string
		reason string
		mutate func(e *env)
	}{
		{"tampered model file", "hash", func(e *env) {
			r := e.publish(5, "reina-pepiada")
			k := release.ModelKey("reina-pepiada", 5)
			b := append([]byte(nil), r.Files[k]...)
			b[len(b)/2] ^= 1
			e.src.Put(context.Background(), k, b)
		}},
		{"model file grown", "hash", func(e *env) {
			r := e.publish(5, "reina-pepiada")
			k := release.ModelKey("reina-pepiada", 5)
			e.src.Put(context.Background(), k, append(append([]byte(nil), r.Files[k]...), make([]byte, 4096)...))
		}},
		{"tampered manifest", "signature", func(e *env) {
			r := e.publish(5, "reina-pepiada")
			b := append([]byte(nil), r.ManifestRaw...)
			b = []byte(string(b[:len(b)-2]) + " \n}\n")
			e.src.Put(context.Background(), release.ManifestKey(5), b)
		}},
		{"lower release", "rollback", func(e *env) {
			e.publish(1, "reina-pepiada")
		}},
		{"current pointing back", "rollback", func(e *env) {
			e.src.Put(context.Background(), release.CurrentKey, release.FormatCurrent(1))
		}},
		{"expired manifest", "expired", func(e *env) {
			_, err := mst.Publish(context.Background(), e.src.Put, mst.Options{Release: 5, Key: e.priv,
				Models:  map[string]*model.Model{"reina-pepiada": mst.Model("reina-pepiada", 0)},
				Created: e.now.Add(-48 * time.Hour), Expires: e.now.Add(-time.Hour)})
			if err != nil {
				e.t.Fatal(err)
			}
		}},
		{"signed by another key", "signature", func(e *env) {
			_, err := mst.Publish(context.Background(), e.src.Put, mst.Options{Release: 5, Key: otherPriv,
				Models: map[string]*model.Model{"reina-pepiada": mst.Model("reina-pepiada", 0)}})
			if err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.publish(2, "reina-pepiada")
			if _, err := e.sync(); err != nil {
				t.Fatalf("good release: %v", err)
			}
			good := e.syncr.Current()
			c.mutate(e)
			_, err := e.sync()
			if !modelsync.IsRejection(err) || release.Reason(err) != c.reason {
				t.Fatalf("sync = %v; want a %q rejection", err, c.reason)
			}
			if cur := e.syncr.Current(); cur != good || cur.Number != 2 {
				t.Fatalf("current = %d, want last known-good 2 kept", cur.Number)
			}
			st := e.syncr.Status()
			if st.Rejections[c.reason] != 1 || st.LastRejection == nil || st.LastRejection.Reason != c.reason {
				t.Fatalf("status = %+v; want one %q rejection shown", st, c.reason)
			}
			if got := counter(t, e.reg, c.reason); got != 1 {
				t.Fatalf("rejection counter{%s} = %v, want 1", c.reason, got)
			}
			// The refusal survives a restart: the kept release is still release 2 on disk.
			e.open()
			if cur := e.syncr.Current(); cur == nil || cur.Number != 2 {
				t.Fatalf("after restart current = %+v, want 2", cur)
			}
			if st := e.syncr.Status(); st.Rejections[c.reason] != 1 {
				t.Fatalf("persisted rejections = %v", st.Rejections)
			}
		})
	}
}

func counter(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "budare_agent_model_rejections_total" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no counter for %s", reason)
	return 0
}

func TestRollbackFloorSurvivesLostStore(t *testing.T) {
	e := newEnv(t)
	e.publish(7, "domino")
	if _, err := e.sync(); err != nil {
		t.Fatal(err)
	}
	// The store forgets (e.g. restored from an old backup); the disk still
	// holds release 7, so release 6 is refused.
	if err := e.st.DeleteState(modelsync.StateName, "accepted"); err != nil {
		t.Fatal(err)
	}
	e.open()
	e.publish(6, "domino")
	if _, err := e.sync(); release.Reason(err) != "rollback" {
		t.Fatalf("sync = %v, want rollback", err)
	}
}

func TestWantedTypesOnly(t *testing.T) {
	e := newEnv(t)
	wanted := []string{"domino"}
	e.reg = prometheus.NewRegistry()
	s, err := modelsync.New(modelsync.Options{Dir: filepath.Join(e.dir, "models"), PublicKey: e.pub,
		Source: e.src, State: e.st, Now: func() time.Time { return e.now },
		Wanted: func(context.Context) ([]string, error) { return wanted, nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(4, "domino", "pabellon", "reina-pepiada")
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.Current().Arepas(); !slices.Equal(got, []string{"domino"}) {
		t.Fatalf("installed %v, want only domino", got)
	}
	// The kitchen starts cooking pabellon: same release, its model is added.
	wanted = []string{"domino", "pabellon"}
	out, err := s.Sync(context.Background())
	if err != nil || !out.Installed {
		t.Fatalf("sync = %+v, %v; want pabellon installed", out, err)
	}
	if got := s.Current().Arepas(); !slices.Equal(got, []string{"domino", "pabellon"}) {
		t.Fatalf("installed %v", got)
	}
	// Only the current and the previous release directory stay on disk.
	ents, _ := os.ReadDir(filepath.Join(e.dir, "models"))
	dirs := 0
	for _, en := range ents {
		if en.IsDir() {
			dirs++
		}
	}
	if dirs > 2 {
		t.Fatalf("%d release dirs on disk, want at most 2", dirs)
	}
}

func TestDamagedDiskFallsBack(t *testing.T) {
	e := newEnv(t)
	e.publish(1, "domino")
	if _, err := e.sync(); err != nil {
		t.Fatal(err)
	}
	e.publish(2, "domino")
	if _, err := e.sync(); err != nil {
		t.Fatal(err)
	}
	cur := e.syncr.Current()
	// Corrupt the installed model file of release 2.
	p := filepath.Join(cur.Dir, "models", "domino.json")
	if err := os.WriteFile(p, []byte("{}"), 0o640); err != nil {
		t.Fatal(err)
	}
	e.open()
	if r := e.syncr.Current(); r == nil || r.Number != 1 {
		t.Fatalf("after corruption current = %+v, want fallback to release 1", r)
	}
}

func TestOversizedModelRefusedBeforeDownload(t *testing.T) {
	tests := []struct {
		name string
		size int64
	}{
		{"300 MB entry", 300 << 20},
		{"one byte above the limit", model.MaxJSON + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.publish(2, "reina-pepiada")
			if _, err := e.sync(); err != nil {
				t.Fatal(err)
			}
			// A correctly signed release whose manifest names a huge model.
			r := e.publish(3, "reina-pepiada")
			ent := r.Manifest.Models["reina-pepiada"]
			ent.Size = tt.size
			r.Manifest.Models["reina-pepiada"] = ent
			raw, sig, err := release.Sign(r.Manifest, e.priv)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := e.src.Put(ctx, release.ManifestKey(3), raw); err != nil {
				t.Fatal(err)
			}
			if err := e.src.Put(ctx, release.SigKey(3), sig); err != nil {
				t.Fatal(err)
			}
			gets := e.src.Gets
			_, err = e.sync()
			if !modelsync.IsRejection(err) || release.Reason(err) != "too_large" {
				t.Fatalf("sync = %v; want a too_large rejection", err)
			}
			if n := e.src.Gets - gets; n != 3 {
				t.Fatalf("%d gets: want 3 (current, manifest, signature), the model never read", n)
			}
			if cur := e.syncr.Current(); cur == nil || cur.Number != 2 {
				t.Fatalf("current = %+v, want release 2 kept", cur)
			}
			if got := counter(t, e.reg, "too_large"); got != 1 {
				t.Fatalf("too_large counter = %v, want 1", got)
			}
		})
	}
}

func TestSyncProblemsLoggedOncePerDistinctProblem(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	s, err := modelsync.New(modelsync.Options{
		Dir: filepath.Join(e.dir, "models"), PublicKey: e.pub, Source: e.src, State: e.st,
		Now: func() time.Time { return e.now }, Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.syncr = s
	e.publish(2, "reina-pepiada")
	steps := []struct {
		name  string
		setup func()
		want  string // substring of the one line logged; "" = nothing logged
	}{
		{"first install", func() {}, "model release installed"},
		{"central down", func() { e.src.Down = true }, "msg=\"model sync\""},
		{"still down", func() {}, ""},
		{"still down again", func() {}, ""},
		{"back", func() { e.src.Down = false }, "model sync works again"},
		{"fine", func() {}, ""},
		{"refused release", func() {
			r := e.publish(3, "reina-pepiada")
			k := release.ModelKey("reina-pepiada", 3)
			b := append([]byte(nil), r.Files[k]...)
			b[len(b)/2] ^= 1
			e.src.Put(context.Background(), k, b)
		}, "model release refused"},
		{"same refused release", func() {}, ""},
		{"central down while refused", func() { e.src.Down = true }, "msg=\"model sync\""},
	}
	for _, st := range steps {
		buf.Reset()
		st.setup()
		_, _ = e.sync()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if buf.Len() == 0 {
			lines = nil
		}
		switch {
		case st.want == "" && len(lines) != 0:
			t.Errorf("%s: logged %q, want nothing", st.name, lines)
		case st.want != "" && (len(lines) != 1 || !strings.Contains(lines[0], st.want)):
			t.Errorf("%s: logged %q, want one line with %q", st.name, lines, st.want)
		}
	}
}

// A release published into a directory bucket (s3.dir, as central writes it
// with `train --dir`) is accepted and installed like one from S3.
func TestReleaseFromDirectoryBucket(t *testing.T) {
	e := newEnv(t)
	b := objstore.NewDir(t.TempDir())
	put := func(ctx context.Context, key string, data []byte) error { return b.Put(ctx, key, data, nil) }
	if _, err := mst.Publish(context.Background(), put, mst.Options{Release: 4, Key: e.priv, Created: e.now.Add(-time.Hour),
		Models: map[string]*model.Model{"domino": mst.Model("domino", 0.4)}}); err != nil {
		t.Fatal(err)
	}
	s, err := modelsync.New(modelsync.Options{Dir: filepath.Join(e.dir, "models"), PublicKey: e.pub, Source: b, State: e.st,
		Now: func() time.Time { return e.now }, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sync(context.Background())
	if err != nil || !out.Installed || out.Release != 4 || s.Current().Model("domino") == nil {
		t.Fatalf("sync from a directory = %+v, %v; want release 4 with domino", out, err)
	}
}
