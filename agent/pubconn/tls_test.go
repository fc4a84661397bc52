package pubconn

import (
	"context"
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
	m := testenv.MutualTLSMosquitto(t, dir)
	b := m.Broker
	tests := []struct {
		name  string
		files tlsfiles.Files
		ok    bool
	}{
		{"with the client certificate", tlsfiles.Files{Section: "mqtt", CAFile: m.CAFile, CertFile: m.CertFile, KeyFile: m.KeyFile}, true},
		{"without it", tlsfiles.Files{Section: "mqtt", CAFile: m.CAFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.files.Config(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(Options{Broker: b.TLSURL, ClientID: "pub-" + tt.name[:4], TLS: tc, Kitchen: "k-1"})
			if err != nil {
				t.Fatal(err)
			}
			c.Start()
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err = c.WaitConnected(ctx)
			if tt.ok && err != nil {
				t.Fatalf("publisher did not connect over mutual TLS: %v; broker log: %s", err, b.Log())
			}
			if !tt.ok && err == nil {
				t.Fatal("publisher connected without a client certificate to a broker requiring one")
			}
		})
	}
}
