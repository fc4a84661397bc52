package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/command"
)

// cmdAssemble publishes one release from every shard's staged outcome:
//
//	budare-central assemble --config FILE --shards n [--phase 1] [--date D]
func cmdAssemble(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assemble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	phase := fs.Int("phase", 1, "phase the shards trained")
	date := fs.String("date", "", "run date the shards used (default: today in the config's timezone)")
	shards := fs.Int("shards", 0, "number of shards n (every one of 0..n-1 must have finished)")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	noCurrent := fs.Bool("no-current", false, "publish the release without making it current")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *shards < 1 {
		fmt.Fprintln(stderr, "usage: budare-central assemble --config FILE --shards n [--phase P] [--date D]")
		return command.ErrUsage
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	d, err := runDate(*date, cfg.Loc)
	if err != nil {
		return err
	}
	priv, err := signingKey(cfg, *key)
	if err != nil {
		return err
	}
	outs, err := train.ReadStaging(ctx, b, *phase, d, *shards)
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	p := &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log, Targets: cfg.Train.Levels, NoCurrent: *noCurrent}
	m, err := p.Publish(ctx, outs)
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	return printOutcome(stdout, outs, m, *asJSON)
}
