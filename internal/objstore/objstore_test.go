package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

// startMinIO starts a MinIO and waits until it serves S3 requests:
// /minio/health/live answers before the object layer and IAM are up, and
// a request in that gap fails with "Server not initialized yet".
func startMinIO(t *testing.T) *testenv.MinIOServer {
	t.Helper()
	m := testenv.MinIO(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + m.Endpoint + "/minio/health/cluster")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio on %s not ready after 60s", m.Endpoint)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeKeys writes an access/secret key pair as 0600 files in a new dir.
func writeKeys(t *testing.T, access, secret string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	a, s := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	if err := os.WriteFile(a, []byte(access), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return a, s
}

// TestErrorsAreOneExplainedLine checks each usual failure against a real
// MinIO (and a TLS test server for the certificate cases) and that the
// error names the cause on one line.
func TestErrorsAreOneExplainedLine(t *testing.T) {
	m := startMinIO(t)
	goodA, goodS := writeKeys(t, m.AccessKey, m.SecretKey)
	badA, badS := writeKeys(t, m.AccessKey, "not-the-secret-key")
	unknownA, unknownS := writeKeys(t, "nobody", "nobody-secret-key")

	// Create the bucket the good cases use.
	good, err := New(Config{Endpoint: m.Endpoint, Bucket: "budare", AccessKeyFile: goodA, SecretKeyFile: goodS, TLS: ptr(false)}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := good.EnsureBucket(ctx); err != nil {
		t.Fatalf("ensure bucket: %v", err)
	}
	if err := good.Check(ctx); err != nil {
		t.Fatalf("check of a good config: %v", err)
	}

	free, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tlsEndpoint := strings.TrimPrefix(tlsSrv.URL, "https://")

	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the one-line error
	}{
		{"wrong secret key", Config{Endpoint: m.Endpoint, AccessKeyFile: badA, SecretKeyFile: badS, TLS: ptr(false)},
			[]string{"rejected the credentials", "SignatureDoesNotMatch", "s3.secret_key_file"}},
		{"unknown access key", Config{Endpoint: m.Endpoint, AccessKeyFile: unknownA, SecretKeyFile: unknownS, TLS: ptr(false)},
			[]string{"rejected the credentials", "InvalidAccessKeyId"}},
		{"missing bucket", Config{Endpoint: m.Endpoint, Bucket: "no-such-bucket", AccessKeyFile: goodA, SecretKeyFile: goodS, TLS: ptr(false)},
			[]string{`bucket "no-such-bucket" does not exist`, m.Endpoint}},
		{"unreachable endpoint", Config{Endpoint: fmt.Sprintf("127.0.0.1:%d", free), AccessKeyFile: goodA, SecretKeyFile: goodS, TLS: ptr(false)},
			[]string{"is unreachable", fmt.Sprintf("127.0.0.1:%d", free)}},
		{"TLS to a plain server", Config{Endpoint: m.Endpoint, AccessKeyFile: goodA, SecretKeyFile: goodS},
			[]string{"TLS handshake failed", "does not speak TLS", "s3.tls = false"}},
		{"untrusted certificate", Config{Endpoint: tlsEndpoint, AccessKeyFile: goodA, SecretKeyFile: goodS},
			[]string{"TLS certificate not trusted", "s3.ca_file"}},
		{"plain to a TLS server", Config{Endpoint: tlsEndpoint, AccessKeyFile: goodA, SecretKeyFile: goodS, TLS: ptr(false)},
			[]string{"speaks TLS but s3.tls is false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg, "")
			if err != nil {
				t.Fatalf("new: %v", err)
			}
			err = s.Check(ctx)
			if err == nil {
				t.Fatal("check succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}

	// The same explanations come out of object operations, wrapped.
	t.Run("put to a missing bucket", func(t *testing.T) {
		s, err := New(Config{Endpoint: m.Endpoint, Bucket: "gone", AccessKeyFile: goodA, SecretKeyFile: goodS, TLS: ptr(false)}, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Put(ctx, "windows/k/2026-11-01.ndjson.gz", []byte("x"), "application/gzip", nil)
		if err == nil || !strings.Contains(err.Error(), `bucket "gone" does not exist`) {
			t.Fatalf("put: %v", err)
		}
	})
}

func TestPutGetStatListRoundTrip(t *testing.T) {
	m := startMinIO(t)
	a, sk := writeKeys(t, m.AccessKey, m.SecretKey)
	s, err := New(Config{Endpoint: m.Endpoint, AccessKeyFile: a, SecretKeyFile: sk, TLS: ptr(false)}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "nope", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat of a missing key: %v, want ErrNotFound", err)
	}
	body := []byte("hello window")
	if _, err := s.Put(ctx, "windows/k-1/2026-11-02.ndjson.gz", body, "application/gzip", map[string]string{"Sha256": "abc"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "windows/k-1/2026-11-02.ndjson.gz", 0)
	if err != nil || string(got) != string(body) {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := s.Get(ctx, "windows/k-1/2026-11-02.ndjson.gz", 3); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("get beyond the limit: %v, want ErrTooLarge", err)
	}
	info, err := s.Stat(ctx, "windows/k-1/2026-11-02.ndjson.gz")
	if err != nil || info.Size != int64(len(body)) || info.UserMetadata["Sha256"] != "abc" {
		t.Fatalf("stat: %+v %v", info, err)
	}
	keys, err := s.List(ctx, "windows/")
	if err != nil || len(keys) != 1 || keys[0] != "windows/k-1/2026-11-02.ndjson.gz" {
		t.Fatalf("list: %v %v", keys, err)
	}
	infos, err := s.ListInfo(ctx, "windows/")
	if err != nil || len(infos) != 1 || infos[0].Key != keys[0] || infos[0].Size != int64(len(body)) ||
		infos[0].ETag == "" || time.Since(infos[0].LastModified) > time.Hour {
		t.Fatalf("list info: %+v %v", infos, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false, "nonsense": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
