package modelsync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/agentstatus"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/testenv"
)

// TestStatusWriterMinIO runs the poll loop against a real MinIO holding a
// signed release and checks that every poll rewrites status/<kitchen>.json
// with the installed release and the other subsystems' figures.
func TestStatusWriterMinIO(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mio := testenv.MinIO(t)
	ak, sk, err := mio.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	noTLS := false
	os3, err := objstore.New(objstore.Config{Endpoint: mio.Endpoint, AccessKeyFile: ak, SecretKeyFile: sk, TLS: &noTLS}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // MinIO serves S3 a moment after its liveness probe
		if err = os3.EnsureBucket(ctx); err == nil {
			break
		}
		if i == 100 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	put := func(ctx context.Context, key string, b []byte) error {
		return os3.Put(ctx, key, b, nil)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mst.Publish(ctx, put, mst.Options{Release: 4, Key: priv,
		Models: map[string]*model.Model{"domino": mst.Model("domino", 0.1)}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	decided := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	w := &modelsync.StatusWriter{Put: put, Kitchen: "k-007", Version: "1.2.3",
		Uploads: func() (string, time.Time, int, error) {
			return "2026-11-25", decided.Add(-5 * time.Hour), 1, nil
		},
		Decisions:  func() (string, time.Time) { return "2026-11-26", decided },
		StoreBytes: func() (int64, error) { return 0, errors.New("stat failed") },
	}
	polls := make(chan agentstatus.Status, 16)
	s, err := modelsync.New(modelsync.Options{Dir: filepath.Join(dir, "models"), PublicKey: pub, Source: os3, State: st,
		Interval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		AfterPoll: func(ctx context.Context, ms modelsync.Status) error {
			if err := w.Write(ctx, ms); err != nil {
				return err
			}
			b, err := os3.Get(ctx, agentstatus.Key("k-007"), agentstatus.MaxBytes)
			if err != nil {
				return err
			}
			got, err := agentstatus.Decode(b)
			if err != nil {
				return err
			}
			polls <- *got
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() { stop(); <-done }()

	var first agentstatus.Status
	select {
	case first = <-polls:
	case <-ctx.Done():
		t.Fatal("no status object written")
	}
	if first.Kitchen != "k-007" || first.Agent != "1.2.3" || first.Release != 4 || first.ModelError != "" ||
		first.LastWindow != "2026-11-25" || first.PendingWindows != 1 || first.LastDecision != "2026-11-26" ||
		!first.LastDecidedAt.Equal(decided) || first.StoreBytes != 0 || time.Since(first.At) > time.Minute {
		t.Errorf("status object %+v", first)
	}
	// Later polls rewrite the object with a newer time.
	select {
	case next := <-polls:
		if !next.At.After(first.At) {
			t.Errorf("second poll wrote at %v, first at %v", next.At, first.At)
		}
	case <-ctx.Done():
		t.Fatal("status object not rewritten")
	}
}
