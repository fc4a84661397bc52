package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/agent/daemon"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/command"
)

// cmdDecide runs the start-of-day decision by hand.
func cmdDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	date := fs.String("date", "", "local day to decide, yyyy-mm-dd (default: today in the kitchen's time zone)")
	dry := fs.Bool("dry-run", false, "compute and print only: persist, publish and upload nothing")
	asJSON := fs.Bool("json", false, "print the day's actions as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the store's lock or the running agent")
	if err := command.ParseFlagsOnly(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	now := time.Now()
	day := *date
	if day == "" {
		day = now.In(cfg.Location).Format(time.DateOnly)
	} else if _, err := time.ParseInLocation(time.DateOnly, day, cfg.Location); err != nil {
		fmt.Fprintf(stderr, "decide: --date %q: want yyyy-mm-dd\n", day)
		return command.ErrUsage
	}
	if today := now.In(cfg.Location).Format(time.DateOnly); !*dry && day != today {
		// Retained actions of another day would replace today's on every display.
		return fmt.Errorf("decide: only today's (%s) decision is published; use --dry-run to look at %s", today, day)
	}
	d, err := daemon.Decide(ctx, cfg, daemon.DecideOptions{Day: day, Now: now, DryRun: *dry, Timeout: *timeout,
		Version: version, Log: warnLog(stderr)})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return printDay(stdout, d)
}

func printDay(w io.Writer, d *action.Day) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kitchen %s, %s, model release %d, decided %s\n", d.Kitchen, d.Date, d.ModelRelease, d.DecidedAt.Format(time.RFC3339))
	fmt.Fprintln(tw, "machine\tlevel\trisk\tdata days\treasons")
	for _, a := range d.Actions {
		risk := "-"
		if a.Level != action.LevelUnknown {
			risk = fmt.Sprintf("%.2f", a.Risk)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", a.Machine, a.Level, risk, a.DataDays, strings.Join(a.Reasons, "; "))
	}
	var counts []string
	for _, l := range action.Levels {
		if n := d.Counts[l]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", l, n))
		}
	}
	fmt.Fprintf(tw, "%d machines: %s\n", len(d.Actions), strings.Join(counts, ", "))
	return tw.Flush()
}
