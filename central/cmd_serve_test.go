package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/command"
)

// writeServeConfig writes a central config whose store is a closed loopback
// port, so serve must come up anyway and report the store on its pages.
func writeServeConfig(t *testing.T, listen string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"ak", "sk"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret-"+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `timezone = "UTC"
[train]
span_days = 42
[s3]
endpoint = "127.0.0.1:1"
tls = false
access_key_file = "ak"
secret_key_file = "sk"
[serve]
listen = "` + listen + `"
`
	p := filepath.Join(dir, "central.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	return p
}

func TestServeCommand(t *testing.T) {
	cfg := writeServeConfig(t, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--config", cfg}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v (exit: %v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_, url, ok := strings.Cut(strings.TrimSpace(line), "dashboard on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serve printed %q", line)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get(strings.TrimSuffix(url, "/") + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/api/overview"); code != http.StatusBadGateway || !strings.Contains(body, "127.0.0.1:1 is unreachable") {
		t.Errorf("/api/overview with the store down: %d %q", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

func TestServeCommandErrors(t *testing.T) {
	cfg := writeServeConfig(t, "")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"extra argument", []string{"--config", cfg, "now"}, "usage error"},
		{"unknown flag", []string{"--config", cfg, "--port", "1"}, "usage error"},
		{"missing config", []string{"--config", filepath.Join(t.TempDir(), "nope.toml")}, "no such file"},
		{"bad listen", []string{"--config", cfg, "--listen", "8080"}, "not host:port"},
		{"port taken", []string{"--config", cfg, "--listen", taken.Addr().String()}, "address already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := cmdServe(ctx, tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(tc.want, "usage") && !errors.Is(err, command.ErrUsage) {
				t.Errorf("err %v is not a usage error", err)
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[s3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmdServe(context.Background(), []string{"--config", bad}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad toml: %v", err)
	}
}
