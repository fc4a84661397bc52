package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/testenv"
)

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir, "ca")
	cert, key := ca.Issue(t, testenv.CertOptions{Name: "client", Client: true})
	openKey := filepath.Join(dir, "open.key")
	b, _ := os.ReadFile(key)
	if err := os.WriteFile(openKey, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Files
		want string // "" = ok
	}{
		{"nothing", Files{Section: "mqtt"}, ""},
		{"CA only", Files{Section: "mqtt", CAFile: ca.CertFile}, ""},
		{"client certificate", Files{Section: "s3", CAFile: ca.CertFile, CertFile: cert, KeyFile: key}, ""},
		{"certificate without key", Files{Section: "mqtt", CertFile: cert}, "mqtt.cert_file and mqtt.key_file go together"},
		{"readable key", Files{Section: "s3", CertFile: cert, KeyFile: openKey}, "s3.key_file: secret file " + openKey},
		{"CA file without PEM", Files{Section: "mqtt", CAFile: notPEM}, "mqtt.ca_file " + notPEM + " holds no PEM certificate"},
		{"missing CA file", Files{Section: "mqtt", CAFile: filepath.Join(dir, "none.pem")}, "mqtt.ca_file:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.f.Config(time.Now())
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.MinVersion != tls.VersionTLS12 || (tt.f.CertFile != "") != (len(c.Certificates) == 1) || (tt.f.CAFile != "") != (c.RootCAs != nil) {
					t.Fatalf("config %+v does not follow the files", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Config = %v, want %q", err, tt.want)
			}
			if ps := tt.f.Problems(time.Now()); len(ps) != 1 {
				t.Errorf("Problems = %q, want the one problem", ps)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	leaf := &x509.Certificate{DNSNames: []string{"broker.example"}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown authority", fmt.Errorf("dial: %w", x509.UnknownAuthorityError{}), "set mqtt.ca_file"},
		{"expired", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}, "expired or not yet valid"},
		{"wrong name", x509.HostnameError{Certificate: leaf, Host: "127.0.0.1"}, "it names broker.example"},
		{"plain server", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "does not speak TLS"},
		{"client certificate refused", errors.New("network Error : remote error: tls: certificate required"), "check mqtt.cert_file and mqtt.key_file"},
		{"bad certificate", errors.New("remote error: tls: bad certificate"), "refused this client's certificate (bad certificate)"},
	}
	for _, tt := range tests {
		got := Explain(tt.err, "mqtt", "broker x", "use tcp://")
		if !strings.Contains(got.Error(), tt.want) || !errors.Is(got, tt.err) {
			t.Errorf("%s: %v; want %q, wrapping the cause", tt.name, got, tt.want)
		}
	}
	other := errors.New("connection refused")
	if got := Explain(other, "mqtt", "broker x", ""); got != other {
		t.Errorf("a non-TLS error changed: %v", got)
	}
}
