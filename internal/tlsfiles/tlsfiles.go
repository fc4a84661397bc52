// Package tlsfiles builds the TLS client configuration of an [mqtt] or [s3]
// config section from its PEM files (extra CAs, and a client certificate
// and key for mutual TLS), and turns TLS failures into one line that names
// the config keys to look at.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/budare/budare/internal/secretfile"
)

// Files are one section's TLS files. Relative CertFile and KeyFile are
// resolved against CredDir like the other secrets.
type Files struct {
	// Section names the config section in messages: "mqtt" or "s3".
	Section string
	// CAFile holds CAs (PEM) trusted besides the system's: the CA of a
	// broker or object store with a certificate of the chain's own.
	CAFile string
	// CertFile and KeyFile are the client's certificate and key (PEM) for
	// a server that requires one; both or neither.
	CertFile, KeyFile string
	CredDir           string
}

// Any reports whether a file is configured.
func (f Files) Any() bool { return f.CAFile != "" || f.CertFile != "" || f.KeyFile != "" }

func (f Files) key(k string) string { return f.Section + "." + k }

// Config returns the client TLS configuration (TLS 1.2 or later). now
// checks the client certificate's validity: an expired one is refused
// here, naming the file, rather than by the server with a bare alert.
func (f Files) Config(now time.Time) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key("ca_file"), err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s holds no PEM certificate", f.key("ca_file"), f.CAFile)
		}
		c.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, fmt.Errorf("%s and %s go together: set both for mutual TLS, or neither", f.key("cert_file"), f.key("key_file"))
	}
	if f.CertFile == "" {
		return c, nil
	}
	certPath, keyPath := secretfile.Resolve(f.CertFile, f.CredDir), secretfile.Resolve(f.KeyFile, f.CredDir)
	if err := secretfile.CheckMode(keyPath, f.CredDir); err != nil {
		return nil, fmt.Errorf("%s: %w", f.key("key_file"), err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", f.key("cert_file"), f.key("key_file"), err)
	}
	leaf := pair.Leaf
	if leaf == nil && len(pair.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	}
	if leaf != nil && now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%s %s expired on %s: renew it", f.key("cert_file"), certPath, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if leaf != nil && now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%s %s is valid only from %s: check this machine's clock", f.key("cert_file"), certPath, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	c.Certificates = []tls.Certificate{pair}
	return c, nil
}

// Problems returns Config's error as config problems (none or one).
func (f Files) Problems(now time.Time) []string {
	if !f.Any() {
		return nil
	}
	if _, err := f.Config(now); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// Explain turns a TLS failure talking to server into one line naming the
// cause and the config keys to fix; other errors come back unchanged.
// plainHint says what to do when the server does not speak TLS at all.
func Explain(err error, section, server, plainHint string) error {
	if err == nil {
		return nil
	}
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		header   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("%s: its certificate is signed by a CA this client does not trust: set %s.ca_file to the CA (PEM) that signed it (%w)", server, section, err)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Errorf("%s: its certificate is expired or not yet valid: renew it on the server, or check this machine's clock (%w)", server, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("%s: its certificate is not valid for a server: %w", server, err)
	case errors.As(err, &hostname):
		return fmt.Errorf("%s: its certificate is not for this name (it names %s): connect by a name on the certificate (%w)", server, names(hostname.Certificate), err)
	case errors.As(err, &header):
		return fmt.Errorf("%s does not speak TLS (it answered in plain text): %s (%w)", server, plainHint, err)
	}
	msg := err.Error()
	for _, alert := range []string{"bad certificate", "certificate required", "unknown certificate authority", "expired certificate", "certificate expired", "handshake failure"} {
		if strings.Contains(msg, "remote error: tls: "+alert) {
			return fmt.Errorf("%s refused this client's certificate (%s): check %s.cert_file and %s.key_file (signed by a CA the server trusts, not expired) (%w)",
				server, alert, section, section, err)
		}
	}
	return err
}

func names(c *x509.Certificate) string {
	if c == nil {
		return "nothing"
	}
	ns := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		ns = append(ns, ip.String())
	}
	if len(ns) == 0 {
		ns = append(ns, c.Subject.CommonName)
	}
	return strings.Join(ns, ", ")
}
