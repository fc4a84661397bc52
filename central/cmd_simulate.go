package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/progress"
)

// cmdSimulate writes synthetic kitchens in the window format, with
// inventory/kitchens.csv and the ground truth:
//
//	budare-central simulate --out DIR [--kitchens N --machines M --types T --days D --seed S --scenario classic|field]
//	budare-central simulate --config FILE ...   (straight into the [s3] bucket)
//	budare-central simulate --mqtt tcp://HOST:PORT --kitchen K [--publish-days N]   (as the machines, over MQTT)
func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "write into this directory, laid out like the bucket (same as --dir)")
	d := simulate.Defaults()
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "random seed; the same seed gives the same data")
	fs.IntVar(&d.Kitchens, "kitchens", d.Kitchens, "kitchens")
	fs.IntVar(&d.Machines, "machines", d.Machines, "machines per kitchen")
	fs.IntVar(&d.Types, "types", d.Types, "arepa types in all")
	fs.IntVar(&d.MenuSize, "menu", 0, "arepa types each kitchen cooks (default about two thirds of --types)")
	fs.IntVar(&d.Days, "days", d.Days, "days to simulate")
	fs.StringVar(&d.End, "end", d.End, "last simulated local day, yyyy-mm-dd")
	fs.IntVar(&d.Phases, "phases", d.Phases, "kitchens are spread over phases 1..N")
	fs.IntVar(&d.CooksPerDay, "cooks", d.CooksPerDay, "mean cook cycles per machine per weekday")
	fs.Float64Var(&d.MeanDaysBetweenFailures, "mtbf", d.MeanDaysBetweenFailures, "mean days until a healthy machine starts degrading (field: mean days between failures)")
	fs.StringVar(&d.Scenario, "scenario", simulate.ScenarioClassic, "classic (smooth drifts, the tests' data) or field (varied shapes, sudden failures, unrelated faults, glitches, changing baselines)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines compressing and uploading windows")
	typesOut := fs.String("types-file", "", "also write the simulated arepa types to this file (for train --types)")
	broker := fs.String("mqtt", "", "instead of writing windows, publish one kitchen's records to this MQTT broker (tcp://host:port)")
	kitchen := fs.String("kitchen", "k-001", "with --mqtt: the kitchen to publish")
	pubDays := fs.Int("publish-days", 8, "with --mqtt: publish the kitchen's last N simulated days")
	speed := fs.Float64("speed", 0, "with --mqtt: replay the last day as live machines would, this many times faster than real time (1440 = a day a minute), after the days before it at once; 0 = everything at once")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "simulate: unexpected arguments %q\n", fs.Args())
		return command.ErrUsage
	}
	if *broker != "" {
		st, err := simulate.Publish(ctx, d, *broker, *kitchen, *pubDays, *speed)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(st)
	}
	if *out != "" {
		if sf.dir != "" && sf.dir != *out {
			return fmt.Errorf("simulate: --out and --dir name different directories: %w", command.ErrUsage)
		}
		sf.dir = *out
	}
	sf.create = true
	_, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	bar := progress.ForTerminal(stderr, "simulating", "windows")
	bar.SetTotal(d.Kitchens * d.Days)
	truth, err := simulate.Write(ctx, d, countingPutter{b, bar}, *workers)
	bar.Done()
	if err != nil {
		return err
	}
	if *typesOut != "" {
		if err := writeTypes(*typesOut, truth.Types); err != nil {
			return err
		}
	}
	log.Info("simulated", "scenario", truth.Scenario, "kitchens", len(truth.Kitchens), "days", truth.First+".."+truth.Last,
		"cooks", truth.Cooks, "failures", len(truth.Failures), "faults", truth.Faults)
	return json.NewEncoder(stdout).Encode(map[string]any{"scenario": truth.Scenario, "kitchens": len(truth.Kitchens), "first_day": truth.First,
		"last_day": truth.Last, "cooks": truth.Cooks, "failures": len(truth.Failures), "faults": truth.Faults,
		"types": truth.Types, "ground_truth": simulate.TruthKey})
}

// countingPutter counts the windows written, for the progress bar.
type countingPutter struct {
	simulate.Putter
	bar *progress.Bar
}

func (c countingPutter) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	err := c.Putter.Put(ctx, key, data, meta)
	if err == nil && strings.HasPrefix(key, "windows/") {
		c.bar.Add(1)
	}
	return err
}

func writeTypes(path string, types []string) error {
	data := "# arepa types written by budare-central simulate\n"
	for _, t := range types {
		data += t + "\n"
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}
