package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/budare/budare/central/backtest"
	"github.com/budare/budare/central/jobreport"
	"github.com/budare/budare/central/score"
	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/progress"
	"github.com/budare/budare/internal/release"
)

const backtestUsage = "usage: budare-central backtest (--config FILE | --dir DIR) --from D1 --to D2 [--retrain nightly|weekly] [--phase 1] [--types FILE] [--techniques baseline,...] [--json] [--out DIR] [--no-report]"

// ReportPrefix is where backtest reports go in the bucket.
const reportPrefix = "reports/backtest/"

// cmdBacktest replays a period with the trainer and the agent's decision
// code and scores the actions against the failures that followed.
func cmdBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	from := fs.String("from", "", "first morning decided, yyyy-mm-dd (required)")
	to := fs.String("to", "", "last morning decided, yyyy-mm-dd (required)")
	retrain := fs.String("retrain", backtest.Weekly, "retraining schedule: nightly or weekly")
	phase := fs.Int("phase", 1, "replay the kitchens of this phase (inventory/kitchens.csv)")
	typesFile := fs.String("types", "", "arepa types file, one per line (wins over types in the config)")
	techniques := fs.String("techniques", "", "comma-separated techniques that compete, e.g. baseline (default: as train)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	outDir := fs.String("out", "", "also write every decided day as DIR/actions/<kitchen>/<day>.json and the result as DIR/backtest.json")
	noReport := fs.Bool("no-report", false, "do not write the report to reports/backtest/ in the bucket")
	textfile := textfileFlag(fs)
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *from == "" || *to == "" {
		fmt.Fprintln(stderr, backtestUsage)
		return command.ErrUsage
	}
	// The backtest's own report (reports/backtest/) is its result; the
	// job's outcome goes only to the textfile.
	jrep := &jobreport.Report{Job: "backtest", Phase: *phase, Version: version, Started: time.Now(), Date: *to}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	defer func() { finishReport(ctx, jrep, err, nil, *textfile, log) }()
	// Into locals: a failed open returns no logger, and the deferred report
	// still needs one.
	cfg, b, olog, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	log = olog
	types, err := train.LoadTypes(*typesFile, cfg.Types)
	if err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	o := backtest.Options{Bucket: b, From: *from, To: *to, Retrain: *retrain, Phase: *phase, Types: types, Train: cfg.Train, Log: log,
		Progress: progress.ForTerminal(stderr, "replaying mornings", "days")}
	if *techniques != "" {
		for _, name := range strings.Split(*techniques, ",") {
			t := model.TechniqueByName(strings.TrimSpace(name))
			if t == nil {
				return fmt.Errorf("backtest: unknown technique %q", name)
			}
			o.Techniques = append(o.Techniques, t)
		}
	}
	// A simulated bucket carries its ground truth: failures are then also
	// scored by whether they had a precursor at all.
	if tb, err := b.Get(ctx, simulate.TruthKey, 0); err == nil {
		var truth simulate.Truth
		if err := json.Unmarshal(tb, &truth); err == nil {
			o.Group = groupByPrecursor(&truth)
		}
	}
	if *outDir != "" {
		o.OnDay = func(d action.Day, _ map[string]*model.Model, _ *release.Levels) error {
			data, err := backtest.MarshalDay(d)
			if err != nil {
				return err
			}
			p := filepath.Join(*outDir, filepath.FromSlash(action.Key(d.Kitchen, d.Date)))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("backtest: %w", err)
			}
			return os.WriteFile(p, data, 0o644)
		}
	}
	start := time.Now()
	res, err := backtest.Run(ctx, o)
	if err != nil {
		return err
	}
	log.Info("backtest done", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "releases", len(res.Releases))
	if n := len(res.Releases); n > 0 {
		jrep.Release = res.Releases[n-1].Release
	}
	js, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	js = append(js, '\n')
	if *outDir != "" {
		if err := os.WriteFile(filepath.Join(*outDir, "backtest.json"), js, 0o644); err != nil {
			return fmt.Errorf("backtest: %w", err)
		}
	}
	if !*noReport {
		key := fmt.Sprintf("%s%s_%s_%s.json", reportPrefix, res.From, res.To, res.Retrain)
		if *techniques != "" {
			key = strings.TrimSuffix(key, ".json") + "_" + strings.ReplaceAll(*techniques, ",", "+") + ".json"
		}
		if err := b.Put(ctx, key, js, nil); err != nil {
			return fmt.Errorf("backtest: write report %s: %w", key, err)
		}
		log.Info("backtest report written", "key", key)
	}
	if *asJSON {
		_, err := stdout.Write(js)
		return err
	}
	fmt.Fprintf(stdout, "backtest %s..%s, %s retraining, %d kitchens, %d releases\n", res.From, res.To, res.Retrain, len(res.Kitchens), len(res.Releases))
	for _, r := range res.Releases {
		lv := "default thresholds"
		if r.Levels != nil {
			lv = fmt.Sprintf("inspect %.3f, service %.3f, stop %.3f", r.Levels.Inspect, r.Levels.Service, r.Levels.Stop)
		}
		fmt.Fprintf(stdout, "  release %d from %s: %s; %s\n", r.Release, r.Day, lv, techniqueList(r.Techniques))
	}
	fmt.Fprintln(stdout)
	return score.WriteTable(stdout, res.Report)
}

func techniqueList(m map[string]string) string {
	count := map[string]int{}
	for _, t := range m {
		count[t]++
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s×%d", t, count[t]))
	}
	return strings.Join(parts, " ")
}

// groupByPrecursor labels each failure "precursor" or "sudden" from a
// simulator's ground truth; failures it does not know stay ungrouped.
func groupByPrecursor(t *simulate.Truth) func(score.Failure) string {
	type key struct{ k, m, d string }
	known := map[key]bool{}
	for _, f := range t.Failures {
		known[key{f.Kitchen, f.Machine, f.Day}] = f.Precursor
	}
	return func(f score.Failure) string {
		p, ok := known[key{f.Kitchen, f.Machine, f.Day}]
		switch {
		case !ok:
			return ""
		case p:
			return "precursor"
		}
		return "sudden"
	}
}
