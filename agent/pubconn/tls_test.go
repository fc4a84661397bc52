package pubconn

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/budare/budare/internal/testenv"
	"github.com/budare/budare/internal/tlsfiles"
)

// The publisher takes the same TLS configuration as ingest (config.MQTTTLS):
// mqtt.ca_file adds to the system's CAs, and the client certificate is
// presented to a broker that requires one.
func TestPublisherMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, dir, "kitchen-ca")
	srvCert, srvKey := ca.Issue(t, testenv.CertOptions{Name: "broker", IPs: []net.IP{net.ParseIP("127.0.0.1")}})
	cliCert, cliKey := ca.Issue(t, testenv.CertOptions{Name: "agent", Client: true})
	b := testenv.Mosquitto(t, testenv.MosquittoOptions{TLS: &testenv.MosquittoTLS{
		CertFile: srvCert, KeyFile: srvKey, CAFile: ca.CertFile, RequireCertificate: true}})
	tests := []struct {
		name  string
		files tlsfiles.Files
		ok    bool
	}{
		{"with the client certificate", tlsfiles.Files{Section: "mqtt", CAFile: ca.CertFile, CertFile: cliCert, KeyFile: cliKey}, true},
		{"without it", tlsfiles.Files{Section: "mqtt", CAFile: ca.CertFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.files.Config(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(Options{Broker: b.TLSURL, ClientID: "pub-" + tt.name[:4], TLS: tc, Kitchen: "k-1"})
			if err != nil {
				t.Fatal(err)
			}
			m.Start()
			defer m.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err = m.WaitConnected(ctx)
			if tt.ok && err != nil {
				t.Fatalf("publisher did not connect over mutual TLS: %v; broker log: %s", err, b.Log())
			}
			if !tt.ok && err == nil {
				t.Fatal("publisher connected without a client certificate to a broker requiring one")
			}
		})
	}
}
