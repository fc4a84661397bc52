package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/central/jobreport"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/testenv"
)

// runCLI runs budare-central with args and fails the test unless it exits 0.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("budare-central %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// agentAccepts does what the agent's model sync does with the current
// release: verify the manifest and every model file, and decode the models.
func agentAccepts(t *testing.T, st objstore.Bucket, pubFile string, minRelease int64) *release.Manifest {
	t.Helper()
	ctx := context.Background()
	pub, err := release.LoadPublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := st.Get(ctx, release.CurrentKey, 64)
	if err != nil {
		t.Fatal(err)
	}
	n, err := release.ParseCurrent(cur)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Get(ctx, release.ManifestKey(n), 0)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := st.Get(ctx, release.SigKey(n), 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.Verify(mb, sig, pub, time.Now(), minRelease)
	if err != nil {
		t.Fatalf("release %d does not verify: %v", n, err)
	}
	if len(m.Models) == 0 {
		t.Fatalf("release %d has no models", n)
	}
	for _, a := range m.Arepas() {
		e := m.Models[a]
		data, err := st.Get(ctx, e.Key, e.Size+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(data); err != nil {
			t.Fatalf("release %d, %s: %v", n, a, err)
		}
		mod, err := model.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("release %d, %s: %v", n, a, err)
		}
		if mod.Technique != e.Technique || mod.Threshold != e.Threshold {
			t.Fatalf("%s: manifest says %s@%v, model.json %s@%v", a, e.Technique, e.Threshold, mod.Technique, mod.Threshold)
		}
		var card struct {
			Candidates []json.RawMessage `json:"candidates"`
			Kitchens   []string          `json:"kitchens"`
		}
		cb, err := st.Get(ctx, e.Card, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(cb, &card); err != nil || len(card.Kitchens) == 0 {
			t.Fatalf("%s card: %v %s", a, err, cb)
		}
	}
	return m
}

// TestTrainEndToEnd runs the CLI against a real MinIO: simulate into the
// bucket, train, train again as two shards and assemble, roll back, and
// check after each step that an agent would accept the current release.
func TestTrainEndToEnd(t *testing.T) {
	srv := testenv.MinIO(t)
	dir := t.TempDir()
	ak, sk, err := srv.WriteCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "release.key")
	cfgFile := filepath.Join(dir, "central.toml")
	cfg := fmt.Sprintf(`timezone = "America/Caracas"
signing_key_file = %q
release_expiry = "30d"

[train]
span_days = 30
holdout_days = 5
validation_days = 5
folds = 1
workers = 2
techniques = ["logistic", "gaussian"]

[s3]
endpoint = %q
bucket = "budare-test"
access_key_file = %q
secret_key_file = %q
tls = false
`, keyFile, srv.Endpoint, ak, sk)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var s3cfg objstore.Config
	s3cfg.Endpoint, s3cfg.Bucket, s3cfg.AccessKeyFile, s3cfg.SecretKeyFile = srv.Endpoint, "budare-test", ak, sk
	off := false
	s3cfg.TLS = &off
	st, err := objstore.New(s3cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	// MinIO answers "live" before it serves requests; wait until it does.
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := st.EnsureBucket(context.Background())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	typesFile := filepath.Join(dir, "types.txt")
	runCLI(t, "keygen", "--private", keyFile)
	runCLI(t, "simulate", "--config", cfgFile, "--seed", "5", "--kitchens", "4", "--machines", "6", "--types", "3",
		"--menu", "3", "--days", "32", "--end", "2026-11-25", "--cooks", "20", "--mtbf", "12", "--types-file", typesFile)

	if keys, err := st.List(context.Background(), "windows/"); err != nil || len(keys) != 4*32 {
		t.Fatalf("simulate wrote %d windows (%v), want %d", len(keys), err, 4*32)
	}

	promDir := t.TempDir()
	out := runCLI(t, "train", "--config", cfgFile, "--types", typesFile, "--phase", "1", "--date", "2026-11-26", "--json", "--textfile", promDir)
	var res struct {
		Release int64 `json:"release"`
		Types   []struct {
			Arepa, Status string
		} `json:"types"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Release != 1 || len(res.Types) != 3 {
		t.Fatalf("train output %q (%v)", out, err)
	}
	pubFile := filepath.Join(dir, "release.pub")
	m1 := agentAccepts(t, st, pubFile, 0)
	checkTrainReport(t, st, promDir, cfgFile)

	// The same night as two shards: same data, the current models are the
	// champions now, so the assembled release keeps or replaces each one
	// and is still acceptable.
	for i := range 2 {
		runCLI(t, "train", "--config", cfgFile, "--types", typesFile, "--date", "2026-11-26", "--shard", fmt.Sprintf("%d/2", i))
	}
	runCLI(t, "assemble", "--config", cfgFile, "--date", "2026-11-26", "--shards", "2")
	m2 := agentAccepts(t, st, pubFile, m1.Release)
	if m2.Release != 2 {
		t.Fatalf("assembled release %d, want 2", m2.Release)
	}
	for a, e := range m2.Models {
		if e.Key != m1.Models[a].Key {
			t.Fatalf("%s: retraining on the same data replaced the champion (%s -> %s)", a, m1.Models[a].Key, e.Key)
		}
	}

	runCLI(t, "rollback", "--config", cfgFile, "1")
	m3 := agentAccepts(t, st, pubFile, m2.Release)
	if m3.Release != 3 || m3.Note == "" {
		t.Fatalf("rollback release %d %q", m3.Release, m3.Note)
	}
	list := runCLI(t, "releases", "--config", cfgFile, "--json")
	var rels []struct {
		Release int64
		Current bool
		Problem string
	}
	if err := json.Unmarshal([]byte(list), &rels); err != nil || len(rels) != 3 || !rels[2].Current || rels[0].Problem != "" {
		t.Fatalf("releases: %s (%v)", list, err)
	}

	// A tampered model file is caught by the agent-side check.
	e := m3.Models[m3.Arepas()[0]]
	if err := st.Put(context.Background(), e.Key, []byte(`{"v":1}`), nil); err != nil {
		t.Fatal(err)
	}
	data, err := st.Get(context.Background(), e.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(data); !errors.Is(err, release.ErrHash) {
		t.Fatalf("tampered model: %v, want ErrHash", err)
	}
	// ... and promote refuses a release whose files do not match.
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"promote", "--config", cfgFile, "1"}, &bytes.Buffer{}, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "does not match") {
		t.Fatalf("promote of a tampered release: exit %d, %s", code, stderr.String())
	}
}

func TestTrainUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"train"}, 2, ""},
		{"bad shard", []string{"train", "--dir", dir, "--types", "/nonexistent", "--shard", "3/2"}, 1, "types file"},
		{"missing types file", []string{"train", "--dir", dir, "--types", filepath.Join(dir, "nope")}, 1, "types file"},
		{"assemble without shards", []string{"assemble", "--dir", dir}, 2, ""},
		{"rows without run", []string{"train", "rows", "--dir", dir, "--date", "2026-11-26"}, 2, "--run ID"},
		{"fit without date", []string{"train", "fit", "--dir", dir, "--run", "r1"}, 2, "--date"},
		{"fit bad run id", []string{"train", "fit", "--dir", dir, "--run", "../x", "--date", "2026-11-26"}, 1, "run id"},
		{"train assemble without run", []string{"train", "assemble", "--dir", dir}, 2, "--run ID"},
		{"train bad now", []string{"train", "--dir", dir, "--now", "yesterday"}, 1, "RFC 3339"},
		// The store cannot be opened and the textfile cannot be written: two
		// failures reported, no panic on the missing logger.
		{"unopenable config with textfile", []string{"train", "--config", filepath.Join(dir, "none.toml"), "--textfile", filepath.Join(dir, "no", "such")}, 1, "job metrics not written"},
		{"backtest, unopenable config with textfile", []string{"backtest", "--config", filepath.Join(dir, "none.toml"), "--from", "2026-01-01", "--to", "2026-01-02", "--textfile", filepath.Join(dir, "no", "such")}, 1, "job metrics not written"},
		{"scorecard, unopenable config with textfile", []string{"scorecard", "--config", filepath.Join(dir, "none.toml"), "--from", "2026-01-01", "--to", "2026-01-02", "--textfile", filepath.Join(dir, "no", "such")}, 1, "job metrics not written"},
		{"promote without number", []string{"promote", "--dir", dir}, 2, ""},
		{"rollback bad number", []string{"rollback", "--dir", dir, "x"}, 2, ""},
		{"keygen stray argument", []string{"keygen", "x"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), tc.args, &bytes.Buffer{}, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

// checkTrainReport checks the first night's report in the bucket and its
// textfile metrics, then that a failed run reports itself as failed.
func checkTrainReport(t *testing.T, st objstore.Bucket, promDir, cfgFile string) {
	t.Helper()
	ctx := context.Background()
	b, err := st.Get(ctx, "reports/train/2026-11-26.json", 0)
	if err != nil {
		t.Fatalf("train wrote no report: %v", err)
	}
	var rep jobreport.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Job != "train" || rep.Release != 1 || rep.Models != 3 || rep.Windows == 0 || rep.Rows == 0 ||
		rep.Seconds <= 0 || rep.Error != "" || rep.Warnings == nil {
		t.Fatalf("report %s", b)
	}
	prom, err := os.ReadFile(filepath.Join(promDir, "budare_central_train.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`budare_central_last_run_success{job_name="train",part=""} 1`,
		`budare_central_last_run_release{job_name="train",part=""} 1`, fmt.Sprintf(`budare_central_last_run_windows{job_name="train",part=""} %d`, rep.Windows)} {
		if !strings.Contains(string(prom), want+"\n") {
			t.Fatalf("textfile lacks %q:\n%s", want, prom)
		}
	}
	// No kitchen is in phase 7: the run fails, and says so.
	var stderr bytes.Buffer
	if code := run(ctx, []string{"train", "--config", cfgFile, "--phase", "7", "--date", "2026-11-26", "--textfile", promDir},
		&bytes.Buffer{}, &stderr); code != 1 {
		t.Fatalf("train of an empty phase: exit %d, %s", code, stderr.String())
	}
	b, err = st.Get(ctx, "reports/train/2026-11-26-phase7.json", 0)
	if err != nil {
		t.Fatalf("failed run wrote no report: %v", err)
	}
	rep = jobreport.Report{}
	if err := json.Unmarshal(b, &rep); err != nil || rep.OK || rep.Error == "" || rep.Phase != 7 {
		t.Fatalf("failed run's report %s (%v)", b, err)
	}
	if prom, err = os.ReadFile(filepath.Join(promDir, "budare_central_train_phase7.prom")); err != nil ||
		!strings.Contains(string(prom), `budare_central_last_run_success{job_name="train",part="phase7"} 0`) {
		t.Fatalf("failed run's textfile (%v):\n%s", err, prom)
	}
}
