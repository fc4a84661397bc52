package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/agent/daemon"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/internal/command"
)

// cmdInspect prints what the local store holds. While the agent runs it has
// the store's exclusive lock, so the report comes from the agent's /inspect
// endpoint; otherwise the store is opened read-only.
func cmdInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	quar := fs.Int("quarantine", 0, "include the newest `N` quarantined payloads")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the agent or the store's lock")
	if err := command.ParseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *quar < 0 {
		fmt.Fprintln(stderr, "inspect: --quarantine must be >= 0")
		return command.ErrUsage
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	rep, err := daemon.Inspect(ctx, cfg, *quar, *timeout)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printReport(stdout, rep)
}

func printReport(w io.Writer, r *inspect.Report) error {
	src := "from the running agent"
	if r.Source == "store" {
		src = "from the store (agent not running)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kitchen %s, %s\n", r.Kitchen, src)
	fmt.Fprintf(tw, "records\t%d\n", r.Records)
	fmt.Fprintf(tw, "duplicates dropped\t%d\n", r.Duplicates)
	fmt.Fprintf(tw, "quarantined\t%d (newest %d kept)\n", r.Quarantined, r.QuarantineKept)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "machine\trecords\tfirst\tlast")
	for _, m := range r.Machines {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Machine, m.Records, m.First.Format(time.RFC3339), m.Last.Format(time.RFC3339))
	}
	if len(r.Quarantine) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "received\treason\ttopic\tdetail")
		for _, q := range r.Quarantine {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", q.Received.Format(time.RFC3339), q.Reason, q.Topic, q.Detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(r.Sections)) { // a map: same order on every run
		b, err := json.Marshal(r.Sections[name])
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s: %s\n", name, b)
	}
	return nil
}
