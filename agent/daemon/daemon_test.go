package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/testenv"
)

// agentConfig is an agent on a temporary data dir with every subsystem
// wired: its own embedded broker, a bucket in a directory, and a release key.
func agentConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "release.pub")
	if _, err := release.GenerateKeys(filepath.Join(dir, "release.key"), pub); err != nil {
		t.Fatal(err)
	}
	bucket := filepath.Join(dir, "bucket")
	if err := os.Mkdir(bucket, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.toml")
	toml := fmt.Sprintf("kitchen = \"k-lint\"\ndata_dir = %q\nlisten = \"\"\ntimezone = \"UTC\"\n"+
		"[mqtt]\nembedded = \"127.0.0.1:%d\"\n[s3]\ndir = %q\n[models]\nrelease_public_key_file = %q\n",
		filepath.Join(dir, "data"), port, bucket, pub)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func openAgent(t *testing.T, cfg *config.Config) *Agent {
	t.Helper()
	a, err := Open(cfg, Options{Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), StoreLockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// Close gives back all Open took: the store's lock and the embedded
// broker's port, so the same agent opens again at once (a restart).
func TestCloseReleasesWhatOpenTook(t *testing.T) {
	cfg := agentConfig(t)
	a := openAgent(t, cfg)
	if _, err := Open(cfg, Options{Log: slog.New(slog.DiscardHandler), StoreLockTimeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("a second agent opened on the same data_dir and broker address")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	openAgent(t, cfg)
}

// Every metric family the assembled agent serves on /metrics passes
// promlint and lives in the budare_agent_ namespace (besides the Go
// runtime's, the process's and the metrics handler's own).
func TestMetricsPassPromlint(t *testing.T) {
	a := openAgent(t, agentConfig(t))
	mfs, err := a.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		switch {
		case strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"), strings.HasPrefix(name, "promhttp_"):
		case strings.HasPrefix(name, "budare_agent_"):
			for _, sub := range []string{"ingest_", "mqtt_", "upload_", "model", "decision"} {
				if strings.HasPrefix(name, "budare_agent_"+sub) {
					seen[sub] = true
				}
			}
		default:
			t.Errorf("metric %s is outside the budare_agent_ namespace", name)
		}
	}
	// Each subsystem's metrics were linted, not only those that happened to
	// be registered.
	for _, sub := range []string{"ingest_", "mqtt_", "upload_", "model", "decision"} {
		if !seen[sub] {
			t.Errorf("no budare_agent_%s* metric gathered: is that subsystem wired?", sub)
		}
	}
}
