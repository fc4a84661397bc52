// Package command runs a program made of subcommands the way both budare
// binaries do: one dispatch, one meaning for exit codes (0 success or help,
// 1 failure, 2 usage error) and one line on stderr for a failure, prefixed
// for journald so it reaches `journalctl -p err`.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/budare/budare/internal/logging"
)

// Func is one subcommand: its arguments after the command's name.
type Func func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Program is a binary's set of subcommands.
type Program struct {
	Name     string // e.g. "budare-agent"
	Usage    string // printed for help, no arguments, or an unknown command
	Version  string // what "version" and "--version" print after Name
	Commands map[string]Func
}

// ErrUsage marks an error already explained by a flag set's usage message:
// exit code 2, nothing more printed.
var ErrUsage = errors.New("usage error")

// ParseFlags parses a command's flags: -h is a successful help (exit 0),
// anything else wrong a usage error (exit 2), the flag set having printed why.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	return nil
}

// ParseFlagsOnly is ParseFlags for a command that takes no positional
// arguments: any left over is a usage error, said in one line.
func ParseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return ErrUsage
	}
	return nil
}

// Main runs p with the process's arguments until SIGINT or SIGTERM ends
// the context, and exits with its code.
func Main(p *Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := p.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run dispatches args to a command and returns the process exit code.
func (p *Program) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, p.Usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "version", "--version":
		fmt.Fprintln(stdout, p.Name, p.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, p.Usage)
	default:
		f, ok := p.Commands[cmd]
		if !ok {
			fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", p.Name, cmd, p.Usage)
			return 2
		}
		err = f(ctx, rest, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "%s%s: %v\n", logging.FailurePrefix(stderr), p.Name, err)
		return 1
	}
}
