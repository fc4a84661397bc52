package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made by a test, for TLS tests against the
// real Mosquitto and MinIO: its certificate is at CertFile (PEM).
type CA struct {
	Name     string
	CertFile string
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	dir      string
}

// NewCA makes a CA named name, writing its certificate into dir.
func NewCA(t testing.TB, dir, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Name: name, CertFile: filepath.Join(dir, name+".crt"), cert: cert, key: key, dir: dir}
	writePEM(t, ca.CertFile, "CERTIFICATE", der, 0o644)
	return ca
}

// CertOptions describe a certificate Issue makes.
type CertOptions struct {
	Name string // common name and file name
	// DNSNames and IPs the certificate is valid for (a server's).
	DNSNames []string
	IPs      []net.IP
	// Client makes a client certificate (extended key usage clientAuth)
	// instead of a server one.
	Client bool
	// Expired makes a certificate whose validity ended an hour ago.
	Expired bool
}

// Issue makes a certificate signed by ca and writes it and its key (0600)
// into ca's directory.
func (ca *CA) Issue(t testing.TB, o CertOptions) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if o.Expired {
		nb, na = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	}
	usage := x509.ExtKeyUsageServerAuth
	if o.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: o.Name},
		NotBefore: nb, NotAfter: na, DNSNames: o.DNSNames, IPAddresses: o.IPs,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(ca.dir, o.Name+".crt"), filepath.Join(ca.dir, o.Name+".key")
	writePEM(t, certFile, "CERTIFICATE", der, 0o644)
	writePEM(t, keyFile, "PRIVATE KEY", kder, 0o600)
	return certFile, keyFile
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

// MutualTLS is a Mosquitto that requires a client certificate, and the
// files of a client it accepts.
type MutualTLS struct {
	Broker            *MosquittoServer // connect to Broker.TLSURL
	CAFile            string           // the CA that signed the broker's and the client's certificates
	CertFile, KeyFile string           // the client's
}

// MutualTLSMosquitto starts a Mosquitto TLS listener on loopback that
// requires a client certificate, with a CA, server and client certificate
// made in dir.
func MutualTLSMosquitto(t testing.TB, dir string) MutualTLS {
	t.Helper()
	ca := NewCA(t, dir, "kitchen-ca")
	srvCert, srvKey := ca.Issue(t, CertOptions{Name: "broker", IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	cliCert, cliKey := ca.Issue(t, CertOptions{Name: "agent", Client: true})
	b := Mosquitto(t, MosquittoOptions{TLS: &MosquittoTLS{
		CertFile: srvCert, KeyFile: srvKey, CAFile: ca.CertFile, RequireCertificate: true}})
	return MutualTLS{Broker: b, CAFile: ca.CertFile, CertFile: cliCert, KeyFile: cliKey}
}
