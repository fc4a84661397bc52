// Command budare-central retrains the per-arepa models nightly, publishes them
// as signed releases, serves the dashboard, simulates kitchens and evaluates
// the trainer on the public NASA C-MAPSS benchmark.
package main

import (
	"context"
	"io"

	"github.com/budare/budare/internal/buildinfo"
	"github.com/budare/budare/internal/command"
)

// version, commit and date are set at build time with -ldflags
// "-X main.version=... -X main.commit=... -X main.date=..." (Makefile,
// packaging); a plain go build or go install fills what it can from the
// build information (internal/buildinfo).
var (
	version = "dev"
	commit  string
	date    string
)

const usage = `usage: budare-central <command> [flags]

commands:
  init       create the bucket, upload the kitchen inventory, print what agents need
  train      train one model per arepa type and publish a signed release
             (staged on many workers: train rows, train fit, train assemble)
  assemble   assemble one release from the outputs of sharded train runs
  keygen     make an ed25519 key pair for signing releases
  releases   list model releases
  promote    make a release current
  rollback   publish a new release pointing back at an older one's models
  backtest   replay past days: train, decide with the agent's code, score the actions
  scorecard  score the agents' morning actions against the failures that happened
  simulate   write synthetic kitchens in the window format
  eval       evaluate the trainer on a public benchmark (eval cmapss)
  serve      serve the dashboard
  version    print the version, commit and build date (also --version)

Run 'budare-central <command> -h' for the flags of a command.
`

func main() { command.Main(program()) }

// run runs the program as main does, for the tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return program().Run(ctx, args, stdout, stderr)
}

func program() *command.Program {
	return &command.Program{Name: "budare-central", Usage: usage, Version: buildinfo.Read(version, commit, date).String(),
		Commands: map[string]command.Func{
			"init":      cmdInit,
			"train":     cmdTrain,
			"assemble":  cmdAssemble,
			"keygen":    cmdKeygen,
			"releases":  cmdReleases,
			"promote":   cmdPromote,
			"rollback":  cmdRollback,
			"backtest":  cmdBacktest,
			"scorecard": cmdScorecard,
			"simulate":  cmdSimulate,
			"eval":      cmdEval,
			"serve":     cmdServe,
		}}
}
