package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// startupConfig writes a minimal agent config into a new directory and
// returns its path and the data_dir.
func startupConfig(t *testing.T, listen string) (cfgPath, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	cfgPath = filepath.Join(dir, "agent.toml")
	cfg := fmt.Sprintf(`kitchen = "k-start"
data_dir = %q
timezone = "UTC"
listen = %q
[mqtt]
broker = "tcp://127.0.0.1:1"
`, dataDir, listen)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dataDir
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// fillStore stores n records of two machines in the store at path.
func fillStore(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	var b store.Batch
	for i := 0; i < n; i++ {
		for _, m := range []string{"m-1", "m-2"} {
			b.Records = append(b.Records, record.Record{Machine: m, Type: record.TypeCook, TS: t0.Add(time.Duration(i) * time.Second),
				Seq: int64(i), Arepa: "reina-pepiada", Metrics: map[string]float64{"plate_temp_c": 231}})
		}
	}
	if _, err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
}

func TestStartupFailuresAreOneLineAndExit1(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (cfgPath string, cleanup func())
		want  []string
	}{
		{"second agent on the same data_dir", func(t *testing.T) (string, func()) {
			cfgPath, data := startupConfig(t, "127.0.0.1:0")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			first, err := store.Open(filepath.Join(data, "agent.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return cfgPath, func() { first.Close() }
		}, []string{"locked by another process", "another budare-agent", "stop it"}},
		{"listen address in use", func(t *testing.T) (string, func()) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfgPath, _ := startupConfig(t, l.Addr().String())
			return cfgPath, func() { l.Close() }
		}, []string{"address already in use", "the listen key", "set listen to a free port"}},
		{"store is not a bbolt file", func(t *testing.T) (string, func()) {
			cfgPath, data := startupConfig(t, "127.0.0.1:0")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, "agent.db"), bytes.Repeat([]byte("not a store "), 2000), 0o600); err != nil {
				t.Fatal(err)
			}
			return cfgPath, func() {}
		}, []string{"is damaged", "store salvage"}},
		{"store truncated", func(t *testing.T) (string, func()) {
			cfgPath, data := startupConfig(t, "127.0.0.1:0")
			path := filepath.Join(data, "agent.db")
			fillStore(t, path, 3000)
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
			return cfgPath, func() {}
		}, []string{"is damaged", "truncated", "store salvage"}},
		{"store is a directory", func(t *testing.T) (string, func()) {
			cfgPath, data := startupConfig(t, "127.0.0.1:0")
			if err := os.MkdirAll(filepath.Join(data, "agent.db"), 0o700); err != nil {
				t.Fatal(err)
			}
			return cfgPath, func() {}
		}, []string{"agent.db"}},
		{"data_dir is a file", func(t *testing.T) (string, func()) {
			cfgPath, data := startupConfig(t, "127.0.0.1:0")
			if err := os.WriteFile(data, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return cfgPath, func() {}
		}, []string{"data_dir", "fix data_dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgPath, cleanup := tt.setup(t)
			defer cleanup()
			_, stderr, code := runCmd(t, "run", "--config", cfgPath, "--store-lock-timeout", "200ms")
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "budare-agent: ") {
				t.Fatalf("want one line naming the cause, got:\n%s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message %q does not say %q", lines[0], w)
				}
			}
		})
	}
}

func TestStoreCheckAndSalvageCommands(t *testing.T) {
	cfgPath, data := startupConfig(t, "")
	path := filepath.Join(data, "agent.db")
	fillStore(t, path, 3000)

	out, stderr, code := runCmd(t, "store", "check", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "6000 readable records") || !strings.Contains(out, "ok") {
		t.Fatalf("check of a clean store: exit %d\n%s%s", code, out, stderr)
	}

	// Damage the middle of the file: whatever page is there.
	fi, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 8192), fi.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()

	out, stderr, code = runCmd(t, "store", "check", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "damaged") {
		t.Fatalf("check of a damaged store: exit %d, want 1 saying damaged\n%s%s", code, out, stderr)
	}
	_, stderr, code = runCmd(t, "run", "--config", cfgPath)
	if code != 1 || !strings.Contains(stderr, "store salvage") {
		t.Fatalf("run on a damaged store: exit %d, want 1 naming store salvage\n%s", code, stderr)
	}

	out, stderr, code = runCmd(t, "store", "salvage", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("salvage: exit %d\n%s%s", code, out, stderr)
	}
	for _, w := range []string{"copied", "moved aside", "lost: ", "broker redelivers"} {
		if !strings.Contains(out, w) {
			t.Errorf("salvage output does not say %q:\n%s", w, out)
		}
	}
	aside, _ := filepath.Glob(path + ".damaged-*")
	if len(aside) != 1 {
		t.Errorf("damaged store not kept aside: %v", aside)
	}
	out, stderr, code = runCmd(t, "store", "check", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("check after salvage: exit %d\n%s%s", code, out, stderr)
	}
	t.Logf("after salvage: %s", out)
}

func TestCheckConfigRefusesReadableSecrets(t *testing.T) {
	tests := []struct {
		name, key string
	}{
		{"mqtt password", "mqtt.password_file"},
		{"s3 secret key", "s3.secret_key_file"},
		{"s3 access key", "s3.access_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for _, k := range []string{"mqtt.password_file", "s3.secret_key_file", "s3.access_key_file"} {
				files[k] = filepath.Join(dir, strings.ReplaceAll(k, ".", "-"))
				mode := os.FileMode(0o600)
				if k == tt.key {
					mode = 0o640
				}
				if err := os.WriteFile(files[k], []byte("s3cret"), mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(files[k], mode); err != nil {
					t.Fatal(err)
				}
			}
			cfgPath := filepath.Join(dir, "agent.toml")
			cfg := fmt.Sprintf(`kitchen = "k-1"
data_dir = %q
[mqtt]
password_file = %q
[s3]
endpoint = "127.0.0.1:9000"
tls = false
access_key_file = %q
secret_key_file = %q
`, filepath.Join(dir, "data"), files["mqtt.password_file"], files["s3.access_key_file"], files["s3.secret_key_file"])
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := runCmd(t, "check-config", "--config", cfgPath)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			want := tt.key + ": secret file " + files[tt.key]
			if !strings.Contains(out, want) || !strings.Contains(out, "chmod 600 "+files[tt.key]) {
				t.Fatalf("check-config output does not name %q and its chmod:\n%s", want, out)
			}
			if strings.Count(out, "chmod") != 1 {
				t.Errorf("want exactly one problem, got:\n%s", out)
			}
		})
	}
}

// inspect and decide refuse a damaged store with the same one line as run.
func TestInspectAndDecideRefuseDamagedStore(t *testing.T) {
	cfgPath, data := startupConfig(t, "")
	path := filepath.Join(data, "agent.db")
	fillStore(t, path, 3000)
	fi, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 8192), fi.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, args := range [][]string{
		{"inspect", "--config", cfgPath},
		{"decide", "--config", cfgPath, "--dry-run", "--date", "2026-11-21"},
	} {
		_, stderr, code := runCmd(t, args...)
		if code != 1 || !strings.Contains(stderr, "is damaged") || !strings.Contains(stderr, "store salvage") {
			t.Errorf("%s: exit %d, want 1 and the damaged-store line:\n%s", args[0], code, stderr)
		}
	}
}
