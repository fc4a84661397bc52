package debbuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ReadHelp runs a built binary for its --help text and each listed command's
// -h text. Commands are read from the "commands:" block of the top-level help;
// a command whose -h fails (not built yet) or prints nothing is left out
// rather than documented wrongly.
func ReadHelp(ctx context.Context, binary, dir string) (Help, error) {
	top, err := runHelp(ctx, binary, dir, "--help")
	if err != nil {
		return Help{}, err
	}
	h := Help{Top: top}
	for _, cmd := range listCommands(top) {
		if cmd == "version" || cmd == "help" {
			continue
		}
		text, err := runHelp(ctx, binary, dir, cmd, "-h")
		if err != nil || strings.TrimSpace(text) == "" {
			continue
		}
		h.Commands = append(h.Commands, CommandHelp{Name: cmd, Text: text})
	}
	return h, nil
}

func runHelp(ctx context.Context, binary, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	// A clean environment: the help must not depend on who builds.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "TZ=UTC"}
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		// Exit 2 is a usage error; for -h some commands report the flag
		// package's ErrHelp that way, after printing their flags.
		if errors.As(err, &exit) && exit.ExitCode() == 2 && args[len(args)-1] == "-h" && strings.Contains(out.String(), "\n  -") {
			return out.String(), nil
		}
		if errors.As(err, &exit) {
			return "", fmt.Errorf("%s %s: exit %d: %s", binary, strings.Join(args, " "), exit.ExitCode(), firstLine(out.String()))
		}
		return "", fmt.Errorf("%s %s: %w", binary, strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// listCommands returns the first word of each indented line after a line
// "commands:", up to the next blank line.
func listCommands(help string) []string {
	var cmds []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "commands:":
			in = true
		case in && strings.TrimSpace(line) == "":
			return cmds
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			if f := strings.Fields(line); len(f) > 0 {
				cmds = append(cmds, f[0])
			}
		}
	}
	return cmds
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
