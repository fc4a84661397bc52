package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/objstore"
)

// TestBacktestCommand replays four mornings of a small simulated chain: the
// table and JSON come out, every decided day is written as the agents' day
// file under --out, and the report lands in the bucket; bad flags are usage
// errors.
func TestBacktestCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := simulate.Write(ctx, simulate.Config{Seed: 3, Kitchens: 2, Machines: 5, Types: 2, Days: 50, End: "2026-11-20",
		Phases: 1, MeanDaysBetweenFailures: 10}, objstore.NewDir(dir), 2); err != nil {
		t.Fatal(err)
	}
	types := filepath.Join(dir, "types.txt")
	if err := os.WriteFile(types, []byte(strings.Join(simulate.TypeNames(2), "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"backtest", "--dir", dir, "--from", "2026-11-13", "--to", "2026-11-16", "--types", types,
		"--out", out, "--json", "--log-level", "warn"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res struct {
		Releases []json.RawMessage `json:"releases"`
		Report   struct {
			Chain struct {
				MachineDays int `json:"machine_days"`
			} `json:"chain"`
		} `json:"report"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout.String())
	}
	if len(res.Releases) != 1 || res.Report.Chain.MachineDays != 2*5*4 {
		t.Fatalf("%d releases, %d machine-days; want 1 and 40", len(res.Releases), res.Report.Chain.MachineDays)
	}
	for _, k := range []string{"k-001", "k-002"} {
		for _, d := range []string{"2026-11-13", "2026-11-16"} {
			b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(action.Key(k, d))))
			if err != nil {
				t.Fatal(err)
			}
			day, err := action.DecodeDay(b)
			if err != nil || day.Date != d || day.Kitchen != k || len(day.Actions) != 5 {
				t.Fatalf("%s %s: day file %+v, %v", k, d, day, err)
			}
		}
	}
	reports, err := objstore.NewDir(dir).List(ctx, reportPrefix)
	if err != nil || len(reports) != 1 || !strings.HasSuffix(reports[0], "2026-11-13_2026-11-16_weekly.json") {
		t.Fatalf("reports in the bucket: %v, %v", reports, err)
	}
	if _, err := os.Stat(filepath.Join(out, "backtest.json")); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no period", []string{"backtest", "--dir", dir}, 2, "usage"},
		{"bad schedule", []string{"backtest", "--dir", dir, "--from", "2026-11-13", "--to", "2026-11-14", "--retrain", "hourly", "--types", types}, 1, "want nightly or weekly"},
		{"reversed", []string{"backtest", "--dir", dir, "--from", "2026-11-14", "--to", "2026-11-13", "--types", types}, 1, "before --from"},
		{"bad technique", []string{"backtest", "--dir", dir, "--from", "2026-11-13", "--to", "2026-11-14", "--techniques", "magic", "--types", types}, 1, "unknown technique"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var o, e bytes.Buffer
			if code := run(ctx, tt.args, &o, &e); code != tt.code || !strings.Contains(e.String(), tt.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, e.String(), tt.code, tt.msg)
			}
		})
	}
}
