package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/morning"
	"github.com/budare/budare/agent/pubconn"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
)

// wireMorning builds the start-of-day decision service over the models of
// syncer (nil: none), its MQTT connection holding the agent's status and
// last will, and its endpoints.
func (a *Agent) wireMorning(syncer *modelsync.Syncer) error {
	cfg := a.cfg
	sod, err := config.ParseClock(cfg.Decision.StartOfDay)
	if err != nil {
		return err
	}
	models := func() *modelsync.Release {
		if syncer == nil {
			return nil
		}
		return syncer.Current()
	}
	// After a (re)connection, publish what is pending at once rather than at
	// the next retry; only once the service runs (runMorning).
	var running atomic.Bool
	pub, err := newPublisher(cfg, "-pub", a.opt.Version, a.log, func(o *pubconn.Options) {
		o.AgentStatus, o.Release = true, releaseOf(syncer)
		o.OnConnect = func() {
			if running.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				a.morning.Kick(ctx)
				cancel()
			}
		}
	})
	if err != nil {
		return err
	}
	svc := newMorning(cfg, a.store, models, pub, a.bucket, a.log)
	svc.StartOfDay, svc.Health, svc.Installed = sod, a.health, a.installed
	if err := svc.Register(a.registry); err != nil {
		return err
	}
	a.morning = svc
	a.http.Handle("GET /decide", decideHandler(svc.Decider, cfg.Location))
	a.http.Handle("GET /debug/decide", jsonHandler(func() (any, error) { return svc.Status(), nil }))
	var firstSync <-chan struct{}
	if syncer != nil && a.bucket != nil {
		firstSync = syncer.FirstSync()
	}
	a.services = append(a.services, runner.Service{Name: "decide", Run: func(ctx context.Context) error {
		return a.runMorning(ctx, pub, firstSync, releaseOf(syncer), &running)
	}})
	return nil
}

// newDecider is the decision over st's records with the models of models.
func newDecider(cfg *config.Config, st *store.Store, models func() *modelsync.Release) *decide.Decider {
	return &decide.Decider{Kitchen: cfg.Kitchen, Location: cfg.Location, Records: st, Models: models,
		Thresholds: decide.Thresholds{Inspect: cfg.Decision.Inspect, Service: cfg.Decision.Service, Stop: cfg.Decision.Stop},
		SeenDays:   cfg.Decision.UnseenClearDays}
}

// newMorning is the morning service deciding over st, publishing on pub and
// uploading to bucket (nil: none), for the running agent and for `decide`.
func newMorning(cfg *config.Config, st *store.Store, models func() *modelsync.Release, pub *pubconn.Conn,
	bucket objstore.Bucket, log *slog.Logger) *morning.Service {
	svc := &morning.Service{Decider: newDecider(cfg, st, models), State: st, Pub: pub,
		UnseenClearDays: cfg.Decision.UnseenClearDays, Logger: log, MaxPacket: cfg.MQTT.MaxPacketSize}
	if bucket != nil {
		svc.Put = bucket.Put
	}
	return svc
}

// newPublisher prepares an MQTT publishing connection as client
// "<mqtt.client_id><suffix>"; set adds to its options.
func newPublisher(cfg *config.Config, suffix, version string, log *slog.Logger, set func(*pubconn.Options)) (*pubconn.Conn, error) {
	pw, tc, err := mqttCredentials(cfg)
	if err != nil {
		return nil, err
	}
	o := pubconn.Options{Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID + suffix, Username: cfg.MQTT.Username,
		Password: pw, TLS: tc, Kitchen: cfg.Kitchen, Version: version, Logger: log, MaxPacket: cfg.MQTT.MaxPacketSize}
	if set != nil {
		set(&o)
	}
	return pubconn.New(o)
}

// runMorning connects the publisher and runs the morning service until ctx
// ends. A fresh agent waits (bounded) for its first model sync, so its first
// decision is not "unknown" for want of models one download away.
func (a *Agent) runMorning(ctx context.Context, pub *pubconn.Conn, firstSync <-chan struct{}, release func() int64, running *atomic.Bool) error {
	pub.Start()
	defer func() {
		if err := pub.Close(); err != nil {
			a.log.Warn("MQTT publisher close", "err", err)
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { a.watchStatus(ctx, pub, release) })
	defer wg.Wait()
	if firstSync != nil {
		t := time.NewTimer(2 * time.Minute)
		select {
		case <-firstSync:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	running.Store(true)
	return a.morning.Run(ctx)
}

// watchStatus republishes the online status when the model release changes
// and when the ingest connection comes back: the ingest connection carries
// a last will on the same status topic, which the broker fires if that
// connection drops while the agent lives on.
func (a *Agent) watchStatus(ctx context.Context, pub *pubconn.Conn, release func() int64) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last, ingestUp := release(), a.ingestMQ.IsConnected()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r := release()
		up := a.ingestMQ.IsConnected()
		if (r != last || (up && !ingestUp)) && pub.IsConnected() {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := pub.PublishStatus(pctx); err == nil {
				last = r
			}
			cancel()
		}
		ingestUp = up
	}
}

// decideHandler computes a dry-run decision in the running agent, for
// `budare-agent decide --dry-run` while the agent holds the store's lock.
func decideHandler(d *decide.Decider, loc *time.Location) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		day := r.URL.Query().Get("date")
		if day == "" {
			day = record.LocalDay(time.Now(), loc)
		}
		out, err := d.Decide(r.Context(), day, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, out)
	})
}

// decisionsSection is the decisions part of the inspect report.
func decisionsSection(_ context.Context, st *store.Store) (any, error) {
	return morning.Inspect(st)
}
