package ingest

import (
	"path/filepath"
	"strings"
	"testing"
)

// Every TLS scheme, however it is spelt, reads mqtt.ca_file; plain schemes
// do not.
func TestNewClientReadsCAFileForEveryTLSScheme(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, broker := range []string{"ssl://b:8883", "tls://b:8883", "mqtts://b:8883", "tcps://b:8883", "SSL://b:8883", "wss://b:443"} {
		_, err := NewClient(ClientOptions{Broker: broker, ClientID: "c", CAFile: missing}, func(Message) {})
		if err == nil || !strings.Contains(err.Error(), "mqtt.ca_file") {
			t.Errorf("%s: NewClient = %v, want the ca_file error", broker, err)
		}
	}
	for _, broker := range []string{"tcp://b:1883", "mqtt://b:1883", "ws://b:80"} {
		if _, err := NewClient(ClientOptions{Broker: broker, ClientID: "c", CAFile: missing}, func(Message) {}); err != nil {
			t.Errorf("%s: NewClient = %v, want no error", broker, err)
		}
	}
}
