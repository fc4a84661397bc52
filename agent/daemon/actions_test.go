package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/pubconn"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
)

// TestRetainedActionsOverMutualTLS: the actions command connects with the
// same [mqtt] TLS files as the agent's own connections, so it works against
// a broker that requires a client certificate.
func TestRetainedActionsOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	m := testenv.MutualTLSMosquitto(t, dir)
	b := m.Broker

	path := filepath.Join(dir, "agent.toml")
	toml := fmt.Sprintf("kitchen = \"k-tls\"\ndata_dir = %q\nlisten = \"\"\ntimezone = \"UTC\"\n"+
		"[mqtt]\nbroker = %q\nca_file = %q\ncert_file = %q\nkey_file = %q\n",
		filepath.Join(dir, "data"), b.TLSURL, m.CAFile, m.CertFile, m.KeyFile)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.MQTTTLS()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := pubconn.New(pubconn.Options{Broker: b.TLSURL, ClientID: "pub-tls", TLS: tc, Kitchen: "k-tls"})
	if err != nil {
		t.Fatal(err)
	}
	pub.Start()
	defer pub.Close()
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatalf("publisher: %v; broker log: %s", err, b.Log())
	}
	want := `{"v":1,"machine":"m-01","level":"none"}`
	if err := pub.Publish(ctx, record.ActionTopic("k-tls", "m-01"), []byte(want), true); err != nil {
		t.Fatal(err)
	}
	got, err := RetainedActions(ctx, cfg, 1, 5*time.Second)
	if err != nil {
		t.Fatalf("RetainedActions over mutual TLS: %v; broker log: %s", err, b.Log())
	}
	if string(got["m-01"]) != want {
		t.Fatalf("retained actions %q, want m-01's %s", got, want)
	}
}
