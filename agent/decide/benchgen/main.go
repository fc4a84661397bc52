// Command benchgen writes a kitchen for the decision benchmark
// (.ci/bench.d/40-decide.sh): an agent config, a release public key, a local
// store with N machines' cooking over the last days, and an installed,
// signed model release per arepa type. Then
// `budare-agent decide --config DIR/agent.toml --dry-run --date D` decides it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/budare/budare/agent/decide/decidetest"
)

func main() {
	out := flag.String("out", "", "directory to write the kitchen into (created)")
	machines := flag.Int("machines", 200, "machines in the kitchen")
	days := flag.Int("days", 8, "days of cooking before --date (the decision reads the last 7)")
	cooks := flag.Int("cooks", 96, "cook cycles per machine per day")
	types := flag.Int("types", 3, "arepa types each machine cooks")
	date := flag.String("date", "2026-11-27", "the day to be decided")
	tz := flag.String("timezone", "America/Caracas", "kitchen time zone")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "benchgen: --out is required")
		os.Exit(2)
	}
	if err := decidetest.Kitchen(*out, *machines, *days, *cooks, *types, *date, *tz); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
	fmt.Printf("kitchen k-bench: %d machines x %d days x %d cooks, %d arepa types, release 1, in %s\n",
		*machines, *days, *cooks, *types, *out)
}
