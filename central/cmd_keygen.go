package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/release"
)

// cmdKeygen makes the release signing key pair:
//
//	budare-central keygen [--private release.key] [--public release.pub]
func cmdKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	privPath := fs.String("private", "release.key", "private key file to create (mode 0600; never overwritten)")
	pubPath := fs.String("public", "", "public key file for the agents' release_public_key_file (default: the private key's name with .pub)")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keygen: unexpected arguments %q\n", fs.Args())
		return command.ErrUsage
	}
	if *pubPath == "" {
		*pubPath = publicKeyPath(*privPath)
	}
	if *pubPath == *privPath {
		return fmt.Errorf("keygen: public and private key files are both %s", *privPath)
	}
	if _, err := release.GenerateKeys(*privPath, *pubPath); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	_, err := fmt.Fprintf(stdout, "private key %s (keep it secret: signing_key_file)\npublic key  %s (agents: release_public_key_file)\n", *privPath, *pubPath)
	return err
}
