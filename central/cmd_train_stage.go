package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/command"
)

// cmdTrainStage runs one worker of a staged run's rows or fit stage:
//
//	budare-central train rows --config FILE --types F --run ID --date D --shard i/n
//	budare-central train fit  --config FILE --types F --run ID --date D --shard i/n
func cmdTrainStage(ctx context.Context, stage string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train "+stage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	typesFile := fs.String("types", "", "arepa types file, one per line (wins over types in the config)")
	phase := fs.Int("phase", 1, "train on the kitchens of this phase (inventory/kitchens.csv)")
	date := fs.String("date", "", "run date yyyy-mm-dd, the same for every stage of the run (required)")
	runID := fs.String("run", "", "run id naming the run's staging objects (staging/ID/), the same for every stage (required)")
	shardUsage := "this worker's part i/n of the kitchens (i is 0-based; default 0/1)"
	if stage == "fit" {
		shardUsage = "this worker's part i/n of the arepa types (i is 0-based; default 0/1)"
	}
	shard := fs.String("shard", "0/1", shardUsage)
	key := fs.String("key", "", "signing key file, to check the current release (default: signing_key_file from the config)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *runID == "" || *date == "" {
		fmt.Fprintf(stderr, "usage: budare-central train %s --config FILE --types FILE --run ID --date yyyy-mm-dd --shard i/n\n", stage)
		return command.ErrUsage
	}
	if err := train.ValidRun(*runID); err != nil {
		return err
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	types, err := train.LoadTypes(*typesFile, cfg.Types)
	if err != nil {
		return err
	}
	d, err := runDate(*date, cfg.Loc)
	if err != nil {
		return err
	}
	sh, err := train.ParseShard(*shard)
	if err != nil {
		return err
	}
	opts := train.Options{Bucket: b, Types: types, Phase: *phase, Date: d, Shard: sh, Run: *runID, Train: cfg.Train, Log: log}
	if priv, err := signingKey(cfg, *key); err == nil {
		opts.Public = priv.Public().(ed25519.PublicKey)
	} else {
		log.Warn("no signing key on this worker: the current release's signature is not checked", "err", err)
	}
	start := time.Now()
	if stage == "rows" {
		m, err := train.Rows(ctx, opts)
		if err != nil {
			return fmt.Errorf("train rows: %w", err)
		}
		log.Info("rows staged", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "windows", m.Stats.Windows,
			"window_bytes", m.Stats.Bytes, "records", m.Stats.Records, "rows", m.Stats.Rows)
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", " ")
			return enc.Encode(m)
		}
		_, err = fmt.Fprintf(stdout, "rows shard %s of run %s: %d kitchens, %d windows (%d bytes), %d rows staged; then: train fit --run %s --date %s\n",
			sh, *runID, len(m.Kitchens), m.Stats.Windows, m.Stats.Bytes, m.Stats.Rows, *runID, d)
		return err
	}
	out, err := train.Fit(ctx, opts)
	if err != nil {
		return fmt.Errorf("train fit: %w", err)
	}
	log.Info("fit staged", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "types", len(out.Types),
		"row_bytes", out.Stats.Bytes, "rows", out.Stats.Rows)
	return printOutcome(stdout, []*train.Outcome{out}, nil, *asJSON)
}

// cmdTrainAssemble publishes the release of a staged run and removes its
// staging objects:
//
//	budare-central train assemble --config FILE --run ID [--now T]
func cmdTrainAssemble(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train assemble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	runID := fs.String("run", "", "run id of the staged run (required)")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	noCurrent := fs.Bool("no-current", false, "publish the release without making it current")
	now := fs.String("now", "", "release creation time, RFC 3339 (default: the clock; for reproducing a release)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *runID == "" {
		fmt.Fprintln(stderr, "usage: budare-central train assemble --config FILE --run ID [--now T]")
		return command.ErrUsage
	}
	clock, err := fixedClock(*now)
	if err != nil {
		return err
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	priv, err := signingKey(cfg, *key)
	if err != nil {
		return err
	}
	p := &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log, Targets: cfg.Train.Levels,
		NoCurrent: *noCurrent, Now: clock}
	m, outs, err := train.Assemble(ctx, b, *runID, p)
	if err != nil {
		return fmt.Errorf("train assemble: %w", err)
	}
	return printOutcome(stdout, outs, m, *asJSON)
}
