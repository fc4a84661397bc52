package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/testenv"
	"github.com/budare/budare/internal/window"
)

// nowEnv is a stopped kitchen agent with a day of records in its store,
// a release key, and a real MinIO as its central store.
type nowEnv struct {
	agentEnv
	minio *testenv.MinIOServer
	obj   *objstore.S3
	priv  []byte
	day   string
}

func newNowEnv(t *testing.T) *nowEnv {
	t.Helper()
	dir := t.TempDir()
	m := testenv.MinIO(t)
	access, secret, err := m.WriteCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	if _, err := release.GenerateKeys(priv, pub); err != nil {
		t.Fatal(err)
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e := &nowEnv{agentEnv: agentEnv{cfgPath: filepath.Join(dir, "agent.toml"), dataDir: filepath.Join(dir, "data"),
		listen: fmt.Sprintf("127.0.0.1:%d", port)}, minio: m}
	// No broker answers on port 1: ingest keeps retrying, the rest works.
	cfg := fmt.Sprintf(`kitchen = %q
data_dir = %q
listen = %q
timezone = "UTC"
[mqtt]
broker = "tcp://127.0.0.1:1"
[s3]
endpoint = %q
access_key_file = %q
secret_key_file = %q
tls = false
[models]
release_public_key_file = %q
`, testKitchen, e.dataDir, e.listen, m.Endpoint, access, secret, pub)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if e.obj, err = objstore.New(c.S3, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.obj.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.priv, err = os.ReadFile(priv); err != nil {
		t.Fatal(err)
	}
	// Yesterday's records: a closed day waiting for upload.
	y := time.Now().UTC().AddDate(0, 0, -1)
	e.day = y.Format(time.DateOnly)
	if err := os.MkdirAll(e.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(c.StorePath(), store.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	for i := range 5 {
		recs = append(recs, record.Record{Machine: "m-01", Type: record.TypeCook, Seq: int64(i + 1), Arepa: "domino",
			TS:      time.Date(y.Year(), y.Month(), y.Day(), 8+i, 0, 0, 0, time.UTC),
			Metrics: map[string]float64{"plate_temp_c": 230, "vibration_mm_s": 1.4}})
	}
	if _, err := st.Commit(&store.Batch{Records: recs}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return e
}

// publish writes a signed release n with a model for domino into MinIO.
func (e *nowEnv) publish(t *testing.T, n int64) {
	t.Helper()
	key, err := release.ParsePrivateKey(e.priv)
	if err != nil {
		t.Fatal(err)
	}
	put := func(ctx context.Context, k string, data []byte) error {
		err := e.obj.Put(ctx, k, data, nil)
		return err
	}
	if _, err := mst.Publish(context.Background(), put, mst.Options{Release: n, Key: key,
		Models: map[string]*model.Model{"domino": mst.Model("domino", 0)}}); err != nil {
		t.Fatal(err)
	}
}

func (e *nowEnv) uploaded(t *testing.T) bool {
	t.Helper()
	_, err := e.obj.Stat(context.Background(), window.Key(testKitchen, e.day))
	return err == nil
}

func (e *nowEnv) cmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	code := run(context.Background(), append(args, "--config", e.cfgPath, "--timeout", "1m"), &out, &out)
	return out.String(), code
}

// Without a running agent, `upload now` and `sync now` open the store and
// act on the object store themselves.
func TestUploadAndSyncNowWithoutAgent(t *testing.T) {
	e := newNowEnv(t)
	out, code := e.cmd(t, "upload", "now")
	if code != 0 || !strings.Contains(out, "agent not running") || !strings.Contains(out, "1 day(s) uploaded ("+e.day+")") {
		t.Fatalf("upload now: exit %d:\n%s", code, out)
	}
	if !e.uploaded(t) {
		t.Fatalf("window of %s not in the store after upload now", e.day)
	}
	if out, code = e.cmd(t, "upload", "now"); code != 0 || !strings.Contains(out, "0 day(s) uploaded, 0 closed day(s) still pending") {
		t.Fatalf("second upload now: exit %d:\n%s", code, out)
	}

	if out, code = e.cmd(t, "sync", "now"); code != 1 || !strings.Contains(out, "models/current") {
		t.Fatalf("sync now before any release: exit %d, want 1 naming models/current:\n%s", code, out)
	}
	e.publish(t, 3)
	if out, code = e.cmd(t, "sync", "now"); code != 0 || !strings.Contains(out, "model release 3 installed\n") || !strings.Contains(out, "domino") {
		t.Fatalf("sync now: exit %d:\n%s", code, out)
	}
	if r, err := modelsync.LoadInstalled(filepath.Join(e.dataDir, "models"), mustPub(t, e)); err != nil || r == nil || r.Number != 3 {
		t.Fatalf("installed release after sync now: %+v, %v", r, err)
	}
	if out, code = e.cmd(t, "sync", "now"); code != 0 || !strings.Contains(out, "release 3 installed already") {
		t.Fatalf("second sync now: exit %d:\n%s", code, out)
	}
}

func mustPub(t *testing.T, e *nowEnv) []byte {
	t.Helper()
	k, err := release.LoadPublicKey(filepath.Join(filepath.Dir(e.cfgPath), "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// With the agent running (and holding the store's lock), the commands ask
// it over its local endpoint. The store was down when the agent started:
// `upload now` uploads at once instead of after the agent's backoff.
func TestUploadAndSyncNowAskTheRunningAgent(t *testing.T) {
	e := newNowEnv(t)
	e.minio.Stop()
	e.startInProcess(t)
	if err := e.minio.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, code := e.cmd(t, "upload", "now")
	if code != 0 || !strings.Contains(out, "via the running agent") || !strings.Contains(out, "0 closed day(s) still pending") {
		t.Fatalf("upload now: exit %d:\n%s", code, out)
	}
	if !e.uploaded(t) {
		t.Fatalf("window of %s not in the store after upload now", e.day)
	}
	e.publish(t, 5)
	out, code = e.cmd(t, "sync", "now")
	if code != 0 || !strings.Contains(out, "via the running agent") || !strings.Contains(out, "model release 5 installed") {
		t.Fatalf("sync now: exit %d:\n%s", code, out)
	}
	var rep struct {
		Models struct {
			Release int64 `json:"release"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+e.listen+"/inspect")), &rep); err != nil {
		t.Fatal(err)
	}
	if got := rep.Models.Release; got != 5 {
		t.Fatalf("running agent's models section says release %d, want 5", got)
	}
}

func TestNowUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"upload"}, 2},
		{[]string{"upload", "later"}, 2},
		{[]string{"sync", "now", "extra"}, 2},
		{[]string{"sync", "now", "--bogus"}, 2},
		{[]string{"upload", "-h"}, 0},
		{[]string{"sync", "now", "-h"}, 0},
		{[]string{"upload", "now", "--config", "/nonexistent/agent.toml"}, 1},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &out); code != tc.want {
			t.Errorf("%q: exit %d, want %d:\n%s", tc.args, code, tc.want, out.String())
		}
		if tc.want == 2 && !strings.Contains(out.String(), tc.args[0]+" now") {
			t.Errorf("%q: the message does not name the command:\n%s", tc.args, out.String())
		}
	}
}
