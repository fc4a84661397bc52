package objstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
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
		err = s.Put(ctx, "windows/k/2026-11-01.ndjson.gz", []byte("x"), nil)
		if err == nil || !strings.Contains(err.Error(), `bucket "gone" does not exist`) {
			t.Fatalf("put: %v", err)
		}
	})
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

// TestMutualTLS talks to a TLS server that requires a client certificate
// signed by the kitchen CA (MinIO asks for one but does not require it):
// the client certificate of s3.cert_file and s3.key_file is presented.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir, "chain-ca")
	other := testenv.NewCA(t, dir, "other-ca")
	srvCert, srvKey := ca.Issue(t, testenv.CertOptions{Name: "s3", IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	cliCert, cliKey := ca.Issue(t, testenv.CertOptions{Name: "agent", Client: true})
	strangerCert, strangerKey := other.Issue(t, testenv.CertOptions{Name: "stranger", Client: true})
	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ca.CertFile)
	pool.AppendCertsFromPEM(caPEM)
	// Every S3 request answered 200: BucketExists says yes.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	ep := strings.TrimPrefix(srv.URL, "https://")
	ak, sk := writeKeys(t, "access", "secret-key-secret")

	tests := []struct {
		name      string
		cert, key string
		want      string // "" = Check succeeds
	}{
		{"client certificate of the chain's CA", cliCert, cliKey, ""},
		{"no client certificate", "", "", "s3.cert_file"},
		{"client certificate of another CA", strangerCert, strangerKey, "refused this client's certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Endpoint: ep, Region: "us-east-1", AccessKeyFile: ak, SecretKeyFile: sk, CAFile: ca.CertFile,
				CertFile: tt.cert, KeyFile: tt.key}, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = s.Check(ctx)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("check = %v; want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestMinIOTLS talks to a real MinIO serving HTTPS with a certificate of a
// CA made here.
func TestMinIOTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir, "chain-ca")
	other := testenv.NewCA(t, dir, "other-ca")
	loop := []net.IP{net.ParseIP("127.0.0.1")}
	good, goodKey := ca.Issue(t, testenv.CertOptions{Name: "minio", IPs: loop})
	expired, expiredKey := ca.Issue(t, testenv.CertOptions{Name: "minio-expired", IPs: loop, Expired: true})
	misnamed, misnamedKey := ca.Issue(t, testenv.CertOptions{Name: "minio-elsewhere", DNSNames: []string{"s3.example"}})
	cliCert, cliKey := ca.Issue(t, testenv.CertOptions{Name: "agent", Client: true})

	servers := map[string]*testenv.MinIOServer{
		"good":     testenv.MinIO(t, testenv.MinIOOptions{CertFile: good, KeyFile: goodKey}),
		"expired":  testenv.MinIO(t, testenv.MinIOOptions{CertFile: expired, KeyFile: expiredKey}),
		"misnamed": testenv.MinIO(t, testenv.MinIOOptions{CertFile: misnamed, KeyFile: misnamedKey}),
	}
	tests := []struct {
		name, server string
		cfg          Config
		want         string // "" = works
	}{
		{"TLS with the chain's CA and a client certificate", "good", Config{CAFile: ca.CertFile, CertFile: cliCert, KeyFile: cliKey}, ""},
		{"CA that did not sign the server's certificate", "good", Config{CAFile: other.CertFile}, "s3.ca_file"},
		{"expired server certificate", "expired", Config{CAFile: ca.CertFile}, "expired"},
		{"server certificate for another name", "misnamed", Config{CAFile: ca.CertFile}, "not for this name (it names s3.example)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := servers[tt.server]
			ak, sk := writeKeys(t, m.AccessKey, m.SecretKey)
			cfg := tt.cfg
			cfg.Endpoint, cfg.AccessKeyFile, cfg.SecretKeyFile = m.Endpoint, ak, sk
			s, err := New(cfg, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = s.EnsureBucket(ctx)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ensure bucket over TLS: %v", err)
				}
				if err := s.Put(ctx, "windows/k-1/2026-11-01.ndjson.gz", []byte("x"), nil); err != nil {
					t.Fatalf("put over TLS: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ensure bucket = %v; want one line saying %q", err, tt.want)
			}
		})
	}
}
