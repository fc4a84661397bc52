package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/command"
	"github.com/budare/budare/internal/release"
)

// cmdReleases lists the releases:
//
//	budare-central releases --config FILE [--json]
func cmdReleases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("releases", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	key := fs.String("key", "", "signing key file to verify signatures with (default: signing_key_file from the config)")
	pubFile := fs.String("public", "", "verify with this public key file instead")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := command.ParseFlags(fs, args); err != nil {
		return err
	}
	cfg, b, _, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if *pubFile != "" {
		if pub, err = release.LoadPublicKey(*pubFile); err != nil {
			return err
		}
	} else if priv, err := signingKey(cfg, *key); err == nil {
		pub = priv.Public().(ed25519.PublicKey)
	}
	infos, err := train.List(ctx, b, pub)
	if err != nil {
		return err
	}
	if *asJSON {
		type line struct {
			Release int64             `json:"release"`
			Current bool              `json:"current"`
			Problem string            `json:"problem,omitempty"`
			Created time.Time         `json:"created"`
			Expires time.Time         `json:"expires"`
			Note    string            `json:"note,omitempty"`
			Models  map[string]string `json:"models,omitempty"` // arepa -> technique@trained
		}
		var out []line
		for _, in := range infos {
			l := line{Release: in.Release, Current: in.Current}
			if in.Err != nil {
				l.Problem = in.Err.Error()
			}
			if m := in.Manifest; m != nil {
				l.Created, l.Expires, l.Note, l.Models = m.Created, m.Expires, m.Note, map[string]string{}
				for a, e := range m.Models {
					l.Models[a] = e.Technique + "@" + strconv.FormatInt(e.Trained, 10)
				}
			}
			out = append(out, l)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tCURRENT\tCREATED\tEXPIRES\tMODELS\tNEW\tNOTE")
	for _, in := range infos {
		cur := ""
		if in.Current {
			cur = "*"
		}
		if in.Err != nil {
			fmt.Fprintf(tw, "%d\t%s\t-\t-\t-\t-\tPROBLEM: %v\n", in.Release, cur, in.Err)
			continue
		}
		m := in.Manifest
		fresh := 0
		for _, e := range m.Models {
			if e.Trained == m.Release {
				fresh++
			}
		}
		note := m.Note
		if pub == nil {
			note = strings.TrimSpace(note + " (signature not checked: no key)")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", in.Release, cur, m.Created.Format(time.RFC3339),
			m.Expires.Format(time.RFC3339), len(m.Models), fresh, note)
	}
	return tw.Flush()
}

// releaseArg reads the release number from --release or the one argument.
func releaseArg(fs *flag.FlagSet, flagVal int64, name string, stderr io.Writer) (int64, error) {
	n := flagVal
	switch {
	case fs.NArg() == 1 && n == 0:
		v, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %q is not a release number\n", name, fs.Arg(0))
			return 0, command.ErrUsage
		}
		n = v
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		return 0, command.ErrUsage
	}
	if n <= 0 {
		fmt.Fprintf(stderr, "usage: budare-central %s --config FILE <release>\n", name)
		return 0, command.ErrUsage
	}
	return n, nil
}

// releaseCommand parses the flags shared by promote and rollback — the
// store, a signing key and a release number given by flag or argument — and
// returns the release number and a publisher signing with the key.
func releaseCommand(ctx context.Context, name, relFlag, relUsage string, args []string, stderr io.Writer) (int64, *train.Publisher, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	rel := fs.Int64(relFlag, 0, relUsage)
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	if err := command.ParseFlags(fs, args); err != nil {
		return 0, nil, err
	}
	n, err := releaseArg(fs, *rel, name, stderr)
	if err != nil {
		return 0, nil, err
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return 0, nil, err
	}
	priv, err := signingKey(cfg, *key)
	if err != nil {
		return 0, nil, err
	}
	return n, &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log}, nil
}
