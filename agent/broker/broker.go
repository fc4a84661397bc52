// Package broker is the MQTT broker the agent can run in-process
// ([mqtt] embedded), for a kitchen without Mosquitto: the machines publish
// to it, the agent's own clients ingest from it and publish the retained
// actions the displays read. It is mochi-mqtt with its bbolt storage hook,
// so retained actions and persistent sessions survive a restart.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options configure a broker.
type Options struct {
	// Addr is the host:port to listen on (port 0 picks a free one).
	Addr string
	// Dir holds the broker's bbolt file (retained messages, sessions,
	// messages in flight); created if missing.
	Dir string
	// Logger receives the broker's own log lines (default: discarded).
	Logger *slog.Logger
}

// DBFile is the broker's bbolt file inside Options.Dir.
const DBFile = "broker.db"

// Broker is a running embedded broker.
type Broker struct {
	srv   *mqtt.Server
	addr  string
	close sync.Once
}

// Start opens the store, listens on Addr and serves in the background until
// Close. It returns once clients can connect.
func Start(o Options) (*Broker, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// Mosquitto keeps a retained message until it is replaced; mochi's
	// default drops it after a day, which would blank a display whose
	// action is republished only each morning.
	caps.MaximumMessageExpiryInterval = 0
	// A burst of a week of history at QoS 1 must queue, not be dropped
	// (Mosquitto's budare.conf sets max_queued_messages the same way).
	caps.MaximumInflight = math.MaxUint16
	caps.MaximumClientWritesPending = 1 << 16
	srv := mqtt.New(&mqtt.Options{Capabilities: caps, Logger: log, InlineClient: false})
	// Like the loopback Mosquitto of the Debian package: machines and
	// displays connect without credentials; the listen address is the
	// access control.
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	path := filepath.Join(o.Dir, DBFile)
	err := srv.AddHook(new(store), &bolt.Options{
		Path: path,
		// NoSync: every QoS 1 message is written twice (in flight, then
		// done); an fsync each would cap ingest at a few hundred messages a
		// second. A crash of the process loses nothing; a power cut loses
		// the last seconds, as Mosquitto's periodic autosave does.
		Options: &bbolt.Options{Timeout: 2 * time.Second, NoSync: true},
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("embedded broker: %s is locked by another process (is another agent running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded broker: open %s: %w", path, err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: o.Addr})
	if err := srv.AddListener(tcp); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: listen on %s: %w", o.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, addr: tcp.Address()}, nil
}

// store is mochi's bbolt hook without the $SYS statistics: nobody needs
// them after a restart, and in v2.7.9 the statistics tick races with the
// hook's Stop on Close.
type store struct{ bolt.Hook }

func (h *store) Provides(b byte) bool {
	return b != mqtt.OnSysInfoTick && b != mqtt.StoredSysInfo && h.Hook.Provides(b)
}

// Addr is the address the broker listens on (with the chosen port).
func (b *Broker) Addr() string { return b.addr }

// Close disconnects every client, stops listening and closes the store; a
// second call does nothing.
func (b *Broker) Close() error {
	var err error
	b.close.Do(func() { err = b.srv.Close() })
	return err
}
