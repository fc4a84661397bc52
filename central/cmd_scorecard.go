package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/central/jobreport"
	"github.com/budare/budare/central/score"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/record"
)

const scorecardUsage = "usage: budare-central scorecard (--config FILE | --dir DIR) [--from D1] [--to D2] [--kitchen K] [--phase P] [--horizon 3] [--json] [--out FILE]"

// cmdScorecard scores the actions the agents uploaded against the failures
// that really happened:
//
//	budare-central scorecard (--config FILE | --dir DIR) [--from D1] [--to D2] [--kitchen K] [--phase P] [--horizon 3] [--json] [--out FILE]
func cmdScorecard(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("scorecard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	from := fs.String("from", "", "first morning scored, yyyy-mm-dd (default: --to minus 27 days)")
	to := fs.String("to", "", "last morning scored (default: the latest day with actions minus the horizon)")
	kitchen := fs.String("kitchen", "", "score only this kitchen")
	phase := fs.Int("phase", 0, "score only the kitchens of this phase (inventory/kitchens.csv)")
	horizon := fs.Int("horizon", 0, "a machine-day is positive when the machine fails within this many days (default: train.horizon_days, 3)")
	lead := fs.Int("lead", score.DefaultLeadDays, "how many mornings back a warning counts for lead time")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of tables")
	out := fs.String("out", "", "also write the JSON report to this file")
	textfile := textfileFlag(fs)
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	phaseSet := false
	fs.Visit(func(f *flag.Flag) { phaseSet = phaseSet || f.Name == "phase" })
	// run prints nothing for a usage error, so say here what is missing.
	if fs.NArg() > 0 || (sf.config == "" && sf.dir == "") || *horizon < 0 || *horizon > 60 || *lead < 0 || !isDay(*from) || !isDay(*to) {
		fmt.Fprintln(stderr, scorecardUsage)
		return command.ErrUsage
	}
	jrep := &jobreport.Report{Job: "scorecard", Version: version, Started: time.Now(), Date: *to}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	defer func() { finishReport(ctx, jrep, err, nil, *textfile, log) }()
	// Into locals: a failed open returns no logger, and the deferred report
	// still needs one.
	cfg, b, olog, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	log = olog
	q := score.Query{From: *from, To: *to, Rule: failureRule(cfg), Workers: cfg.Train.Workers, Bucket: bucketName(&sf, cfg),
		Options: score.Options{HorizonDays: cmp.Or(*horizon, cfg.Train.HorizonDays), LeadDays: *lead}}
	if *kitchen != "" {
		q.Kitchens = []string{*kitchen}
	}
	if phaseSet {
		if q.Kitchens, err = phaseKitchens(ctx, b, *phase, *kitchen); err != nil {
			return fmt.Errorf("scorecard: %w", err)
		}
	}
	rep, err := score.FromBucket(ctx, b, q)
	if err != nil {
		return fmt.Errorf("scorecard: %w", err)
	}
	for _, d := range rep.Sources.Damaged {
		log.Warn("scorecard: skipped a damaged actions file", "key", d.Key, "err", d.Error)
		jrep.Warnings = append(jrep.Warnings, "damaged actions file "+d.Key)
	}
	if n := rep.Sources.BadLines; n > 0 {
		log.Warn("scorecard: window lines that are not records were skipped", "lines", n)
		jrep.Warnings = append(jrep.Warnings, fmt.Sprintf("%d window lines are not records", n))
	}
	js, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return fmt.Errorf("scorecard: %w", err)
	}
	js = append(js, '\n')
	if *out != "" {
		if err := os.WriteFile(*out, js, 0o644); err != nil {
			return fmt.Errorf("scorecard: %w", err)
		}
	}
	if *asJSON {
		_, err = stdout.Write(js)
		return err
	}
	return score.WriteTable(stdout, rep)
}

// failureRule is the rule that says which events are failures: the one the
// trainer labels with ([train.failure]), so that the scorecard judges the
// actions by what the models were taught to predict.
func failureRule(cfg *config.Config) record.FailureRule { return cfg.Train.Failure.OrDefault() }

// bucketName names the bucket read, for the report and its errors.
func bucketName(sf *storeFlags, cfg *config.Config) string {
	if sf.dir != "" {
		return sf.dir
	}
	if cfg.S3.Dir != "" {
		return cfg.S3.Dir
	}
	return cfg.S3.Bucket
}

// phaseKitchens returns the kitchens of phase in the inventory, or just
// kitchen when one is given and in the phase.
func phaseKitchens(ctx context.Context, b train.Bucket, phase int, kitchen string) ([]string, error) {
	data, err := b.Get(ctx, inventory.Key, 0)
	if err != nil {
		return nil, fmt.Errorf("--phase needs the inventory: %w", err)
	}
	ks, err := inventory.Decode(data)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, k := range inventory.FilterPhase(ks, phase) {
		names = append(names, k.Name)
	}
	if kitchen != "" {
		if !slices.Contains(names, kitchen) {
			return nil, fmt.Errorf("kitchen %s is not in phase %d of %s", kitchen, phase, inventory.Key)
		}
		return []string{kitchen}, nil
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no kitchen of phase %d in %s", phase, inventory.Key)
	}
	return names, nil
}

// isDay reports whether s is empty or a yyyy-mm-dd day.
func isDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return s == "" || err == nil
}
