package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/ingest"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/status"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/sdnotify"
)

// Agent is the opened agent: its store, MQTT connection, metrics registry,
// health and HTTP endpoint. Other subsystems get what they need from its
// exported fields when they build their Service (see agent/cmd_run.go).
type Agent struct {
	Config   *config.Config
	Log      *slog.Logger
	Version  string
	Store    *store.Store
	Registry *prometheus.Registry // register your subsystem's metrics here
	Health   *status.Health       // report your subsystem's health here
	HTTP     *status.Server       // add debug endpoints here
	MQTT     *ingest.Client       // publish the agent's own messages (actions, status)
	Ingester *ingest.Ingester

	sections []inspect.Section
	listener net.Listener
	notifier *sdnotify.Notifier
	readyIn  time.Duration
}

// Options configure Open.
type Options struct {
	Version string
	Log     *slog.Logger
	// Sections are the subsystems' parts of the /inspect report.
	Sections []inspect.Section
	// ReadyGrace is how long start-up waits for the broker before telling
	// systemd it is ready anyway (the agent keeps reconnecting; a broker that
	// is down must not make systemd kill the agent in a loop). Default 20s.
	ReadyGrace time.Duration
	// StoreLockTimeout bounds the wait for the store's file lock. Default 10s.
	StoreLockTimeout time.Duration
}

// Open opens the store, binds the HTTP listener and prepares the MQTT
// connection and the ingester. Nothing runs until the services are started.
// Close releases what Open took. Every error names its cause and what to
// do in one line: under systemd it is all the journal shows of a failed start.
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
	a := &Agent{Config: cfg, Log: opt.Log, Version: opt.Version, sections: opt.Sections, readyIn: opt.ReadyGrace,
		Registry: status.NewRegistry(), Health: status.NewHealth()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.notifier, err = sdnotify.New(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w (create it, owned by the agent's user, or fix data_dir in the config)", cfg.DataDir, err)
	}
	a.Store, err = store.Open(cfg.StorePath(), store.Options{Location: cfg.Location, Timeout: opt.StoreLockTimeout,
		Verify: true, Log: opt.Log})
	if err != nil {
		return nil, err
	}
	met, err := ingest.NewMetrics(a.Registry)
	if err != nil {
		return nil, fmt.Errorf("ingest metrics: %w", err)
	}
	a.Ingester = ingest.New(a.Store, ingest.Options{
		Kitchen: cfg.Kitchen, BatchMax: cfg.MQTT.BatchMax, BatchWait: cfg.MQTT.BatchWait.Duration,
		Log: opt.Log, Health: a.Health, Metrics: met,
	})
	pw, err := cfg.MQTTPassword()
	if err != nil {
		return nil, fmt.Errorf("mqtt.password_file: %w", err)
	}
	tc, err := cfg.MQTTTLS()
	if err != nil {
		return nil, err
	}
	// No last will here: the decision publisher's connection holds the
	// agent's status and will, so two connections never disagree on it.
	a.MQTT, err = ingest.NewClient(ingest.ClientOptions{
		Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username, Password: pw,
		TLS: tc, Kitchen: cfg.Kitchen, Log: opt.Log, Health: a.Health, Metrics: met,
	}, a.Ingester.Handle)
	if err != nil {
		return nil, err
	}
	a.HTTP = status.NewServer(a.Registry, a.Health, a.inspect, opt.Log)
	if cfg.Listen != "" {
		if a.listener, err = status.Listen(cfg.Listen); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Close closes the store and the listener. Call it after the services stopped.
func (a *Agent) Close() error {
	var errs []error
	if a.listener != nil {
		_ = a.listener.Close()
	}
	if a.Store != nil {
		if err := a.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		a.Store = nil
	}
	return errors.Join(errs...)
}

// Addr is the HTTP endpoint's bound address, or nil when listen is empty.
func (a *Agent) Addr() net.Addr {
	if a.listener == nil {
		return nil
	}
	return a.listener.Addr()
}

// Inspect builds the inspection report from the live store.
func (a *Agent) Inspect(ctx context.Context, quarantine int) (*inspect.Report, error) {
	return inspect.Build(ctx, a.Store, inspect.Options{Kitchen: a.Config.Kitchen, Source: "agent",
		Quarantine: quarantine, Sections: a.sections})
}

func (a *Agent) inspect(ctx context.Context, q map[string][]string) (any, error) {
	n := 0
	if v := q["quarantine"]; len(v) > 0 {
		var err error
		if n, err = strconv.Atoi(v[0]); err != nil || n < 0 {
			return nil, fmt.Errorf("quarantine=%q: want a count", v[0])
		}
	}
	return a.Inspect(ctx, n)
}

// Services are the agent's own services: ingest (with its MQTT connection),
// the HTTP endpoint, and systemd readiness and watchdog.
func (a *Agent) Services() []Service {
	s := []Service{
		{Name: "ingest", Run: a.runIngest},
		{Name: "systemd", Run: a.runSystemd},
	}
	if a.listener != nil {
		s = append(s, Service{Name: "http", Run: func(ctx context.Context) error { return a.HTTP.Serve(ctx, a.listener) }})
	}
	return s
}

// runIngest connects to the broker and commits what arrives until ctx ends;
// then it commits and acknowledges the batch in hand and disconnects.
func (a *Agent) runIngest(ctx context.Context) error {
	a.MQTT.Start()
	err := a.Ingester.Run(ctx)
	// The acknowledgements of the last batch are queued ahead of DISCONNECT.
	a.MQTT.Close(500 * time.Millisecond)
	return err
}

// aliveWithin is how recently the ingest loop must have turned for the
// systemd watchdog to be fed. A loop retrying a failing commit still turns;
// only a hang (e.g. a write stuck on a dead disk) stops the pings.
const aliveWithin = 20 * time.Second

func (a *Agent) runSystemd(ctx context.Context) error {
	t := time.NewTimer(a.readyIn)
	defer t.Stop()
	select {
	case <-a.MQTT.Connected():
		_ = a.notifier.Status("ingesting from " + a.Config.MQTT.Broker)
	case <-t.C:
		a.Log.Warn("broker not reachable yet; reporting ready anyway and retrying", "broker", a.Config.MQTT.Broker)
		_ = a.notifier.Status("waiting for the kitchen broker " + a.Config.MQTT.Broker)
	case <-ctx.Done():
		return nil
	}
	if err := a.notifier.Ready(); err != nil {
		a.Log.Warn("systemd readiness notification failed", "err", err)
	}
	err := a.notifier.RunWatchdog(ctx, func() bool { return a.Ingester.Alive(aliveWithin) })
	if err != nil {
		a.Log.Warn("systemd watchdog ping failed", "err", err)
	}
	<-ctx.Done()
	_ = a.notifier.Stopping()
	return nil
}
