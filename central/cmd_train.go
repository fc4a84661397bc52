package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/central/jobreport"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/logging"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/progress"
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
		return nil, nil, nil, fmt.Errorf("give --config FILE (or --dir DIR for a local bucket): %w", errUsage)
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

// signingKey loads the private key named by the config, or by --key.
func signingKey(cfg *config.Config, flagPath string) (ed25519.PrivateKey, error) {
	path := flagPath
	if path == "" {
		path = cfg.SigningKeyFile
	}
	if path == "" {
		return nil, errors.New("no signing key: set signing_key_file in the config or give --key FILE (make one with budare-central keygen)")
	}
	return release.LoadPrivateKey(path, os.Getenv("CREDENTIALS_DIRECTORY"))
}

// cmdTrain trains one model per arepa type and publishes a signed release:
//
//	budare-central train --config FILE --types arepa-types.txt --phase 1 [--date D] [--shard i/n] [--textfile DIR]
//
// or, as a staged run, `train rows`, `train fit` and `train assemble`.
// Every single run past flag parsing ends with a report (jobreport): in the
// bucket at reports/train/<date>.json and, with --textfile, as metrics for
// node_exporter, so a failed night raises an alert.
func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 {
		switch args[0] {
		case "rows", "fit":
			return cmdTrainStage(ctx, args[0], args[1:], stdout, stderr)
		case "assemble":
			return cmdTrainAssemble(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	typesFile := fs.String("types", "", "arepa types file, one per line (wins over types in the config)")
	phase := fs.Int("phase", 1, "train on the kitchens of this phase (inventory/kitchens.csv)")
	date := fs.String("date", "", "run date yyyy-mm-dd; the span ends the day before (default: today in the config's timezone)")
	shard := fs.String("shard", "", "train only part i/n of the types and stage the result for assemble (i is 0-based)")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	noCurrent := fs.Bool("no-current", false, "publish the release without making it current (promote it later)")
	now := fs.String("now", "", "release creation time, RFC 3339 (default: the clock; for reproducing a release)")
	decoder := fs.String("decoder", "fast", `window line decoder: "fast", or "json" (encoding/json alone: the old path, for benchmarks)`)
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	textfile := fs.String("textfile", "", "also write the run's outcome as budare_central_last_run_* metrics into this node_exporter textfile-collector `DIR`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *decoder != "fast" && *decoder != "json" {
		fmt.Fprintf(stderr, "train: --decoder %q: want fast or json\n", *decoder)
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "train: unexpected arguments %q (stages: train rows|fit|assemble)\n", fs.Args())
		return errUsage
	}
	clock, err := fixedClock(*now)
	if err != nil {
		return err
	}
	rep := &jobreport.Report{Job: "train", Phase: *phase, Version: version, Started: time.Now()}
	// Only a well-formed --date names the report (else finishReport uses
	// today's), so a bad one never names an object.
	if _, perr := time.Parse(time.DateOnly, *date); perr == nil {
		rep.Date = *date
	}
	if *phase != 1 {
		rep.Part = fmt.Sprintf("phase%d", *phase)
	}
	// The report goes out whatever happens next: to stderr's logger and no
	// bucket until the store is open, then to the run's.
	var b train.Bucket
	log := slog.New(slog.NewTextHandler(stderr, nil))
	defer func() { finishReport(ctx, rep, err, b, *textfile, log) }()
	cfg, ob, olog, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	b, log = ob, olog
	types, err := train.LoadTypes(*typesFile, cfg.Types)
	if err != nil {
		return err
	}
	d, err := runDate(*date, cfg.Loc)
	if err != nil {
		return err
	}
	rep.Date = d
	rep.Warnings = append(rep.Warnings, cfg.Warnings...)
	var sh train.Shard
	if *shard != "" {
		if sh, err = train.ParseShard(*shard); err != nil {
			return err
		}
		rep.Part = strings.TrimPrefix(rep.Part+fmt.Sprintf("-shard%dof%d", sh.I, sh.N), "-")
	}
	priv, keyErr := signingKey(cfg, *key)
	if keyErr != nil && *shard == "" {
		return keyErr // fail before hours of training, not after
	}
	opts := train.Options{Bucket: b, Types: types, Phase: *phase, Date: d, Shard: sh, Train: cfg.Train, Log: log,
		Progress: progress.ForTerminal(stderr, "reading windows", "windows"), ReferenceDecoder: *decoder == "json"}
	if priv != nil {
		opts.Public = priv.Public().(ed25519.PublicKey)
	} else {
		log.Warn("no signing key on this shard worker: the current release's signature is not checked", "err", keyErr)
	}
	start := time.Now()
	out, err := train.Run(ctx, opts)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	log.Info("trained", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "windows", out.Stats.Windows,
		"records", out.Stats.Records, "rows", out.Stats.Rows)
	rep.Windows, rep.MissingWindows, rep.Records, rep.Rows = out.Stats.Windows, out.Stats.Missing, out.Stats.Records, out.Stats.Rows
	for _, r := range out.Results {
		if r.Warning != "" {
			rep.Warnings = append(rep.Warnings, r.Arepa+": "+r.Warning)
		}
	}
	if *shard != "" {
		k, err := train.WriteStaging(ctx, b, out, sh)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "shard %s of %s phase %d staged at %s; run budare-central assemble --date %s --phase %d --shards %d\n",
			sh, d, *phase, k, d, *phase, sh.N)
		return printOutcome(stdout, []*train.Outcome{out}, nil, *asJSON)
	}
	p := &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log, Targets: cfg.Train.Levels,
		NoCurrent: *noCurrent, Now: clock}
	m, err := p.Publish(ctx, []*train.Outcome{out})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	rep.Release, rep.Models = m.Release, len(m.Models)
	return printOutcome(stdout, []*train.Outcome{out}, m, *asJSON)
}

// finishReport writes a job's report to the bucket (when it was opened)
// and to the textfile directory (when given). A report that cannot be
// written is logged, never turned into the job's failure.
func finishReport(ctx context.Context, rep *jobreport.Report, err error, b jobreport.Putter, textfile string, log *slog.Logger) {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return
	}
	rep.Finish(time.Now(), err)
	if rep.Date == "" {
		rep.Date = rep.Finished.Format(time.DateOnly)
	}
	if b != nil {
		// The job's context may be what ended it (SIGTERM): the report still goes out.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if perr := jobreport.Put(pctx, b, rep); perr != nil {
			log.Error("job report not written to the bucket", "key", rep.Key(), "err", perr)
		}
		cancel()
	}
	if textfile != "" {
		if terr := jobreport.WriteTextfile(textfile, rep); terr != nil {
			log.Error("job metrics not written", "err", terr)
		}
	}
}

// fixedClock returns a clock stopped at the RFC 3339 time s, or nil (the
// real clock) when s is empty.
func fixedClock(s string) (func() time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--now %q is not an RFC 3339 time (e.g. 2026-11-26T05:00:00Z)", s)
	}
	return func() time.Time { return t }, nil
}

// cmdTrainStage runs one worker of a staged run's rows or fit stage:
//
//	budare-central train rows --config FILE --types F --run ID --date D --shard i/n
//	budare-central train fit  --config FILE --types F --run ID --date D --shard i/n
func cmdTrainStage(ctx context.Context, stage string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train "+stage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	typesFile := fs.String("types", "", "arepa types file, one per line (wins over types in the config)")
	phase := fs.Int("phase", 1, "train on the kitchens of this phase (inventory/kitchens.csv)")
	date := fs.String("date", "", "run date yyyy-mm-dd, the same for every stage of the run (required)")
	runID := fs.String("run", "", "run id naming the run's staging objects (staging/ID/), the same for every stage (required)")
	shardUsage := "this worker's part i/n of the kitchens (i is 0-based; default 0/1)"
	if stage == "fit" {
		shardUsage = "this worker's part i/n of the arepa types (i is 0-based; default 0/1)"
	}
	shard := fs.String("shard", "0/1", shardUsage)
	key := fs.String("key", "", "signing key file, to check the current release (default: signing_key_file from the config)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *runID == "" || *date == "" {
		fmt.Fprintf(stderr, "usage: budare-central train %s --config FILE --types FILE --run ID --date yyyy-mm-dd --shard i/n\n", stage)
		return errUsage
	}
	if err := train.ValidRun(*runID); err != nil {
		return err
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	types, err := train.LoadTypes(*typesFile, cfg.Types)
	if err != nil {
		return err
	}
	d, err := runDate(*date, cfg.Loc)
	if err != nil {
		return err
	}
	sh, err := train.ParseShard(*shard)
	if err != nil {
		return err
	}
	opts := train.Options{Bucket: b, Types: types, Phase: *phase, Date: d, Shard: sh, Run: *runID, Train: cfg.Train, Log: log}
	if priv, err := signingKey(cfg, *key); err == nil {
		opts.Public = priv.Public().(ed25519.PublicKey)
	} else {
		log.Warn("no signing key on this worker: the current release's signature is not checked", "err", err)
	}
	start := time.Now()
	if stage == "rows" {
		m, err := train.Rows(ctx, opts)
		if err != nil {
			return fmt.Errorf("train rows: %w", err)
		}
		log.Info("rows staged", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "windows", m.Stats.Windows,
			"window_bytes", m.Stats.Bytes, "records", m.Stats.Records, "rows", m.Stats.Rows)
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", " ")
			return enc.Encode(m)
		}
		_, err = fmt.Fprintf(stdout, "rows shard %s of run %s: %d kitchens, %d windows (%d bytes), %d rows staged; then: train fit --run %s --date %s\n",
			sh, *runID, len(m.Kitchens), m.Stats.Windows, m.Stats.Bytes, m.Stats.Rows, *runID, d)
		return err
	}
	out, err := train.Fit(ctx, opts)
	if err != nil {
		return fmt.Errorf("train fit: %w", err)
	}
	log.Info("fit staged", "seconds", math.Round(time.Since(start).Seconds()*10)/10, "types", len(out.Types),
		"row_bytes", out.Stats.Bytes, "rows", out.Stats.Rows)
	return printOutcome(stdout, []*train.Outcome{out}, nil, *asJSON)
}

// cmdTrainAssemble publishes the release of a staged run and removes its
// staging objects:
//
//	budare-central train assemble --config FILE --run ID [--now T]
func cmdTrainAssemble(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train assemble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	runID := fs.String("run", "", "run id of the staged run (required)")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	noCurrent := fs.Bool("no-current", false, "publish the release without making it current")
	now := fs.String("now", "", "release creation time, RFC 3339 (default: the clock; for reproducing a release)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *runID == "" {
		fmt.Fprintln(stderr, "usage: budare-central train assemble --config FILE --run ID [--now T]")
		return errUsage
	}
	clock, err := fixedClock(*now)
	if err != nil {
		return err
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	priv, err := signingKey(cfg, *key)
	if err != nil {
		return err
	}
	p := &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log, Targets: cfg.Train.Levels,
		NoCurrent: *noCurrent, Now: clock}
	m, outs, err := train.Assemble(ctx, b, *runID, p)
	if err != nil {
		return fmt.Errorf("train assemble: %w", err)
	}
	return printOutcome(stdout, outs, m, *asJSON)
}

func runDate(s string, loc *time.Location) (string, error) {
	if s == "" {
		return time.Now().In(loc).Format(time.DateOnly), nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", fmt.Errorf("--date %q is not yyyy-mm-dd", s)
	}
	return s, nil
}

// printOutcome prints one line per arepa type (or JSON).
func printOutcome(w io.Writer, outs []*train.Outcome, m *release.Manifest, asJSON bool) error {
	if asJSON {
		type line struct {
			Arepa     string             `json:"arepa"`
			Status    string             `json:"status"`
			Technique string             `json:"technique,omitempty"`
			Decision  string             `json:"decision,omitempty"`
			Warning   string             `json:"warning,omitempty"`
			Holdout   map[string]float64 `json:"holdout,omitempty"`
		}
		var res struct {
			Release int64         `json:"release,omitempty"`
			Stats   []train.Stats `json:"stats"`
			Types   []line        `json:"types"`
		}
		if m != nil {
			res.Release = m.Release
		}
		for _, o := range outs {
			res.Stats = append(res.Stats, o.Stats)
			for _, r := range o.Results {
				l := line{Arepa: r.Arepa, Status: r.Status, Warning: r.Warning}
				if r.Card != nil {
					l.Technique, l.Decision = r.Card.Chosen, r.Card.Decision
				}
				if m != nil {
					l.Holdout = m.Models[r.Arepa].Holdout
				}
				res.Types = append(res.Types, l)
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AREPA\tSTATUS\tCHOSEN\tDECISION")
	for _, o := range outs {
		for _, r := range o.Results {
			chosen, decision := "-", r.Warning
			if r.Card != nil {
				if r.Card.Chosen != "" {
					chosen = r.Card.Chosen
				}
				decision = r.Card.Decision
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Arepa, r.Status, chosen, decision)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if m != nil {
		_, err := fmt.Fprintf(w, "release %d published with %d models, expires %s\n", m.Release, len(m.Models), m.Expires.Format(time.RFC3339))
		return err
	}
	return nil
}

// cmdAssemble publishes one release from every shard's staged outcome:
//
//	budare-central assemble --config FILE --shards n [--phase 1] [--date D]
func cmdAssemble(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assemble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	phase := fs.Int("phase", 1, "phase the shards trained")
	date := fs.String("date", "", "run date the shards used (default: today in the config's timezone)")
	shards := fs.Int("shards", 0, "number of shards n (every one of 0..n-1 must have finished)")
	key := fs.String("key", "", "signing key file (default: signing_key_file from the config)")
	noCurrent := fs.Bool("no-current", false, "publish the release without making it current")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *shards < 1 {
		fmt.Fprintln(stderr, "usage: budare-central assemble --config FILE --shards n [--phase P] [--date D]")
		return errUsage
	}
	cfg, b, log, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	d, err := runDate(*date, cfg.Loc)
	if err != nil {
		return err
	}
	priv, err := signingKey(cfg, *key)
	if err != nil {
		return err
	}
	outs, err := train.ReadStaging(ctx, b, *phase, d, *shards)
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	p := &train.Publisher{Bucket: b, Key: priv, Expiry: cfg.ReleaseExpiry.Duration, Log: log, Targets: cfg.Train.Levels, NoCurrent: *noCurrent}
	m, err := p.Publish(ctx, outs)
	if err != nil {
		return fmt.Errorf("assemble: %w", err)
	}
	return printOutcome(stdout, outs, m, *asJSON)
}

// cmdKeygen makes the release signing key pair:
//
//	budare-central keygen [--private release.key] [--public release.pub]
func cmdKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	privPath := fs.String("private", "release.key", "private key file to create (mode 0600; never overwritten)")
	pubPath := fs.String("public", "", "public key file for the agents' release_public_key_file (default: the private key's name with .pub)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keygen: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if *pubPath == "" {
		*pubPath = strings.TrimSuffix(*privPath, ".key") + ".pub"
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
	if err := parseFlags(fs, args); err != nil {
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
			return 0, errUsage
		}
		n = v
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		return 0, errUsage
	}
	if n <= 0 {
		fmt.Fprintf(stderr, "usage: budare-central %s --config FILE <release>\n", name)
		return 0, errUsage
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
	if err := parseFlags(fs, args); err != nil {
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

// cmdPromote makes an existing, valid release current:
//
//	budare-central promote --config FILE N
func cmdPromote(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	n, p, err := releaseCommand(ctx, "promote", "release", "release to make current (or give it as the argument)", args, stderr)
	if err != nil {
		return err
	}
	cur, _, err := train.Current(ctx, p.Bucket, nil)
	if err != nil {
		return err
	}
	if cur > n {
		p.Log.Warn("promoting a lower release: agents that accepted a higher one keep it; use rollback to make them go back",
			"current", cur, "release", n)
	}
	if _, err := p.Promote(ctx, n); err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "release %d is current\n", n)
	return err
}

// cmdRollback publishes a new release pointing at an older release's models:
//
//	budare-central rollback --config FILE N
func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	n, p, err := releaseCommand(ctx, "rollback", "to", "release whose models to go back to (or give it as the argument)", args, stderr)
	if err != nil {
		return err
	}
	m, err := p.Rollback(ctx, n)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "release %d published and current: the models of release %d\n", m.Release, n)
	return err
}
