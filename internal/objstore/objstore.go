// Package objstore is the central object store as both programs use it: one
// Bucket interface with three implementations, S3 (MinIO in tests and
// production), Dir (a local directory, for a kitchen or a demo without an
// S3 server) and Mem (tests), chosen by the [s3] config section shared by
// both programs. Its keys are read from files (internal/secret), and it turns
// the usual failures (wrong credentials, missing bucket, unreachable
// endpoint, TLS) into one line a person understands.
package objstore

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/budare/budare/internal/secretfile"
	"github.com/budare/budare/internal/tlsfiles"
)

// Config is the [s3] section of both programs' config files.
type Config struct {
	// Dir, when set, keeps the bucket in this local directory instead of
	// on an S3 server (a kitchen or a demo without MinIO); the other
	// fields must then be empty.
	Dir           string `toml:"dir"`
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
	if c.Dir != "" {
		return c.dirProblems()
	}
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
		if _, err := secretfile.ReadName(kf.path, credDir); err != nil {
			ps = append(ps, fmt.Sprintf("%s: %v", kf.key, err))
		}
	}
	if c.TLS != nil && !*c.TLS && (c.CertFile != "" || c.KeyFile != "") {
		ps = append(ps, "s3.cert_file and s3.key_file need s3.tls (a client certificate is sent only over TLS)")
	}
	return append(ps, c.tlsFiles(credDir).Problems(time.Now())...)
}

func (c Config) dirProblems() []string {
	var ps []string
	if !filepath.IsAbs(c.Dir) {
		ps = append(ps, fmt.Sprintf("s3.dir %q must be an absolute path", c.Dir))
	}
	if c.Endpoint != "" || c.AccessKeyFile != "" || c.SecretKeyFile != "" || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.TLS != nil || c.Region != "" {
		ps = append(ps, "s3.dir keeps the bucket in a directory: remove s3.endpoint, s3.access_key_file, s3.secret_key_file, s3.tls, s3.ca_file, s3.cert_file, s3.key_file and s3.region (or remove s3.dir)")
	}
	if c.Bucket != "" {
		ps = append(ps, "s3.bucket has no meaning with s3.dir (the directory is the bucket)")
	}
	return ps
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
