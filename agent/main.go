// Command budare-agent runs on a kitchen gateway: it ingests the machines'
// cooking records from the kitchen's MQTT broker into a local bbolt store,
// uploads daily windows to the central object store, keeps the newest signed
// models and publishes each machine's maintenance action at start of day.
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

const usage = `usage: budare-agent <command> [flags]

commands:
  run           ingest, upload, sync models and decide, until SIGTERM
  check-config  validate the config file and print each problem on one line
  inspect       print what the local store holds (works while the agent runs)
  decide        run the start-of-day decision by hand
  actions       print the retained actions as a display subscribing now sees them
  store         store check: report damage; store salvage: copy what is readable into a new store
  upload now    upload the closed days now, forgetting any retry backoff
  sync now      fetch the current model release now
  version       print the version, commit and build date (also --version)

Run 'budare-agent <command> -h' for the flags of a command.
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
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr)
	case "check-config":
		err = cmdCheckConfig(ctx, rest, stdout, stderr)
	case "inspect":
		err = cmdInspect(ctx, rest, stdout, stderr)
	case "actions":
		err = cmdActions(ctx, rest, stdout, stderr)
	case "decide":
		err = cmdDecide(ctx, rest, stdout, stderr)
	case "store":
		err = cmdStore(ctx, rest, stdout, stderr)
	case "upload":
		err = cmdUpload(ctx, rest, stdout, stderr)
	case "sync":
		err = cmdSync(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "budare-agent", buildinfo.Read(version, commit, date))
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "budare-agent: unknown command %q\n\n%s", cmd, usage)
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
		// "<3>" under journald: the reason a start failed is an error there.
		fmt.Fprintf(stderr, "%sbudare-agent: %v\n", logging.FailurePrefix(stderr), err)
		return 1
	}
}

// errUsage marks an error already explained by a flag set's usage message.
var errUsage = errors.New("usage error")
