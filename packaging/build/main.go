// Command build makes budare's Debian packages (`make deb`):
//
//	go run ./packaging/build -version "$(git describe --tags --always --dirty)" -out dist
//
// It prints one line per package: its path, size and the size of the binary
// it carries.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/budare/budare/packaging/debbuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "git describe output (default: run git describe)")
	out := fs.String("out", "dist", "directory for the .deb files")
	arches := fs.String("arch", strings.Join(debbuild.Arches, ","), "comma-separated architectures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := debbuild.FindRoot(".")
	if err != nil {
		return err
	}
	if *version == "" {
		*version = gitOutput(ctx, root, "describe", "--tags", "--always", "--dirty")
	}
	arts, err := debbuild.Build(ctx, debbuild.Options{
		Root:    root,
		Out:     *out,
		Version: *version,
		Commit:  gitOutput(ctx, root, "rev-parse", "HEAD"),
		Arches:  strings.Split(*arches, ","),
		Date:    buildDate(ctx, root),
		Log:     stderr,
	})
	if err != nil {
		return err
	}
	for _, a := range arts {
		fmt.Fprintf(stdout, "%s\t%s\t%s\tdeb_bytes=%d\tbinary_bytes=%d\n", a.Package, a.Arch, a.Path, a.Size, a.BinarySize)
	}
	return nil
}

// buildDate is SOURCE_DATE_EPOCH when set (reproducible builds), else the
// last commit's time, else now.
func buildDate(ctx context.Context, root string) time.Time {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = gitOutput(ctx, root, "log", "-1", "--format=%ct")
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0)
	}
	return time.Now()
}

func gitOutput(ctx context.Context, dir string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
