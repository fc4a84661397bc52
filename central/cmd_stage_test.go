package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/testenv"
	"github.com/budare/budare/internal/window"
)

// TestTrainStagedMinIO runs a staged night through the CLI against a real
// MinIO — rows as two kitchen shards, fit as two type shards, assemble — and
// checks that it publishes, byte for byte, the release a single train
// publishes from the same windows in another bucket, that an agent accepts
// it, and that staging is gone. A window whose bytes do not match its
// recorded Sha256 then stops a rows worker.
func TestTrainStagedMinIO(t *testing.T) {
	ctx := context.Background()
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
techniques = ["logistic"]

[s3]
endpoint = %q
bucket = "single"
access_key_file = %q
secret_key_file = %q
tls = false
`, keyFile, srv.Endpoint, ak, sk)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	stores := map[string]*objstore.S3{}
	for _, name := range []string{"single", "staged"} {
		var c objstore.Config
		c.Endpoint, c.Bucket, c.AccessKeyFile, c.SecretKeyFile = srv.Endpoint, name, ak, sk
		off := false
		c.TLS = &off
		st, err := objstore.New(c, "")
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			err := st.EnsureBucket(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("minio not ready: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		stores[name] = st
	}
	typesFile := filepath.Join(dir, "types.txt")
	runCLI(t, "keygen", "--private", keyFile)
	for _, name := range []string{"single", "staged"} {
		runCLI(t, "simulate", "--config", cfgFile, "--bucket", name, "--seed", "5", "--kitchens", "4", "--machines", "6", "--types", "3",
			"--menu", "3", "--days", "32", "--end", "2026-11-25", "--cooks", "20", "--mtbf", "12", "--types-file", typesFile)
	}
	const now = "2026-11-26T05:00:00Z"
	common := []string{"--config", cfgFile, "--types", typesFile, "--date", "2026-11-26"}
	runCLI(t, append([]string{"train", "--bucket", "single", "--now", now}, common...)...)
	for i := range 2 {
		runCLI(t, append([]string{"train", "rows", "--bucket", "staged", "--run", "n1", "--shard", fmt.Sprintf("%d/2", i)}, common...)...)
	}
	for i := range 2 {
		runCLI(t, append([]string{"train", "fit", "--bucket", "staged", "--run", "n1", "--shard", fmt.Sprintf("%d/2", i)}, common...)...)
	}
	runCLI(t, "train", "assemble", "--config", cfgFile, "--bucket", "staged", "--run", "n1", "--now", now)

	keys, err := stores["single"].List(ctx, "models/")
	if err != nil || len(keys) == 0 {
		t.Fatalf("single run wrote %v (%v)", keys, err)
	}
	staged, err := stores["staged"].List(ctx, "models/")
	if err != nil || strings.Join(staged, " ") != strings.Join(keys, " ") {
		t.Fatalf("staged run wrote %v, single %v (%v)", staged, keys, err)
	}
	for _, k := range keys {
		a, err := stores["single"].Get(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := stores["staged"].Get(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between the single and the staged run", k)
		}
	}
	agentAccepts(t, stores["staged"], filepath.Join(dir, "release.pub"), 0)
	if left, err := stores["staged"].List(ctx, "staging/"); err != nil || len(left) != 0 {
		t.Fatalf("staging left after assemble: %v (%v)", left, err)
	}

	// A window changed after upload no longer matches its Sha256.
	wins, err := stores["staged"].List(ctx, "windows/")
	if err != nil || len(wins) == 0 {
		t.Fatalf("windows: %v %v", wins, err)
	}
	for _, k := range wins {
		if !strings.HasSuffix(k, "/2026-11-25.ndjson.gz") {
			continue
		}
		data, err := stores["staged"].Get(ctx, k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := stores["staged"].Put(ctx, k, data, map[string]string{window.MetaSHA256: strings.Repeat("0", 64)}); err != nil {
			t.Fatal(err)
		}
	}
	var stderr bytes.Buffer
	args := append([]string{"train", "rows", "--bucket", "staged", "--run", "n2"}, common...)
	if code := run(ctx, args, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "checksum mismatch") {
		t.Fatalf("rows over a damaged window: exit %d, %s", code, stderr.String())
	}
}
