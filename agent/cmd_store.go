package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/command"
)

// cmdStore is `store check` and `store salvage`.
func cmdStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, storeUsage)
		return command.ErrUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, storeUsage)
		// Both subcommands' flags, for -h and the man page.
		_ = cmdStoreCheck(ctx, []string{"-h"}, stdout, stderr)
		_ = cmdStoreSalvage(ctx, []string{"-h"}, stdout, stderr)
		return flag.ErrHelp
	case "check":
		return cmdStoreCheck(ctx, args[1:], stdout, stderr)
	case "salvage":
		return cmdStoreSalvage(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "budare-agent store: unknown subcommand %q (want check or salvage)\n", args[0])
		return command.ErrUsage
	}
}

const storeUsage = `usage: budare-agent store check|salvage [flags]

  check     walk the whole local store (stop the agent first): damaged pages,
            records failing their checksum; exit 1 if anything is wrong
  salvage   copy every readable record into a new store, move the damaged
            one aside, put the new one in its place and say what was lost

`

// errDamagedStore is check's answer for a store that is not clean; the
// report already said why.
var errDamagedStore = errors.New("the store has problems (see above)")

func cmdStoreCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("store check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the store's lock")
	if err := command.ParseFlagsOnly(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	rep, err := store.Check(cfg.StorePath(), *timeout)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printCheck(stdout, rep)
	}
	if !rep.OK() {
		return errDamagedStore
	}
	return nil
}

func printCheck(w io.Writer, r *store.Report) {
	fmt.Fprintf(w, "%s: %d machines, %d readable records", r.Path, r.Machines, r.Records)
	if !r.Newest.IsZero() {
		fmt.Fprintf(w, ", newest %s", r.Newest.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if r.Unchecked > 0 {
		fmt.Fprintf(w, "%d records were written before checksums and are read unchecked\n", r.Unchecked)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "damaged: %s\n", p)
	}
	for _, m := range slices.Sorted(maps.Keys(r.BadByMachine)) {
		fmt.Fprintf(w, "bad records: %s: %d fail their checksum (skipped by every reader)\n", m, r.BadByMachine[m])
	}
	switch {
	case r.Damaged():
		fmt.Fprintln(w, "the store is damaged: the agent refuses to run on it; stop the agent and run `budare-agent store salvage`")
	case r.BadLines > 0:
		fmt.Fprintln(w, "the agent runs and skips the bad records; `budare-agent store salvage` drops them for good")
	default:
		fmt.Fprintln(w, "ok")
	}
}

func cmdStoreSalvage(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("store salvage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	out := fs.String("out", "", "where to build the new store (default: the store's path + .salvaged; must not exist)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the store's lock")
	if err := command.ParseFlagsOnly(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	path := cfg.StorePath()
	if *out == "" {
		*out = path + ".salvaged"
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	rep, err := store.Salvage(path, *out, store.Options{Location: cfg.Location, Timeout: *timeout})
	if err != nil {
		return err
	}
	aside := fmt.Sprintf("%s.damaged-%s", path, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("salvaged into %s, but moving the damaged store aside failed: %w; move it yourself and put %s in its place", *out, err, *out)
	}
	if err := os.Rename(*out, path); err != nil {
		return fmt.Errorf("salvaged into %s and moved the damaged store to %s, but putting the new one in place failed: %w; run: mv %s %s", *out, aside, err, *out, path)
	}
	printSalvage(stdout, rep, path, aside)
	return nil
}

func printSalvage(w io.Writer, r *store.SalvageReport, path, aside string) {
	fmt.Fprintf(w, "copied %d records, %d state documents and %d quarantined payloads into a new store at %s\n",
		r.Copied, r.StateDocs, r.Quarantined, path)
	fmt.Fprintf(w, "the damaged store was moved aside to %s (delete it once the agent runs again)\n", aside)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "while copying: %s\n", p)
	}
	switch {
	case r.LostUnknown:
		fmt.Fprintf(w, "lost: unknown (the damaged store's day index was unreadable); %d records failed their checksum\n", r.BadLines)
	case r.Lost == 0:
		fmt.Fprintln(w, "lost: nothing")
	default:
		fmt.Fprintf(w, "lost: %d records\n", r.Lost)
		for _, d := range slices.Sorted(maps.Keys(r.LostByDay)) {
			fmt.Fprintf(w, "  %s: %d records\n", d, r.LostByDay[d])
		}
	}
	if r.Lost > 0 || r.LostUnknown {
		fmt.Fprintln(w, "where it still is: the broker redelivers what the agent had not acknowledged (its session is kept), "+
			"and days uploaded before the damage are whole in the bucket, where central trains from them (the agent merges each day "+
			"into its uploaded window again, which removes nothing there); until the lost days age out, decisions for the machines "+
			"that lost records see less history")
	}
	fmt.Fprintln(w, "start the agent again: systemctl start budare-agent")
}
