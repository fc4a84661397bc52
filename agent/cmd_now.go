package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/status"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/agent/upload"
	"github.com/budare/budare/internal/objstore"
)

// `budare-agent upload now` and `sync now` ask the running agent first: it
// holds the store's lock, so the command POSTs to its local HTTP endpoint
// (the listen key; status.LoopbackOnly refuses other machines). Without a
// running agent the command opens the store and acts itself.

// lockWait bounds the wait for the store's lock when no agent answered: a
// running agent without a listen address holds the lock for good.
const lockWait = 5 * time.Second

// uploadAnswer is POST /upload's JSON answer.
type uploadAnswer struct {
	upload.Result
	Error string `json:"error,omitempty"`
}

// syncAnswer is POST /sync's JSON answer.
type syncAnswer struct {
	Installed bool              `json:"installed"`
	Release   int64             `json:"release"`
	Refused   bool              `json:"refused,omitempty"`
	Error     string            `json:"error,omitempty"`
	Status    *modelsync.Status `json:"status,omitempty"`
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// extendWrite lets an answer outlast the server's write timeout: a pass
// through an outage's backlog of days takes as long as it takes.
func extendWrite(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
}

func writeAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// uploadNowHandler serves POST /upload: a pass now, backoff forgotten.
func uploadNowHandler(svc *upload.Service) http.Handler {
	return status.LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		extendWrite(w)
		res, err := svc.UploadNow(r.Context())
		writeAnswer(w, uploadAnswer{Result: res, Error: errText(err)})
	}))
}

// syncNowHandler serves POST /sync: a model poll now. syncer is nil when
// model sync is disabled; why says why.
func syncNowHandler(syncer *modelsync.Syncer, why error) http.Handler {
	return status.LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if syncer == nil {
			http.Error(w, "model sync is disabled: "+why.Error(), http.StatusServiceUnavailable)
			return
		}
		extendWrite(w)
		out, err := syncer.SyncNow(r.Context())
		st := syncer.Status()
		writeAnswer(w, syncAnswer{Installed: out.Installed, Release: out.Release, Refused: modelsync.IsRejection(err),
			Error: errText(err), Status: &st})
	}))
}

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
		return "", 0, errUsage
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return "", 0, err
	}
	return *c, *t, nil
}

// openForAction opens the store for writing when no agent runs.
func openForAction(cfg *config.Config) (*store.Store, error) {
	path := cfg.StorePath()
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store at %s (has the agent run yet?): %w", path, err)
	}
	st, err := store.Open(path, store.Options{Location: cfg.Location, Timeout: lockWait})
	if err != nil {
		return nil, fmt.Errorf("%w (an agent running with an empty listen key cannot be asked; restart it instead)", err)
	}
	return st, nil
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
	if !cfg.HasS3 {
		return errors.New("upload: the config has no [s3] endpoint: there is nowhere to upload to")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var ans uploadAnswer
	via := "the running agent"
	err = agentCall(ctx, cfg, http.MethodPost, "/upload", timeout, &ans)
	var down *agentDown
	if errors.As(err, &down) {
		via = "the store (agent not running)"
		ans, err = uploadDirect(ctx, cfg, stderr)
	}
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Fprintf(stdout, "upload via %s: %d day(s) uploaded", via, len(ans.Uploaded))
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

func uploadDirect(ctx context.Context, cfg *config.Config, stderr io.Writer) (uploadAnswer, error) {
	st, err := openForAction(cfg)
	if err != nil {
		return uploadAnswer{}, err
	}
	defer st.Close()
	remote, err := objstore.Open(cfg.S3, cfg.CredentialsDir)
	if err != nil {
		return uploadAnswer{}, err
	}
	ucfg := upload.ConfigFrom(cfg)
	ucfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := upload.New(ucfg, st, remote, nil)
	if err != nil {
		return uploadAnswer{}, err
	}
	res, err := svc.UploadNow(ctx)
	return uploadAnswer{Result: res, Error: errText(err)}, nil // the bucket explains its own errors
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var ans syncAnswer
	via := "the running agent"
	err = agentCall(ctx, cfg, http.MethodPost, "/sync", timeout, &ans)
	var down *agentDown
	if errors.As(err, &down) {
		via = "the store (agent not running)"
		ans, err = syncDirect(ctx, cfg, stderr)
	}
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
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

func syncDirect(ctx context.Context, cfg *config.Config, stderr io.Writer) (syncAnswer, error) {
	if !cfg.HasS3 {
		return syncAnswer{}, errors.New("the config has no [s3] endpoint: there is nowhere to sync models from")
	}
	pub, err := publicKey(cfg)
	if err != nil {
		return syncAnswer{}, err
	}
	st, err := openForAction(cfg)
	if err != nil {
		return syncAnswer{}, err
	}
	defer st.Close()
	remote, err := objstore.Open(cfg.S3, cfg.CredentialsDir)
	if err != nil {
		return syncAnswer{}, err
	}
	syncer, err := modelsync.New(modelsync.Options{
		Dir: modelsDir(cfg), PublicKey: pub, State: st, Source: remote,
		Wanted: cookedArepas(st, cfg.Location),
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return syncAnswer{}, err
	}
	out, err := syncer.SyncNow(ctx)
	s := syncer.Status()
	return syncAnswer{Installed: out.Installed, Release: out.Release, Refused: modelsync.IsRejection(err),
		Error: errText(err), Status: &s}, nil
}
