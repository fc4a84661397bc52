// Command budare-agent runs on a kitchen gateway: it ingests the machines'
// cooking records from the kitchen's MQTT broker into a local bbolt store,
// uploads daily windows to the central object store, keeps the newest signed
// models and publishes each machine's maintenance action at start of day.
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

func main() { command.Main(program()) }

// run runs the program as main does, for the tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return program().Run(ctx, args, stdout, stderr)
}

func program() *command.Program {
	return &command.Program{Name: "budare-agent", Usage: usage, Version: buildinfo.Read(version, commit, date).String(),
		Commands: map[string]command.Func{
			"run":          cmdRun,
			"check-config": cmdCheckConfig,
			"inspect":      cmdInspect,
			"actions":      cmdActions,
			"decide":       cmdDecide,
			"store":        cmdStore,
			"upload":       cmdUpload,
			"sync":         cmdSync,
		}}
}
