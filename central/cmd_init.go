package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/budare/budare/central/setup"
	"github.com/budare/budare/internal/command"
)

// cmdInit prepares the bucket for the chain's agents: it creates the bucket
// if missing, checks and uploads the kitchen inventory, writes the release
// public key, and prints what each gateway's config needs. Safe to run
// again:
//
//	budare-central init --config FILE --inventory kitchens.csv [--replace] [--public-key release.pub]
func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := storeFlags{create: true}
	sf.register(fs)
	inv := fs.String("inventory", "", "kitchens.csv to upload (kitchen,phase,timezone); default: check the bucket's")
	replace := fs.Bool("replace", false, "replace a different inventory already in the bucket")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	pubPath := fs.String("public-key", "", "where to write the public key the agents install (default: the signing key's name with .pub)")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "init: unexpected arguments %q\n", fs.Args())
		return command.ErrUsage
	}
	var data []byte
	if *inv != "" {
		var err error
		if data, err = os.ReadFile(*inv); err != nil {
			return fmt.Errorf("init: inventory: %w", err)
		}
	}
	cfg, b, _, err := sf.open(ctx, stderr)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	where := fmt.Sprintf("bucket %q on %s", cfg.S3.BucketName(), cfg.S3.Endpoint)
	if sf.dir != "" {
		where = "local bucket directory " + sf.dir
	}
	state := "exists"
	switch {
	case sf.created:
		state = "created"
	case sf.dir != "":
		state = "ready" // made when missing; a directory does not say
	}
	fmt.Fprintf(stdout, "%s: %s\n", where, state)

	res, err := setup.UploadInventory(ctx, b, data, *replace)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "inventory/kitchens.csv: %s, %d kitchen(s)", res.Action, len(res.Kitchens))
	if res.Action == "replaced" {
		fmt.Fprintf(stdout, " (was %d; added %v, removed %v)", res.PreviousKitchens, res.Added, res.Removed)
	}
	fmt.Fprintln(stdout)

	pub := "(none: run budare-central keygen and set signing_key_file)"
	if priv, kerr := signingKey(cfg, *key); kerr == nil {
		path := *pubPath
		if path == "" {
			path = publicKeyPath(signingKeyPath(cfg, *key))
		}
		st, err := setup.WritePublicKey(priv, path)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		fmt.Fprintf(stdout, "release public key %s: %s\n", path, st)
		pub = fmt.Sprintf("%q   # a copy of %s", "/etc/budare/release.pub", path)
	} else {
		fmt.Fprintf(stdout, "release public key: not written: %v\n", kerr)
	}

	fmt.Fprintln(stdout, "\nEach gateway's /etc/budare/agent.toml needs:")
	fmt.Fprintln(stdout, "  kitchen = one of:")
	for _, k := range res.Kitchens {
		fmt.Fprintf(stdout, "    %q  (phase %d; timezone = %q)\n", k.Name, k.Phase, k.Timezone)
	}
	fmt.Fprintln(stdout, "  [s3]")
	if sf.dir == "" {
		fmt.Fprintf(stdout, "  endpoint = %q\n  bucket = %q\n  tls = %t\n", cfg.S3.Endpoint, cfg.S3.BucketName(), cfg.S3.UseTLS())
		fmt.Fprintln(stdout, "  access_key_file, secret_key_file = the kitchen's S3 credentials")
	} else {
		fmt.Fprintf(stdout, "  (a local bucket directory: agents need an S3 endpoint serving %s)\n", sf.dir)
	}
	fmt.Fprintln(stdout, "  [models]")
	fmt.Fprintf(stdout, "  release_public_key_file = %s\n", pub)
	return nil
}
