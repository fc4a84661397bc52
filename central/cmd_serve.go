package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/central/dashboard"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/logging"
	"github.com/budare/budare/internal/objstore"
)

// defaultListen binds loopback only: the dashboard has no authentication,
// so exposing it is a deliberate choice (a reverse proxy, or --listen).
const defaultListen = "127.0.0.1:8080"

// cmdServe serves the read-only dashboard:
//
//	budare-central serve --config FILE [--listen 127.0.0.1:8080]
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: budare-central serve --config FILE [--listen 127.0.0.1:8080]")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "/etc/budare/central.toml", "central config file ([s3] section; [serve] listen)")
	listen := fs.String("listen", "", "address to serve on (default [serve] listen, else "+defaultListen+")")
	var logOpt logging.Options
	logOpt.Register(fs)
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected arguments %q\n", fs.Args())
		return command.ErrUsage
	}
	log, err := logOpt.New(stderr)
	if err != nil {
		return err
	}
	// The same config and checks as train.
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w)
	}
	addr := cmp.Or(*listen, cfg.Serve.Listen, defaultListen)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("serve: listen address %q is not host:port", addr)
	}
	store, err := objstore.Open(cfg.S3, os.Getenv("CREDENTIALS_DIRECTORY"))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// An unreachable store is not fatal: the pages say what is wrong and
	// recover by themselves once the store is back.
	checkCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := store.Check(checkCtx); err != nil {
		log.Warn("object store not usable yet; the dashboard shows the error until it is", "err", err)
	}
	cancel()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if !objstore.IsLoopback(ln.Addr().String()) {
		log.Warn("the dashboard has no authentication and listens beyond loopback; put it behind an authenticating proxy", "addr", ln.Addr().String())
	}
	srv := dashboard.HTTPServer(addr, dashboard.New(store, dashboard.Options{Logger: log}), log)
	fmt.Fprintf(stdout, "budare-central serve: dashboard on http://%s/\n", ln.Addr())
	log.Info("serving dashboard", "addr", ln.Addr().String(), "bucket", cmp.Or(cfg.S3.Dir, cfg.S3.BucketName()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("dashboard stopped")
	return nil
}
