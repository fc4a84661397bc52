package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/budare/budare/agent/daemon"
	"github.com/budare/budare/internal/command"
)

// nowFlags parses `<cmd> now [flags]`.
func nowFlags(cmd string, args []string, stderr io.Writer) (cfgPath string, timeout time.Duration, err error) {
	fs := flag.NewFlagSet(cmd+" now", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: budare-agent %s now [flags]\n", cmd)
		fs.PrintDefaults()
	}
	c := fs.String("config", defaultConfig, "agent config file (TOML)")
	t := fs.Duration("timeout", 10*time.Minute, "how long the whole command may take")
	if len(args) == 0 || args[0] != "now" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fs.Usage()
			return "", 0, flag.ErrHelp
		}
		fs.Usage()
		return "", 0, command.ErrUsage
	}
	if err := command.ParseFlagsOnly(fs, args[1:]); err != nil {
		return "", 0, err
	}
	return *c, *t, nil
}

// cmdUpload is `budare-agent upload now`.
func cmdUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfgPath, timeout, err := nowFlags("upload", args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath, stderr)
	if err != nil {
		return err
	}
	ans, err := daemon.UploadNow(ctx, cfg, timeout, warnLog(stderr))
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Fprintf(stdout, "upload via %s: %d day(s) uploaded", ans.Via, len(ans.Uploaded))
	if len(ans.Uploaded) > 0 {
		fmt.Fprintf(stdout, " (%s)", strings.Join(ans.Uploaded, ", "))
	}
	fmt.Fprintf(stdout, ", %d closed day(s) still pending\n", ans.Pending)
	for _, f := range ans.Failed {
		fmt.Fprintf(stdout, "failed %s: %s\n", f.Day, f.Error)
	}
	if ans.Error != "" {
		return fmt.Errorf("upload: %s", ans.Error)
	}
	return nil
}

// cmdSync is `budare-agent sync now`.
func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfgPath, timeout, err := nowFlags("sync", args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath, stderr)
	if err != nil {
		return err
	}
	ans, err := daemon.SyncNow(ctx, cfg, timeout, warnLog(stderr))
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	via := ans.Via
	switch {
	case ans.Installed:
		fmt.Fprintf(stdout, "sync via %s: model release %d installed\n", via, ans.Release)
	case ans.Release > 0:
		fmt.Fprintf(stdout, "sync via %s: model release %d installed already\n", via, ans.Release)
	default:
		fmt.Fprintf(stdout, "sync via %s: no model release installed\n", via)
	}
	if ans.Status != nil && len(ans.Status.Arepas) > 0 {
		fmt.Fprintf(stdout, "arepa types: %s\n", strings.Join(ans.Status.Arepas, ", "))
	}
	if ans.Error != "" {
		if ans.Refused {
			return fmt.Errorf("sync: central's release refused: %s", ans.Error)
		}
		return fmt.Errorf("sync: %s", ans.Error)
	}
	return nil
}

// warnLog is the log of a command acting without the agent: warnings and
// errors only, on stderr.
func warnLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
