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
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/central/jobreport"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// cmdTrain trains one model per arepa type and publishes a signed release:
//
//	budare-central train --config FILE --types arepa-types.txt --phase 1 [--date D] [--shard i/n] [--textfile DIR]
//
// or, as a staged run, `train rows`, `train fit` and `train assemble`.
// Every single run past flag parsing ends with a report (jobreport): in the
// bucket at reports/train/<date>.json and, with --textfile, as metrics for
// node_exporter, so a failed night raises an alert.
func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 {
		switch args[0] {
		case "rows", "fit":
			return cmdTrainStage(ctx, args[0], args[1:], stdout, stderr)
		case "assemble":
			return cmdTrainAssemble(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	typesFile := fs.String("types", "", "arepa types file, one per line (wins over types in the config)")
	phase := fs.Int("phase", 1, "train on the kitchens of this phase (inventory/kitchens.csv)")
	date := fs.String("date", "", "run date yyyy-mm-dd; the span ends the day before (default: today in the config's timezone)")
	shard := fs.String("shard", "", "train only part i/n of the types and stage the result for assemble (i is 0-based)")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	noCurrent := fs.Bool("no-current", false, "publish the release without making it current (promote it later)")
	now := fs.String("now", "", "release creation time, RFC 3339 (default: the clock; for reproducing a release)")
	decoder := fs.String("decoder", "fast", `window line decoder: "fast", or "json" (encoding/json alone: the old path, for benchmarks)`)
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	textfile := textfileFlag(fs)
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if *decoder != "fast" && *decoder != "json" {
		fmt.Fprintf(stderr, "train: --decoder %q: want fast or json\n", *decoder)
		return command.ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "train: unexpected arguments %q (stages: train rows|fit|assemble)\n", fs.Args())
		return command.ErrUsage
	}
	clock, err := fixedClock(*now)
	if err != nil {
		return err
	}
	rep := &jobreport.Report{Job: "train", Phase: *phase, Version: version, Started: time.Now()}
	// Only a well-formed --date names the report (else finishReport uses
	// today's), so a bad one never names an object.
	if _, perr := time.Parse(time.DateOnly, *date); perr == nil {
		rep.Date = *date
	}
	if *phase != 1 {
		rep.Part = fmt.Sprintf("phase%d", *phase)
	}
	// The report goes out whatever happens next: to stderr's logger and no
	// bucket until the store is open, then to the run's.
	var b train.Bucket
	log := slog.New(slog.NewTextHandler(stderr, nil))
	defer func() { finishReport(ctx, rep, err, b, *textfile, log) }()
	cfg, ob, olog, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	b, log = ob, olog
	types, err := train.LoadTypes(*typesFile, cfg.Types)
	if err != nil {
		return err
	}
	d, err := runDate(*date, cfg.Loc)
	if err != nil {
		return err
	}
	rep.Date = d
	rep.Warnings = append(rep.Warnings, cfg.Warnings...)
	var sh train.Shard
	if *shard != "" {
		if sh, err = train.ParseShard(*shard); err != nil {
			return err
		}
		rep.Part = strings.TrimPrefix(rep.Part+fmt.Sprintf("-shard%dof%d", sh.I, sh.N), "-")
	}
	priv, keyErr := signingKey(cfg, *key)
	if keyErr != nil && *shard == "" {
		return keyErr // fail before hours of training, not after
	}
	opts := train.Options{Bucket: b, Types: types, Phase: *phase, Date: d, Shard: sh, Train: cfg.Train, Log: log,
		Progress: progress.ForTerminal(stderr, "reading windows", "windows"), ReferenceDecoder: *decoder == "json"}
	if priv != nil {
		opts.Public = priv.Public().(ed25519.PublicKey)
	} else {
		log.Warn("no signing key on this shard worker: the current release's signature is not checked", "err", keyErr)
	}
	start := time.Now()
	out, err := train.Run(ctx, opts)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	log.Info("trained", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "windows", out.Stats.Windows,
		"records", out.Stats.Records, "rows", out.Stats.Rows)
	rep.Windows, rep.MissingWindows, rep.Records, rep.Rows = out.Stats.Windows, out.Stats.Missing, out.Stats.Records, out.Stats.Rows
	for _, r := range out.Results {
		if r.Warning != "" {
			rep.Warnings = append(rep.Warnings, r.Arepa+": "+r.Warning)
		}
	}
	if *shard != "" {
		k, err := train.WriteStaging(ctx, b, out, sh)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "shard %s of %s phase %d staged at %s; run budare-central assemble --date %s --phase %d --shards %d\n",
			sh, d, *phase, k, d, *phase, sh.N)
		return printOutcome(stdout, []*train.Outcome{out}, nil, *asJSON)
	}
	p := &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log, Targets: cfg.Train.Levels,
		NoCurrent: *noCurrent, Now: clock}
	m, err := p.Publish(ctx, []*train.Outcome{out})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	rep.Release, rep.Models = m.Release, len(m.Models)
	return printOutcome(stdout, []*train.Outcome{out}, m, *asJSON)
}

// textfileFlag is the --textfile flag of the commands that report their
// run as a job (train, backtest, scorecard).
func textfileFlag(fs *flag.FlagSet) *string {
	return fs.String("textfile", "", "also write the run's outcome as budare_central_last_run_* metrics into this node_exporter textfile-collector `DIR`")
}

// finishReport writes a job's report to the bucket (when it was opened)
// and to the textfile directory (when given). A report that cannot be
// written is logged, never turned into the job's failure.
func finishReport(ctx context.Context, rep *jobreport.Report, err error, b jobreport.Putter, textfile string, log *slog.Logger) {
	if errors.Is(err, command.ErrUsage) || errors.Is(err, flag.ErrHelp) {
		return
	}
	rep.Finish(time.Now(), err)
	if rep.Date == "" {
		rep.Date = rep.Finished.Format(time.DateOnly)
	}
	if b != nil {
		// The job's context may be what ended it (SIGTERM): the report still goes out.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if perr := jobreport.Put(pctx, b, rep); perr != nil {
			log.Error("job report not written to the bucket", "key", rep.Key(), "err", perr)
		}
		cancel()
	}
	if textfile != "" {
		if terr := jobreport.WriteTextfile(textfile, rep); terr != nil {
			log.Error("job metrics not written", "err", terr)
		}
	}
}

// fixedClock returns a clock stopped at the RFC 3339 time s, or nil (the
// real clock) when s is empty.
func fixedClock(s string) (func() time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--now %q is not an RFC 3339 time (e.g. 2026-11-26T05:00:00Z)", s)
	}
	return func() time.Time { return t }, nil
}

func runDate(s string, loc *time.Location) (string, error) {
	if s == "" {
		return record.LocalDay(time.Now(), loc), nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", fmt.Errorf("--date %q is not yyyy-mm-dd", s)
	}
	return s, nil
}

// printOutcome prints one line per arepa type (or JSON).
func printOutcome(w io.Writer, outs []*train.Outcome, m *release.Manifest, asJSON bool) error {
	if asJSON {
		type line struct {
			Arepa     string             `json:"arepa"`
			Status    string             `json:"status"`
			Technique string             `json:"technique,omitempty"`
			Decision  string             `json:"decision,omitempty"`
			Warning   string             `json:"warning,omitempty"`
			Holdout   map[string]float64 `json:"holdout,omitempty"`
		}
		var res struct {
			Release int64         `json:"release,omitempty"`
			Stats   []train.Stats `json:"stats"`
			Types   []line        `json:"types"`
		}
		if m != nil {
			res.Release = m.Release
		}
		for _, o := range outs {
			res.Stats = append(res.Stats, o.Stats)
			for _, r := range o.Results {
				l := line{Arepa: r.Arepa, Status: r.Status, Warning: r.Warning}
				if r.Card != nil {
					l.Technique, l.Decision = r.Card.Chosen, r.Card.Decision
				}
				if m != nil {
					l.Holdout = m.Models[r.Arepa].Holdout
				}
				res.Types = append(res.Types, l)
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AREPA\tSTATUS\tCHOSEN\tDECISION")
	for _, o := range outs {
		for _, r := range o.Results {
			chosen, decision := "-", r.Warning
			if r.Card != nil {
				if r.Card.Chosen != "" {
					chosen = r.Card.Chosen
				}
				decision = r.Card.Decision
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Arepa, r.Status, chosen, decision)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if m != nil {
		_, err := fmt.Fprintf(w, "release %d published with %d models, expires %s\n", m.Release, len(m.Models), m.Expires.Format(time.RFC3339))
		return err
	}
	return nil
}
