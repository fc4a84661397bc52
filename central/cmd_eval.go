package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/budare/budare/central/cmapss"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/progress"
)

// cmdEval runs the trainer on a public benchmark. Only C-MAPSS exists:
//
//	budare-central eval cmapss [--data DIR] [--subset FD001] [--window N] [--json]
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "cmapss" {
		fmt.Fprintln(stderr, "usage: budare-central eval cmapss [--data DIR] [--subset FD001] [--window N] [--json]")
		return command.ErrUsage
	}
	fs := flag.NewFlagSet("eval cmapss", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "directory with train_/test_/RUL_<subset>.txt[.gz] (default: $BUDARE_CMAPSS_DIR, else "+
		cmapss.InstalledDir+" as the package installs it, else the copy in a source checkout)")
	subset := fs.String("subset", "FD001", "C-MAPSS subset, e.g. FD001 or FD002")
	window := fs.Int("window", 30, "cycles per feature window (the same for every subset)")
	horizon := fs.Int("horizon", 30, "label: the engine fails within this many cycles")
	stride := fs.Int("stride", 3, "take a training row every N cycles of each training engine")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary line")
	if err := command.ParseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eval cmapss: unexpected arguments %q\n", fs.Args())
		return command.ErrUsage
	}
	if *data == "" {
		cwd, _ := os.Getwd()
		*data = cmapss.FindDataDir(os.Getenv("BUDARE_CMAPSS_DIR"), cmapss.InstalledDir, cwd)
	}
	if *data == "" {
		return fmt.Errorf("eval cmapss: no C-MAPSS data: give --data DIR (NASA's train_%[1]s.txt, test_%[1]s.txt, RUL_%[1]s.txt, plain or .gz), set BUDARE_CMAPSS_DIR, or install the budare-central package (%[2]s)",
			*subset, cmapss.InstalledDir)
	}
	// A short batch run with a small heap: collect garbage less often.
	debug.SetGCPercent(400)
	res, err := cmapss.Run(ctx, cmapss.Options{Dir: *data, Subset: *subset, WindowDays: *window, Horizon: *horizon, Stride: *stride,
		Progress: progress.ForTerminal(stderr, "building engine rows", "engines")})
	if err != nil {
		return fmt.Errorf("eval cmapss: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(res)
	}
	_, err = fmt.Fprintln(stdout, res.Summary())
	return err
}
