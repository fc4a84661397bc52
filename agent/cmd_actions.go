package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/agent/daemon"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/record"
)

// cmdActions prints the retained action of each machine: what a display
// that connects now is shown.
func cmdActions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("actions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	want := fs.Int("want", 0, "wait until at least this many machines have a retained action")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the broker and for --want")
	if err := command.ParseFlagsOnly(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	got, err := daemon.RetainedActions(ctx, cfg, *want, *timeout)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tlevel\trisk\tday\treasons\n", record.ActionFilter(cfg.Kitchen))
	for _, m := range slices.Sorted(maps.Keys(got)) {
		var a action.Action
		if err := json.Unmarshal(got[m], &a); err != nil {
			fmt.Fprintf(tw, "%s\t(unreadable: %v)\n", m, err)
			continue
		}
		risk := "-"
		if a.Level != action.LevelUnknown {
			risk = fmt.Sprintf("%.2f", a.Risk)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m, a.Level, risk, a.Date, strings.Join(a.Reasons, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(got) < *want {
		return fmt.Errorf("actions: %d of %d machines have a retained action after %s", len(got), *want, *timeout)
	}
	return nil
}
