package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/logging"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// storeFlags are the flags every command that touches the bucket shares.
type storeFlags struct {
	config string
	dir    string
	bucket string
	log    logging.Options
	// create makes a missing bucket instead of failing (simulate, init).
	create bool
	// created is set by open when it made the bucket.
	created bool
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "config", "", "central config file (TOML)")
	fs.StringVar(&s.dir, "dir", "", "use a local directory laid out like the bucket instead of the [s3] store")
	fs.StringVar(&s.bucket, "bucket", "", "bucket name, overriding s3.bucket of the config")
	s.log.Register(fs)
}

// open loads the config (defaults when there is none and --dir is given)
// and connects to the bucket.
func (s *storeFlags) open(ctx context.Context, stderr io.Writer) (*config.Config, objstore.Bucket, *slog.Logger, error) {
	log, err := s.log.New(stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	var cfg *config.Config
	switch {
	case s.config != "":
		cfg, err = config.Load(s.config)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, w := range cfg.Warnings {
			log.Warn("config: " + w)
		}
	case s.dir != "":
		cfg, err = config.Parse(nil)
		if err != nil {
			return nil, nil, nil, err
		}
	default:
		return nil, nil, nil, fmt.Errorf("give --config FILE (or --dir DIR for a local bucket): %w", command.ErrUsage)
	}
	if s.dir != "" {
		cfg.S3 = objstore.Config{Dir: s.dir}
	} else if s.bucket != "" {
		cfg.S3.Bucket = s.bucket
	}
	if cfg.S3.Dir != "" && !filepath.IsAbs(cfg.S3.Dir) {
		// --dir is a command-line path, relative to where it was typed.
		abs, err := filepath.Abs(cfg.S3.Dir)
		if err != nil {
			return nil, nil, nil, err
		}
		cfg.S3.Dir = abs
	}
	st, err := objstore.Open(cfg.S3, os.Getenv("CREDENTIALS_DIRECTORY"))
	if err != nil {
		return nil, nil, nil, err
	}
	check := st.Check
	if s.create {
		check = func(ctx context.Context) error { return objstore.EnsureBucket(ctx, st) }
		// Whether init made the bucket, for its report.
		s.created = errors.Is(st.Check(ctx), objstore.ErrNotFound)
	}
	if err := check(ctx); err != nil {
		return nil, nil, nil, err
	}
	return cfg, st, log, nil
}

// signingKeyPath is the private key file --key names, else the config's.
func signingKeyPath(cfg *config.Config, flagPath string) string {
	if flagPath != "" {
		return flagPath
	}
	return cfg.SigningKeyFile
}

// publicKeyPath is where the public half of private key file priv goes by
// default: its name with .pub for .key.
func publicKeyPath(priv string) string { return strings.TrimSuffix(priv, ".key") + ".pub" }

// signingKey loads the private key named by the config, or by --key.
func signingKey(cfg *config.Config, flagPath string) (ed25519.PrivateKey, error) {
	path := signingKeyPath(cfg, flagPath)
	if path == "" {
		return nil, errors.New("no signing key: set signing_key_file in the config or give --key FILE (make one with budare-central keygen)")
	}
	return release.LoadPrivateKey(path, os.Getenv("CREDENTIALS_DIRECTORY"))
}
