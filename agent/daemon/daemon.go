// Package daemon assembles budare-agent from its config and runs it. Open
// opens what the agent holds (open.go: the embedded broker, the data
// directory's store, the central bucket, the release key, the HTTP
// listener), then wires each subsystem onto them, one file each: ingest
// (ingest.go), the daily-window upload (upload.go), model sync (models.go),
// the morning's decision service and its MQTT connection (morning.go), and
// the status, health, metrics and inspect endpoint (http.go). Run runs them
// until the context ends (run.go).
//
// The work of the commands that act on an agent — Decide, Inspect,
// UploadNow, SyncNow (commands.go) — is here too: they ask the running agent
// over its local HTTP endpoint (client.go) and, when none answers, open the
// store and act themselves with the same wiring. RetainedActions
// (actions.go) shows what a display sees.
package daemon

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/broker"
	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/ingest"
	"github.com/budare/budare/agent/morning"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/status"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/sdnotify"
)

// Options configure Open.
type Options struct {
	// Version is the agent's version, in its status messages and files.
	Version string
	Log     *slog.Logger
	// ReadyGrace is how long start-up waits for the broker before telling
	// systemd it is ready anyway (the agent keeps reconnecting; a broker that
	// is down must not make systemd kill the agent in a loop). Default 20s.
	ReadyGrace time.Duration
	// StoreLockTimeout bounds the wait for the store's file lock. Default 10s.
	StoreLockTimeout time.Duration
}

// Agent is the assembled agent: Run runs it, Close releases what Open took.
type Agent struct {
	cfg *config.Config
	log *slog.Logger
	opt Options

	// Opened (open.go).
	broker   *broker.Broker // nil unless mqtt.embedded
	store    *store.Store
	bucket   objstore.Bucket // nil without [s3]
	pubKey   ed25519.PublicKey
	keyErr   error        // why pubKey is nil
	listener net.Listener // nil when listen is empty
	notifier *sdnotify.Notifier

	// Shared by the subsystems (http.go).
	registry *prometheus.Registry
	health   *status.Health
	http     *status.Server

	// Wired (ingest.go, upload.go, models.go, morning.go).
	ingester  *ingest.Ingester
	ingestMQ  *ingest.Client
	installed chan struct{} // a model release was installed
	morning   *morning.Service
	services  []runner.Service
}

// Open opens what the agent holds and wires its subsystems. Nothing runs
// until Run. Every error names its cause and what to do in one line: under
// systemd it is all the journal shows of a failed start.
func Open(cfg *config.Config, opt Options) (_ *Agent, err error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.ReadyGrace <= 0 {
		opt.ReadyGrace = 20 * time.Second
	}
	if opt.StoreLockTimeout <= 0 {
		opt.StoreLockTimeout = 10 * time.Second
	}
	// a is not the named result: `return nil, err` must not nil it before
	// the deferred Close runs.
	a := &Agent{cfg: cfg, log: opt.Log, opt: opt, registry: status.NewRegistry(), health: status.NewHealth()}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if err := a.open(); err != nil {
		return nil, err
	}
	if err := a.wire(); err != nil {
		return nil, err
	}
	return a, nil
}

// wire builds every subsystem's services on what open opened.
func (a *Agent) wire() error {
	a.http = status.NewServer(a.registry, a.health, a.serveInspect, a.log)
	if err := a.wireIngest(); err != nil {
		return err
	}
	syncer, err := a.wireModels()
	if err != nil {
		return err
	}
	if err := a.wireMorning(syncer); err != nil {
		return err
	}
	return a.wireUpload()
}

// Close closes the listener and the store, and the embedded broker last.
// Run calls it; call it yourself when Run is not called.
func (a *Agent) Close() error {
	var errs []error
	if a.listener != nil {
		_ = a.listener.Close()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		a.store = nil
	}
	if a.broker != nil {
		// Closed last, so the agent's own clients left it cleanly.
		_ = a.broker.Close()
		a.broker = nil
	}
	return errors.Join(errs...)
}
