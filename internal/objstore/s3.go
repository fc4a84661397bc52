package objstore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/budare/budare/internal/secretfile"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/budare/budare/internal/tlsfiles"
)

// S3 is a bucket on an S3 server (MinIO in tests and production).
type S3 struct {
	Client *minio.Client
	Bucket string
	cfg    Config
}

// New builds a client for the config. It does not touch the network; call
// Check to find out whether the store is reachable and the bucket exists.
func New(cfg Config, credDir string) (*S3, error) {
	if ps := cfg.Problems(credDir); len(ps) > 0 {
		return nil, fmt.Errorf("s3 config: %s", strings.Join(ps, "; "))
	}
	ak, err := secretfile.ReadName(cfg.AccessKeyFile, credDir)
	if err != nil {
		return nil, fmt.Errorf("s3.access_key_file: %w", err)
	}
	sk, err := secretfile.ReadName(cfg.SecretKeyFile, credDir)
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
	return &S3{Client: c, Bucket: cfg.BucketName(), cfg: cfg}, nil
}

// Check verifies that the endpoint answers, the credentials are accepted and
// the bucket exists, returning one explained error otherwise.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.Client.BucketExists(ctx, s.Bucket)
	if err != nil {
		return s.Explain(err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %q does not exist on %s (create it, or set s3.bucket): %w", s.Bucket, s.cfg.Endpoint, ErrNotFound)
	}
	return nil
}

// EnsureBucket creates the bucket if it is missing (central, demo and tests).
func (s *S3) EnsureBucket(ctx context.Context) error {
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
func (s *S3) Explain(err error) error {
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

// Put writes a whole object from memory. Objects budare writes are small
// (a day's window, a model, a manifest), so memory is the simplest path.
func (s *S3) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.Client.PutObject(ctx, s.Bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: ContentType(key), UserMetadata: meta})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, s.Explain(err))
	}
	return nil
}

// Get reads a whole object, at most limit bytes (0 means 1 GiB), returning
// ErrNotFound (wrapped) when the key does not exist.
func (s *S3) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	b, _, err := s.GetInfo(ctx, key, limit)
	return b, err
}

// GetInfo is Get also returning the object's description, which comes with
// the same response (no second request). The size in that response is
// checked before the body is read: an object larger than limit is refused
// without reading (or holding) any of it. A body shorter than the size is an
// error, never a truncated object.
func (s *S3) GetInfo(ctx context.Context, key string, limit int64) ([]byte, Info, error) {
	limit = orDefault(limit)
	body, oi, _, err := minio.Core{Client: s.Client}.GetObject(ctx, s.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.getErr(key, err)
	}
	defer body.Close()
	if oi.Size > limit {
		return nil, Info{}, fmt.Errorf("get %s: %w (%d bytes, object has %d)", key, ErrTooLarge, limit, oi.Size)
	}
	var buf bytes.Buffer
	if oi.Size >= 0 {
		buf.Grow(int(oi.Size) + bytes.MinRead) // one allocation for the whole body
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, limit+1)); err != nil {
		return nil, Info{}, s.getErr(key, err)
	}
	if int64(buf.Len()) > limit {
		return nil, Info{}, fmt.Errorf("get %s: %w (%d bytes)", key, ErrTooLarge, limit)
	}
	if oi.Size >= 0 && int64(buf.Len()) != oi.Size {
		return nil, Info{}, fmt.Errorf("get %s: s3 %s sent %d of the object's %d bytes", key, s.cfg.Endpoint, buf.Len(), oi.Size)
	}
	return buf.Bytes(), Info{Key: key, Size: int64(buf.Len()), ETag: strings.Trim(oi.ETag, `"`), Modified: oi.LastModified,
		Meta: canonicalMeta(oi.UserMetadata)}, nil
}

func (s *S3) getErr(key string, err error) error {
	if isNoSuchKey(err) {
		return fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("get %s: %w", key, s.Explain(err))
}

// Stat returns an object's metadata, or ErrNotFound (wrapped).
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	oi, err := s.Client.StatObject(ctx, s.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			return Info{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
		}
		return Info{}, fmt.Errorf("stat %s: %w", key, s.Explain(err))
	}
	return Info{Key: oi.Key, Size: oi.Size, ETag: strings.Trim(oi.ETag, `"`), Modified: oi.LastModified,
		Meta: canonicalMeta(oi.UserMetadata)}, nil
}

// List returns the keys under prefix, sorted (S3 lists in key order).
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	infos, err := s.ListInfo(ctx, prefix)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(infos))
	for i, o := range infos {
		keys[i] = o.Key
	}
	return keys, nil
}

// ListInfo returns the objects under prefix with their size, time and
// ETag (no metadata), sorted by key: enough to tell a changed object or a
// late upload without downloading it.
func (s *S3) ListInfo(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	for o := range s.Client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, s.Explain(o.Err))
		}
		out = append(out, Info{Key: o.Key, Size: o.Size, Modified: o.LastModified, ETag: strings.Trim(o.ETag, `"`)})
	}
	return out, nil
}

// Remove deletes an object; a missing key is not an error (as in S3).
func (s *S3) Remove(ctx context.Context, key string) error {
	if err := s.Client.RemoveObject(ctx, s.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if isNoSuchKey(err) {
			return nil
		}
		return fmt.Errorf("remove %s: %w", key, s.Explain(err))
	}
	return nil
}

func isNoSuchKey(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.Code == "NoSuchKey" || resp.StatusCode == 404 && resp.Code != "NoSuchBucket")
}
