// Command budare-central retrains the per-arepa models nightly, publishes them
// as signed releases, serves the dashboard, simulates kitchens and evaluates
// the trainer on the public NASA C-MAPSS benchmark.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/budare/budare/internal/buildinfo"
	"github.com/budare/budare/internal/logging"
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command and returns the process exit code: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "init":
		err = cmdInit(ctx, rest, stdout, stderr)
	case "train":
		err = cmdTrain(ctx, rest, stdout, stderr)
	case "assemble":
		err = cmdAssemble(ctx, rest, stdout, stderr)
	case "keygen":
		err = cmdKeygen(ctx, rest, stdout, stderr)
	case "releases":
		err = cmdReleases(ctx, rest, stdout, stderr)
	case "promote":
		err = cmdPromote(ctx, rest, stdout, stderr)
	case "rollback":
		err = cmdRollback(ctx, rest, stdout, stderr)
	case "backtest":
		err = cmdBacktest(ctx, rest, stdout, stderr)
	case "scorecard":
		err = cmdScorecard(ctx, rest, stdout, stderr)
	case "simulate":
		err = cmdSimulate(ctx, rest, stdout, stderr)
	case "eval":
		err = cmdEval(ctx, rest, stdout, stderr)
	case "serve":
		err = cmdServe(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "budare-central", buildinfo.Read(version, commit, date))
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "budare-central: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "%sbudare-central: %v\n", logging.FailurePrefix(stderr), err)
		return 1
	}
}

// errUsage marks an error already explained by a flag set's usage message.
var errUsage = errors.New("usage error")

// parseFlags parses a command's flags: -h is a successful help (exit 0),
// anything else wrong a usage error (exit 2), the flag set having printed why.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
