package ingest

import (
	"net/url"
	"testing"

	"github.com/budare/budare/internal/mqttconn"
)

// Every TLS scheme, however it is spelt, gets the TLS configuration (and
// the same explanation of failures); plain schemes do not.
func TestTLSSchemesAgree(t *testing.T) {
	for _, tt := range []struct {
		broker string
		tls    bool
	}{
		{"ssl://b:8883", true}, {"tls://b:8883", true}, {"mqtts://b:8883", true}, {"tcps://b:8883", true},
		{"SSL://b:8883", true}, {"wss://b:443", true},
		{"tcp://b:1883", false}, {"mqtt://b:1883", false}, {"ws://b:80", false},
	} {
		u, err := url.Parse(tt.broker)
		if err != nil {
			t.Fatal(err)
		}
		useTLS, _ := dialedScheme(u.Scheme)
		if got := useTLS || u.Scheme == "wss"; got != tt.tls {
			t.Errorf("%s: ingest dials with TLS = %v, want %v", tt.broker, got, tt.tls)
		}
		if got := mqttconn.IsTLS(tt.broker); got != tt.tls {
			t.Errorf("%s: mqttconn.IsTLS = %v, want %v", tt.broker, got, tt.tls)
		}
		if _, err := NewClient(ClientOptions{Broker: tt.broker, ClientID: "c"}, func(Message) {}); err != nil {
			t.Errorf("%s: NewClient = %v", tt.broker, err)
		}
	}
}
