// Package objstore connects to the central S3 object store (MinIO in tests
// and production) from an [s3] config section shared by both programs. It
// keeps secrets in files, never in the config, and turns the usual failures
// (wrong credentials, missing bucket, unreachable endpoint, TLS) into one
// line a person understands.
package objstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/budare/budare/internal/secretfile"
	"github.com/budare/budare/internal/tlsfiles"
)

// Config is the [s3] section of both programs' config files.
type Config struct {
	Endpoint      string `toml:"endpoint"`        // host:port, no scheme
	Bucket        string `toml:"bucket"`          // default "budare"
	Region        string `toml:"region"`          // optional
	AccessKeyFile string `toml:"access_key_file"` // file holding the access key
	SecretKeyFile string `toml:"secret_key_file"` // file holding the secret key, mode 0600
	TLS           *bool  `toml:"tls"`             // default true; false only for loopback
	CAFile        string `toml:"ca_file"`         // extra CA bundle (PEM)
	CertFile      string `toml:"cert_file"`       // client certificate (PEM) for mutual TLS
	KeyFile       string `toml:"key_file"`        // its key (PEM, mode 0600)
}

func (c Config) tlsFiles(credDir string) tlsfiles.Files {
	return tlsfiles.Files{Section: "s3", CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile, CredDir: credDir}
}

// DefaultBucket is the bucket used when the config names none.
const DefaultBucket = "budare"

// UseTLS reports whether connections use TLS (the default).
func (c Config) UseTLS() bool { return c.TLS == nil || *c.TLS }

// BucketName returns the configured bucket or the default.
func (c Config) BucketName() string {
	if c.Bucket == "" {
		return DefaultBucket
	}
	return c.Bucket
}

// Problems returns every problem with the config, one line each, without
// touching the network. Relative key files are resolved against credDir
// (systemd's $CREDENTIALS_DIRECTORY) when it is set.
func (c Config) Problems(credDir string) []string {
	var ps []string
	if c.Endpoint == "" {
		ps = append(ps, "s3.endpoint is empty (want host:port)")
	} else if strings.Contains(c.Endpoint, "://") {
		ps = append(ps, fmt.Sprintf("s3.endpoint %q must be host:port without a scheme (use s3.tls to choose https)", c.Endpoint))
	} else if _, _, err := net.SplitHostPort(c.Endpoint); err != nil {
		ps = append(ps, fmt.Sprintf("s3.endpoint %q is not host:port", c.Endpoint))
	}
	if !c.UseTLS() && c.Endpoint != "" && !IsLoopback(c.Endpoint) {
		ps = append(ps, fmt.Sprintf("s3.tls = false is only allowed for a loopback endpoint, not %q", c.Endpoint))
	}
	for _, kf := range []struct{ key, path string }{{"s3.access_key_file", c.AccessKeyFile}, {"s3.secret_key_file", c.SecretKeyFile}} {
		if kf.path == "" {
			ps = append(ps, kf.key+" is empty")
			continue
		}
		if _, err := ReadSecretFile(kf.path, credDir); err != nil {
			ps = append(ps, fmt.Sprintf("%s: %v", kf.key, err))
		}
	}
	if c.TLS != nil && !*c.TLS && (c.CertFile != "" || c.KeyFile != "") {
		ps = append(ps, "s3.cert_file and s3.key_file need s3.tls (a client certificate is sent only over TLS)")
	}
	return append(ps, c.tlsFiles(credDir).Problems(time.Now())...)
}

// IsLoopback reports whether host:port names only the loopback interface:
// the one place plain-text S3 is allowed, and where the dashboard (which
// has no authentication) listens by default.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ResolveCredential resolves a relative secret file name against credDir
// (systemd LoadCredential=), so units can say `secret_key_file = "s3-secret-key"`.
func ResolveCredential(path, credDir string) string {
	if path == "" || filepath.IsAbs(path) || credDir == "" {
		return path
	}
	return filepath.Join(credDir, path)
}

// ReadSecretFile reads a secret from file name, resolved against credDir
// (ResolveCredential), trimmed of surrounding space. It refuses a file its
// group or others can read (secretfile.CheckMode), because a leaked key
// lets anyone write to the chain's models.
func ReadSecretFile(name, credDir string) (string, error) {
	return secretfile.Read(ResolveCredential(name, credDir), credDir)
}

// Store is a connected bucket.
type Store struct {
	Client *minio.Client
	Bucket string
	cfg    Config
}

// New builds a client for the config. It does not touch the network; call
// Check to find out whether the store is reachable and the bucket exists.
func New(cfg Config, credDir string) (*Store, error) {
	if ps := cfg.Problems(credDir); len(ps) > 0 {
		return nil, fmt.Errorf("s3 config: %s", strings.Join(ps, "; "))
	}
	ak, err := ReadSecretFile(cfg.AccessKeyFile, credDir)
	if err != nil {
		return nil, fmt.Errorf("s3.access_key_file: %w", err)
	}
	sk, err := ReadSecretFile(cfg.SecretKeyFile, credDir)
	if err != nil {
		return nil, fmt.Errorf("s3.secret_key_file: %w", err)
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(ak, sk, ""),
		Secure: cfg.UseTLS(),
		Region: cfg.Region,
	}
	tr, err := minio.DefaultTransport(cfg.UseTLS())
	if err != nil {
		return nil, fmt.Errorf("s3 transport: %w", err)
	}
	// Flaky uplinks: fail a dead connection in seconds, not minutes.
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 60 * time.Second
	if cfg.UseTLS() && cfg.tlsFiles(credDir).Any() {
		tc, err := cfg.tlsFiles(credDir).Config(time.Now())
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	opts.Transport = tr
	// minio-go retries internally up to 10 times; callers run their own
	// backoff, so one quick retry is enough and keeps errors prompt.
	opts.MaxRetries = 1
	c, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	return &Store{Client: c, Bucket: cfg.BucketName(), cfg: cfg}, nil
}

// Check verifies that the endpoint answers, the credentials are accepted and
// the bucket exists, returning one explained error otherwise.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.Client.BucketExists(ctx, s.Bucket)
	if err != nil {
		return s.Explain(err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %q does not exist on %s (create it, or set s3.bucket)", s.Bucket, s.cfg.Endpoint)
	}
	return nil
}

// EnsureBucket creates the bucket if it is missing (central, demo and tests).
func (s *Store) EnsureBucket(ctx context.Context) error {
	ok, err := s.Client.BucketExists(ctx, s.Bucket)
	if err != nil {
		return s.Explain(err)
	}
	if ok {
		return nil
	}
	if err := s.Client.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region}); err != nil {
		return s.Explain(err)
	}
	return nil
}

// Explain turns a minio-go or network error into one line naming the
// endpoint and the likely cause. The original error stays wrapped.
func (s *Store) Explain(err error) error {
	if err == nil {
		return nil
	}
	ep := s.cfg.Endpoint
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied":
			return fmt.Errorf("s3 %s rejected the credentials (%s): check s3.access_key_file and s3.secret_key_file: %w", ep, resp.Code, err)
		case "NoSuchBucket":
			return fmt.Errorf("s3 bucket %q does not exist on %s: %w", s.Bucket, ep, err)
		}
	}
	// Expired or misnamed server certificates, and a refused client
	// certificate, get tlsfiles' more precise line.
	var invalid x509.CertificateInvalidError
	var hostErr x509.HostnameError
	if errors.As(err, &invalid) || errors.As(err, &hostErr) || strings.Contains(err.Error(), "remote error: tls:") {
		return tlsfiles.Explain(err, "s3", "s3 "+ep, "set s3.tls = false for a loopback endpoint")
	}
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr):
		return fmt.Errorf("s3 %s: TLS certificate not trusted (set s3.ca_file, or check the host name): %w", ep, err)
	case errors.As(err, &recErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("s3 %s: TLS handshake failed, the server does not speak TLS (set s3.tls = false for a loopback endpoint): %w", ep, err)
	case strings.Contains(err.Error(), "malformed HTTP response"),
		strings.Contains(err.Error(), "HTTP request to an HTTPS server"): // Go TLS servers (MinIO) answer plain HTTP with a 400 saying so
		return fmt.Errorf("s3 %s: the server speaks TLS but s3.tls is false: %w", ep, err)
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("s3 %s is unreachable: %w", ep, err)
	}
	return fmt.Errorf("s3 %s: %w", ep, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
