package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/agent/upload"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// modelsDir is where installed model releases live.
func modelsDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "models") }

// publicKey loads the release public key, or nil with a reason when none is
// configured.
func publicKey(cfg *config.Config) (ed25519.PublicKey, error) {
	if cfg.Models.ReleasePublicKeyFile == "" {
		return nil, errors.New("models.release_public_key_file is not set: no model is trusted, every machine is \"unknown\"")
	}
	return release.LoadPublicKey(cfg.Models.ReleasePublicKeyFile)
}

func thresholds(cfg *config.Config) decide.Thresholds {
	return decide.Thresholds{Inspect: cfg.Decision.Inspect, Service: cfg.Decision.Service, Stop: cfg.Decision.Stop}
}

// decisionServices builds the model sync loop and the decision scheduler
// for the running agent (wired in cmd_run.go's subsystemServices).
func decisionServices(a *runner.Agent) ([]runner.Service, error) {
	cfg, log := a.Config, a.Log
	sod, err := config.ParseClock(cfg.Decision.StartOfDay)
	if err != nil {
		return nil, err
	}
	var os3 objstore.Bucket
	if cfg.HasS3 {
		if os3, err = objstore.Open(cfg.S3, cfg.CredentialsDir); err != nil {
			return nil, err
		}
	}
	var syncer *modelsync.Syncer
	var svc *decide.Service // set below, before any service runs
	// A model release installed: the decision service decides again the
	// machines a day without any model left "unknown".
	installed := make(chan struct{}, 1)
	pub, kerr := publicKey(cfg)
	if kerr != nil {
		log.Error("model sync disabled", "err", kerr)
	} else {
		opt := modelsync.Options{
			Dir: modelsDir(cfg), PublicKey: pub, State: a.Store, Interval: cfg.Models.PollInterval.Duration,
			Wanted: cookedArepas(a.Store, cfg.Location), Logger: log, Registerer: a.Registry,
			OnSwap: func(*modelsync.Release) {
				// Never blocks the sync: one pending signal is enough.
				select {
				case installed <- struct{}{}:
				default:
				}
			},
		}
		if os3 != nil {
			opt.Source = os3
			opt.AfterPoll = statusWriter(a, os3, func() *decide.Service { return svc }).Write
		}
		if syncer, err = modelsync.New(opt); err != nil {
			return nil, err
		}
	}
	current := func() *modelsync.Release {
		if syncer == nil {
			return nil
		}
		return syncer.Current()
	}
	releaseNo := func() int64 {
		if r := current(); r != nil {
			return r.Number
		}
		return 0
	}
	pw, err := cfg.MQTTPassword()
	if err != nil {
		return nil, err
	}
	tc, err := cfg.MQTTTLS()
	if err != nil {
		return nil, err
	}
	// After a (re)connection, publish what is pending at once rather than
	// at the next retry; only once the scheduler runs (see below).
	var running atomic.Bool
	mq, err := decide.NewMQTT(decide.MQTTOptions{
		Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID + "-pub", Username: cfg.MQTT.Username, Password: pw,
		TLS: tc, Kitchen: cfg.Kitchen, Version: version, AgentStatus: true, Release: releaseNo, Logger: log,
		MaxPacket: cfg.MQTT.MaxPacketSize,
		OnConnect: func() {
			if running.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				svc.Kick(ctx)
				cancel()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	svc = &decide.Service{
		Decider: &decide.Decider{Kitchen: cfg.Kitchen, Location: cfg.Location, Records: decide.StoreRecords{Store: a.Store}, Models: current,
			Thresholds: thresholds(cfg), SeenDays: cfg.Decision.UnseenClearDays},
		State: a.Store, Pub: mq, StartOfDay: sod, UnseenClearDays: cfg.Decision.UnseenClearDays, Logger: log,
		MaxPacket: cfg.MQTT.MaxPacketSize, Health: a.Health, Installed: installed,
	}
	if os3 != nil {
		svc.Put = os3.Put
	}
	if err := svc.Register(a.Registry); err != nil {
		return nil, err
	}
	a.HTTP.Handle("GET /decide", decideHandler(svc, cfg))
	a.HTTP.Handle("GET /debug/models", jsonHandler(func() any {
		if syncer == nil {
			return map[string]string{"error": kerr.Error()}
		}
		return syncer.Status()
	}))
	a.HTTP.Handle("GET /debug/decide", jsonHandler(func() any { return svc.Status() }))
	switch {
	case syncer != nil && os3 == nil:
		a.HTTP.Handle("POST /sync", syncNowHandler(nil, errors.New("no [s3] endpoint configured")))
	default:
		a.HTTP.Handle("POST /sync", syncNowHandler(syncer, kerr)) // `budare-agent sync now`
	}

	var services []runner.Service
	waitSync := syncer
	switch {
	case syncer != nil && os3 != nil:
		services = append(services, runner.Service{Name: "modelsync", Run: func(ctx context.Context) error {
			return syncer.Run(ctx)
		}})
	case syncer != nil:
		log.Warn("no [s3] section: models are not synced; deciding with the installed release", "release", releaseNo())
		waitSync = nil // no first sync to wait for
	}
	services = append(services, runner.Service{Name: "decide", Run: func(ctx context.Context) error {
		mq.Start()
		defer func() {
			if err := mq.Close(); err != nil {
				log.Warn("MQTT publisher close", "err", err)
			}
		}()
		var wg sync.WaitGroup
		wg.Go(func() { watchStatus(ctx, mq, a, releaseNo) })
		defer wg.Wait()
		// A fresh agent waits (bounded) for its first model sync, so its
		// first decision is not "unknown" for want of models that are
		// one download away.
		if waitSync != nil {
			t := time.NewTimer(2 * time.Minute)
			select {
			case <-waitSync.FirstSync():
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		running.Store(true)
		return svc.Run(ctx)
	}})
	return services, nil
}

// watchStatus republishes the online status when the model release changes
// and when the ingest connection comes back: the ingest connection carries
// a last will on the same status topic, which the broker fires if that
// connection drops while the agent lives on.
func watchStatus(ctx context.Context, mq *decide.MQTT, a *runner.Agent, release func() int64) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last, ingestUp := release(), a.MQTT != nil && a.MQTT.IsConnected()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r := release()
		up := a.MQTT != nil && a.MQTT.IsConnected()
		if (r != last || (up && !ingestUp)) && mq.IsConnected() {
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := mq.PublishStatus(pctx); err == nil {
				last = r
			}
			cancel()
		}
		ingestUp = up
	}
}

func jsonHandler(f func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(f())
	})
}

// decideHandler computes a dry-run decision in the running agent, for
// `budare-agent decide --dry-run` while the agent holds the store's lock.
func decideHandler(svc *decide.Service, cfg *config.Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		day := r.URL.Query().Get("date")
		if day == "" {
			day = time.Now().In(cfg.Location).Format(time.DateOnly)
		}
		d, err := svc.Decider.Decide(r.Context(), day, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d)
	})
}

// cookedArepas returns the arepa types cooked in the last 7 days, computed
// at most once per local day (model sync asks every poll).
func cookedArepas(st *store.Store, loc *time.Location) func(context.Context) ([]string, error) {
	var mu sync.Mutex
	var day string
	var types []string
	return func(context.Context) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		today := time.Now().In(loc).Format(time.DateOnly)
		if today == day && len(types) > 0 {
			return types, nil
		}
		t, err := decide.CookedArepas(decide.StoreRecords{Store: st}, today, loc)
		if err != nil {
			return nil, err
		}
		day, types = today, t
		return types, nil
	}
}

// decisionSections are the model and decision parts of the inspect report.
func decisionSections() []inspect.Section {
	return []inspect.Section{
		{Name: "models", Fill: func(_ context.Context, st *store.Store) (any, error) {
			s, ok, err := modelsync.ReadStatus(st)
			if err != nil || !ok {
				return map[string]any{"release": 0, "note": "no model sync yet"}, err
			}
			return s, nil
		}},
		{Name: "decisions", Fill: func(_ context.Context, st *store.Store) (any, error) {
			return decide.Inspect(st)
		}},
	}
}

// cmdDecide runs the start-of-day decision by hand.
func cmdDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	date := fs.String("date", "", "local day to decide, yyyy-mm-dd (default: today in the kitchen's time zone)")
	dry := fs.Bool("dry-run", false, "compute and print only: persist, publish and upload nothing")
	asJSON := fs.Bool("json", false, "print the day's actions as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the store's lock or the running agent")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	day := *date
	if day == "" {
		day = now.In(cfg.Location).Format(time.DateOnly)
	} else if _, err := time.ParseInLocation(time.DateOnly, day, cfg.Location); err != nil {
		fmt.Fprintf(stderr, "decide: --date %q: want yyyy-mm-dd\n", day)
		return errUsage
	}
	if today := now.In(cfg.Location).Format(time.DateOnly); !*dry && day != today {
		// Retained actions of another day would replace today's on every display.
		return fmt.Errorf("decide: only today's (%s) decision is published; use --dry-run to look at %s", today, day)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := decideByHand(ctx, cfg, day, now, *dry, *timeout, log)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return printDay(stdout, d)
}

func decideByHand(ctx context.Context, cfg *config.Config, day string, now time.Time, dry bool, timeout time.Duration, log *slog.Logger) (*decide.Day, error) {
	path := cfg.StorePath()
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store at %s (has the agent run yet?): %w", path, err)
	}
	if dry && cfg.Listen != "" {
		// A running agent holds the store's lock: ask it first.
		d, err := decideViaAgent(ctx, cfg, day, timeout)
		if err == nil {
			return d, nil
		}
		var down *agentDown
		if !errors.As(err, &down) {
			return nil, err
		}
	}
	st, err := store.Open(path, store.Options{Location: cfg.Location, ReadOnly: dry, Timeout: timeout,
		Verify: true, Log: log})
	if err != nil {
		return nil, fmt.Errorf("%w (a running agent decides by itself at start_of_day; use --dry-run to look)", err)
	}
	defer st.Close()
	var rel *modelsync.Release
	if pub, err := publicKey(cfg); err != nil {
		log.Warn("no models", "err", err)
	} else if rel, err = modelsync.LoadInstalled(modelsDir(cfg), pub); err != nil {
		log.Warn("installed models", "err", err)
	}
	if rel == nil {
		log.Warn("no model release installed: machines are \"unknown\"", "dir", modelsDir(cfg))
	} else if rel.Expired(now) {
		log.Warn("the installed model release has expired; deciding with it until a newer one is accepted", "release", rel.Number)
	}
	dec := &decide.Decider{Kitchen: cfg.Kitchen, Location: cfg.Location, Records: decide.StoreRecords{Store: st},
		Models: func() *modelsync.Release { return rel }, Thresholds: thresholds(cfg), SeenDays: cfg.Decision.UnseenClearDays}
	if dry {
		return dec.Decide(ctx, day, now)
	}
	pw, err := cfg.MQTTPassword()
	if err != nil {
		return nil, err
	}
	tc, err := cfg.MQTTTLS()
	if err != nil {
		return nil, err
	}
	mq, err := decide.NewMQTT(decide.MQTTOptions{Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID + "-decide",
		Username: cfg.MQTT.Username, Password: pw, TLS: tc, Kitchen: cfg.Kitchen, Version: version, Logger: log,
		MaxPacket: cfg.MQTT.MaxPacketSize})
	if err != nil {
		return nil, err
	}
	mq.Start()
	defer mq.Close()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	if err := mq.WaitConnected(wctx); err != nil {
		log.Warn("actions are persisted and will be published by the agent", "err", err)
	}
	cancel()
	svc := &decide.Service{Decider: dec, State: st, Pub: mq, UnseenClearDays: cfg.Decision.UnseenClearDays, Logger: log,
		MaxPacket: cfg.MQTT.MaxPacketSize}
	if cfg.HasS3 {
		os3, err := objstore.Open(cfg.S3, cfg.CredentialsDir)
		if err != nil {
			return nil, err
		}
		svc.Put = os3.Put
	}
	d, err := svc.RunDay(ctx, day, now)
	if d == nil {
		return nil, err
	}
	if err != nil {
		log.Warn("decided and persisted, but not everything went out; the agent retries", "err", err)
	}
	return d, nil
}

func decideViaAgent(ctx context.Context, cfg *config.Config, day string, timeout time.Duration) (*decide.Day, error) {
	var d decide.Day
	if err := agentGet(ctx, cfg, "/decide?date="+url.QueryEscape(day), timeout, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func printDay(w io.Writer, d *decide.Day) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kitchen %s, %s, model release %d, decided %s\n", d.Kitchen, d.Date, d.ModelRelease, d.DecidedAt.Format(time.RFC3339))
	fmt.Fprintln(tw, "machine\tlevel\trisk\tdata days\treasons")
	for _, a := range d.Actions {
		risk := "-"
		if a.Level != decide.LevelUnknown {
			risk = fmt.Sprintf("%.2f", a.Risk)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", a.Machine, a.Level, risk, a.DataDays, strings.Join(a.Reasons, "; "))
	}
	var counts []string
	for _, l := range decide.Levels {
		if n := d.Counts[l]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", l, n))
		}
	}
	fmt.Fprintf(tw, "%d machines: %s\n", len(d.Actions), strings.Join(counts, ", "))
	return tw.Flush()
}

// statusWriter writes status/<kitchen>.json after every model poll, for the
// dashboard's fleet page; svc returns the decision service (nil until built).
func statusWriter(a *runner.Agent, bucket objstore.Bucket, svc func() *decide.Service) *modelsync.StatusWriter {
	cfg := a.Config
	return &modelsync.StatusWriter{
		Put: func(ctx context.Context, key string, b []byte) error {
			return bucket.Put(ctx, key, b, nil)
		},
		Kitchen: cfg.Kitchen, Version: a.Version,
		Uploads: func() (string, time.Time, int, error) {
			st, err := upload.ReadStatus(a.Store, nil)
			if err != nil {
				return "", time.Time{}, 0, err
			}
			last := ""
			for _, d := range st.Days {
				if d.State == upload.StateUploaded && d.Day > last {
					last = d.Day
				}
			}
			return last, st.LastUploadedAt, st.Pending, nil
		},
		Decisions: func() (string, time.Time) {
			if s := svc(); s != nil {
				st := s.Status()
				return st.LastDay, st.LastDecidedAt
			}
			return "", time.Time{}
		},
		StoreBytes: func() (int64, error) {
			fi, err := os.Stat(cfg.StorePath())
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		},
	}
}
