package command

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"testing"
)

func TestRun(t *testing.T) {
	p := &Program{Name: "prog", Usage: "usage: prog <command>\n", Version: "v1 (commit x)",
		Commands: map[string]Func{
			"ok":   func(context.Context, []string, io.Writer, io.Writer) error { return nil },
			"fail": func(context.Context, []string, io.Writer, io.Writer) error { return errors.New("disk full") },
			"help": nil, // the built-in help wins
			"flags": func(_ context.Context, args []string, _, stderr io.Writer) error {
				fs := flag.NewFlagSet("flags", flag.ContinueOnError)
				fs.SetOutput(stderr)
				fs.Int("n", 0, "a number")
				return ParseFlags(fs, args)
			},
		}}
	for _, tc := range []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{nil, 2, "", "usage: prog <command>\n"},
		{[]string{"ok"}, 0, "", ""},
		{[]string{"fail"}, 1, "", "prog: disk full\n"},
		{[]string{"nope"}, 2, "", "prog: unknown command \"nope\"\n\nusage: prog <command>\n"},
		{[]string{"version"}, 0, "prog v1 (commit x)\n", ""},
		{[]string{"--version"}, 0, "prog v1 (commit x)\n", ""},
		{[]string{"help"}, 0, "usage: prog <command>\n", ""},
		{[]string{"flags", "-n", "3"}, 0, "", ""},
		{[]string{"flags", "-n", "x"}, 2, "", "*"},
		{[]string{"flags", "-h"}, 0, "", "*"},
	} {
		var out, errs bytes.Buffer
		code := p.Run(context.Background(), tc.args, &out, &errs)
		if code != tc.code || out.String() != tc.stdout || (tc.errs != "*" && errs.String() != tc.errs) {
			t.Errorf("Run(%q) = %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errs.String(), tc.code, tc.stdout, tc.errs)
		}
	}
}
