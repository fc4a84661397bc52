package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// MinIOServer is a running MinIO server on 127.0.0.1 with random root
// credentials.
type MinIOServer struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Dir       string // data in Dir/data, log in Dir/minio.log

	// TLS is set when the server serves HTTPS (MinIOOptions.CertFile).
	TLS bool

	opt         MinIOOptions
	bin         string
	port, cport int
	mu          sync.Mutex
	p           *proc
}

// MinIOOptions tune a test server. The zero value serves plain HTTP.
type MinIOOptions struct {
	// CertFile and KeyFile make the server serve HTTPS with this
	// certificate (and its key).
	CertFile, KeyFile string
}

// StartMinIO starts a MinIO server in dir on random free ports.
func StartMinIO(ctx context.Context, dir string) (*MinIOServer, error) {
	return StartMinIOWith(ctx, dir, MinIOOptions{})
}

// StartMinIOWith is StartMinIO with options.
func StartMinIOWith(ctx context.Context, dir string, opt MinIOOptions) (*MinIOServer, error) {
	bin, err := findBinary("BUDARE_MINIO_BIN", "minio")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cport, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &MinIOServer{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", port),
		AccessKey: "test" + randomHex(6),
		SecretKey: randomHex(16),
		Dir:       dir,
		TLS:       opt.CertFile != "",
		opt:       opt,
		bin:       bin, port: port, cport: cport,
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Start (re)starts a stopped server on the same port with the same data.
func (s *MinIOServer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return nil
	}
	data := filepath.Join(s.Dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("minio data dir: %w", err)
	}
	logPath := filepath.Join(s.Dir, "minio.log")
	env := []string{
		"MINIO_ROOT_USER=" + s.AccessKey,
		"MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
		"HOME=" + s.Dir,
	}
	args := []string{"server", data, "--quiet", "--address", s.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", s.cport)}
	health := &http.Client{Timeout: time.Second}
	scheme := "http"
	if s.TLS {
		certs := filepath.Join(s.Dir, "certs")
		if err := os.MkdirAll(filepath.Join(certs, "CAs"), 0o700); err != nil {
			return err
		}
		for src, dst := range map[string]string{s.opt.CertFile: "public.crt", s.opt.KeyFile: "private.key"} {
			b, err := os.ReadFile(src)
			if err != nil {
				return fmt.Errorf("minio TLS: %w", err)
			}
			if err := os.WriteFile(filepath.Join(certs, dst), b, 0o600); err != nil {
				return err
			}
		}
		args = append(args, "--certs-dir", certs)
		// The health check only waits for the server; the tests verify
		// its certificate (or are meant to fail to).
		health.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // readiness probe only
		scheme = "https"
	}
	p, err := startProc(s.bin, args, env, logPath)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitHealthy(ctx, health, scheme+"://"+s.Endpoint+"/minio/health/cluster", p.exited); err != nil {
		p.stop()
		return fmt.Errorf("minio: %w; log: %s", err, tail(logPath))
	}
	s.p = p
	return nil
}

// Stop stops the server; its data stays for a later Start.
func (s *MinIOServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.stop()
	s.p = nil
}

// WriteCredentials writes the access and secret keys to files with mode 0600
// in dir and returns their paths, as the agent and central configs expect.
func (s *MinIOServer) WriteCredentials(dir string) (accessFile, secretFile string, err error) {
	accessFile = filepath.Join(dir, "s3-access-key")
	secretFile = filepath.Join(dir, "s3-secret-key")
	if err := os.WriteFile(accessFile, []byte(s.AccessKey+"\n"), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(secretFile, []byte(s.SecretKey+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return accessFile, secretFile, nil
}

func waitHealthy(ctx context.Context, client *http.Client, url string, exited <-chan struct{}) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", url, ctx.Err())
		case <-exited:
			return fmt.Errorf("server exited before %s answered", url)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MinIO starts a MinIO server for the test and stops it at cleanup.
func MinIO(t testing.TB, opts ...MinIOOptions) *MinIOServer {
	t.Helper()
	var opt MinIOOptions
	if len(opts) > 0 {
		opt = opts[0]
	}
	var s *MinIOServer
	var err error
	for range 3 {
		s, err = StartMinIOWith(context.Background(), t.TempDir(), opt)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start minio: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}
