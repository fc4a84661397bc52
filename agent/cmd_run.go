package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/budare/budare/agent/broker"
	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/internal/logging"
)

// defaultConfig is where the Debian package installs the config.
const defaultConfig = "/etc/budare/agent.toml"

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT says otherwise:
// a kitchen gateway has ~1 GB shared with the broker, and the agent's
// working set is a batch of a few hundred small records.
const memoryLimit = 24 << 20

// gcPercent replaces Go's default of 100 unless GOGC says otherwise: with the
// memory limit capping the heap anyway, collecting less often cut the
// agent's CPU per ingested message by a fifth (make bench) for ~3 MiB of RSS.
const gcPercent = 300

// subsystemServices is THE place where the agent's other subsystems plug in.
// Each returns runner.Services built from the opened agent: a.Config,
// a.Store, a.Registry (metrics), a.Health (report under your own name),
// a.MQTT (Publish), a.HTTP (extra endpoints), a.Log. Services run side by
// side with ingest until SIGTERM; one that returns an error stops the agent.
func subsystemServices(a *runner.Agent) ([]runner.Service, error) {
	var s []runner.Service
	ds, err := decisionServices(a) // model sync loop + decision scheduler (agent/cmd_decide.go)
	if err != nil {
		return nil, err
	}
	s = append(s, ds...)
	us, err := uploadServices(a) // daily windows upload loop (agent/cmd_upload.go)
	if err != nil {
		return nil, err
	}
	return append(s, us...), nil
}

// cmdRun ingests, uploads, syncs models and decides until SIGTERM.
func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	lockWait := fs.Duration("store-lock-timeout", 10*time.Second, "how long to wait for the store's lock (held by another agent on the same data_dir)")
	var lo logging.Options
	lo.Register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lo.New(stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if cfg.MQTT.Embedded != "" {
		// Started first and closed last (defers run in reverse), so the
		// agent's own clients find it up and leave it cleanly.
		b, err := broker.Start(broker.Options{Addr: cfg.MQTT.Embedded, Dir: cfg.BrokerDir(), Logger: log.With("component", "broker")})
		if err != nil {
			return err
		}
		defer b.Close()
		log.Info("embedded MQTT broker listening", "addr", b.Addr(), "dir", cfg.BrokerDir())
	}
	a, err := runner.Open(cfg, runner.Options{Version: version, Log: log, Sections: inspectSections(cfg),
		StoreLockTimeout: *lockWait})
	if err != nil {
		return err
	}
	defer a.Close()
	more, err := subsystemServices(a)
	if err != nil {
		return err
	}
	log.Info("budare-agent starting", "version", version, "kitchen", cfg.Kitchen, "store", cfg.StorePath(),
		"broker", cfg.MQTT.Broker, "listen", cfg.Listen)
	err = runner.Run(ctx, log, append(a.Services(), more...)...)
	if cerr := a.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		log.Info("budare-agent stopped cleanly")
	}
	return err
}

// cmdCheckConfig validates the config file and prints each problem on one line.
func cmdCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := loadConfig(*cfgPath, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", *cfgPath)
	return nil
}

// loadConfig loads the config; on validation problems it prints each on its
// own line to w and returns a one-line summary error.
func loadConfig(path string, w io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path)
	var pe *config.ProblemsError
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			fmt.Fprintf(w, "%s: %s\n", pe.Path, p)
		}
		return nil, fmt.Errorf("config %s has %d problem(s)", pe.Path, len(pe.Problems))
	}
	return cfg, err
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return errUsage
	}
	return nil
}
