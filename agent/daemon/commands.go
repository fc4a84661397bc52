package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/agent/upload"
)

// Who acted for `upload now` and `sync now` (the results' Via).
const (
	viaAgent = "the running agent"
	viaStore = "the store (agent not running)"
)

// lockWait bounds the wait for the store's lock when no agent answered: a
// running agent without a listen address holds the lock for good.
const lockWait = 5 * time.Second

// UploadResult is what `upload now` did; without Via it is POST /upload's
// JSON answer.
type UploadResult struct {
	upload.Result
	Error string `json:"error,omitempty"`
	Via   string `json:"-"` // who acted: the running agent, or the store (agent not running)
}

// SyncResult is what `sync now` did; without Via it is POST /sync's JSON
// answer.
type SyncResult struct {
	Installed bool              `json:"installed"`
	Release   int64             `json:"release"`
	Refused   bool              `json:"refused,omitempty"`
	Error     string            `json:"error,omitempty"`
	Status    *modelsync.Status `json:"status,omitempty"`
	Via       string            `json:"-"` // who acted: the running agent, or the store (agent not running)
}

// UploadNow uploads the closed days now, forgetting any retry backoff:
// through the running agent, else from the store itself. The bucket's own
// errors are in the result's Error; err is for failing to get that far.
func UploadNow(ctx context.Context, cfg *config.Config, timeout time.Duration, log *slog.Logger) (UploadResult, error) {
	if !cfg.HasS3 {
		return UploadResult{}, errors.New("the config has no [s3] endpoint: there is nowhere to upload to")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := UploadResult{Via: viaAgent}
	err := askAgent(ctx, cfg, http.MethodPost, "/upload", timeout, &res)
	var down *agentDown
	if !errors.As(err, &down) {
		return res, err
	}
	st, err := openForAction(cfg)
	if err != nil {
		return UploadResult{}, err
	}
	defer st.Close()
	bucket, err := openBucket(cfg)
	if err != nil {
		return UploadResult{}, err
	}
	svc, err := newUploader(cfg, st, bucket, log, nil, nil)
	if err != nil {
		return UploadResult{}, err
	}
	r, err := svc.UploadNow(ctx)
	return UploadResult{Result: r, Error: errText(err), Via: viaStore}, nil
}

// SyncNow fetches the current model release now: through the running
// agent, else into the store itself. Central's own errors are in the
// result's Error; err is for failing to get that far.
func SyncNow(ctx context.Context, cfg *config.Config, timeout time.Duration, log *slog.Logger) (SyncResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := SyncResult{Via: viaAgent}
	err := askAgent(ctx, cfg, http.MethodPost, "/sync", timeout, &res)
	var down *agentDown
	if !errors.As(err, &down) {
		return res, err
	}
	if !cfg.HasS3 {
		return SyncResult{}, errors.New("the config has no [s3] endpoint: there is nowhere to sync models from")
	}
	pub, err := publicKey(cfg)
	if err != nil {
		return SyncResult{}, err
	}
	st, err := openForAction(cfg)
	if err != nil {
		return SyncResult{}, err
	}
	defer st.Close()
	bucket, err := openBucket(cfg)
	if err != nil {
		return SyncResult{}, err
	}
	syncer, err := modelsync.New(modelsync.Options{Dir: modelsDir(cfg), PublicKey: pub, State: st, Source: bucket,
		Wanted: cookedArepas(st, cfg.Location), Logger: log})
	if err != nil {
		return SyncResult{}, err
	}
	res = syncNow(ctx, syncer)
	res.Via = viaStore
	return res, nil
}

// storePath is the agent's store file, which must exist: the commands that
// read it have nothing to do before the agent first ran.
func storePath(cfg *config.Config) (string, error) {
	path := cfg.StorePath()
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no store at %s (has the agent run yet?): %w", path, err)
	}
	return path, nil
}

// openForAction opens the store for writing when no agent runs.
func openForAction(cfg *config.Config) (*store.Store, error) {
	path, err := storePath(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(path, store.Options{Location: cfg.Location, Timeout: lockWait})
	if err != nil {
		return nil, fmt.Errorf("%w (an agent running with an empty listen key cannot be asked; restart it instead)", err)
	}
	return st, nil
}

// Inspect reports what the local store holds: from the running agent
// (which holds the store's exclusive lock), else from the store opened
// read-only. quarantine is how many of the newest quarantined payloads to
// include.
func Inspect(ctx context.Context, cfg *config.Config, quarantine int, timeout time.Duration) (*inspect.Report, error) {
	var rep inspect.Report
	err := askAgent(ctx, cfg, http.MethodGet, fmt.Sprintf("/inspect?quarantine=%d", quarantine), timeout, &rep)
	if err == nil {
		return &rep, nil
	}
	var down *agentDown
	if !errors.As(err, &down) {
		return nil, err
	}
	r, err := inspectStore(ctx, cfg, quarantine, timeout)
	if err != nil {
		return nil, fmt.Errorf("%w (and the agent's endpoint: %v)", err, down.err)
	}
	return r, nil
}

func inspectStore(ctx context.Context, cfg *config.Config, quarantine int, timeout time.Duration) (*inspect.Report, error) {
	path, err := storePath(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(path, store.Options{Location: cfg.Location, ReadOnly: true, Timeout: timeout, Verify: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return inspect.Build(ctx, st, inspect.Options{Kitchen: cfg.Kitchen, Source: "store", Quarantine: quarantine,
		Sections: sections()})
}

// DecideOptions configure Decide.
type DecideOptions struct {
	Day string    // local day, yyyy-mm-dd
	Now time.Time // the decision's time
	// DryRun computes only: nothing is persisted, published or uploaded.
	DryRun bool
	// Timeout bounds the wait for the store's lock, the running agent and
	// the broker.
	Timeout time.Duration
	Version string // the agent's, for its publishing connection
	Log     *slog.Logger
}

// Decide runs the start-of-day decision of o.Day by hand. A dry run asks
// the running agent first (it holds the store's lock); a real one opens the
// store, persists the day, publishes it on a connection of its own (never
// the agent's status) and uploads it, as the agent does at start of day.
func Decide(ctx context.Context, cfg *config.Config, o DecideOptions) (*decide.Day, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	path, err := storePath(cfg)
	if err != nil {
		return nil, err
	}
	if o.DryRun && cfg.Listen != "" {
		var d decide.Day
		err := askAgent(ctx, cfg, http.MethodGet, "/decide?date="+url.QueryEscape(o.Day), o.Timeout, &d)
		if err == nil {
			return &d, nil
		}
		var down *agentDown
		if !errors.As(err, &down) {
			return nil, err
		}
	}
	st, err := store.Open(path, store.Options{Location: cfg.Location, ReadOnly: o.DryRun, Timeout: o.Timeout,
		Verify: true, Log: o.Log})
	if err != nil {
		return nil, fmt.Errorf("%w (a running agent decides by itself at start_of_day; use --dry-run to look)", err)
	}
	defer st.Close()
	rel := installedRelease(cfg, o.Now, o.Log)
	models := func() *modelsync.Release { return rel }
	if o.DryRun {
		return newDecider(cfg, st, models).Decide(ctx, o.Day, o.Now)
	}
	return decideAndPublish(ctx, cfg, st, models, o)
}

// decideAndPublish is Decide for real: the morning service's RunDay over
// the store, on a publishing connection of its own.
func decideAndPublish(ctx context.Context, cfg *config.Config, st *store.Store, models func() *modelsync.Release, o DecideOptions) (*decide.Day, error) {
	pub, err := newPublisher(cfg, "-decide", o.Version, o.Log, nil)
	if err != nil {
		return nil, err
	}
	pub.Start()
	defer pub.Close()
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	if err := pub.WaitConnected(wctx); err != nil {
		o.Log.Warn("actions are persisted and will be published by the agent", "err", err)
	}
	cancel()
	bucket, err := openBucket(cfg)
	if err != nil {
		return nil, err
	}
	d, err := newMorning(cfg, st, models, pub, bucket, o.Log).RunDay(ctx, o.Day, o.Now)
	if d == nil {
		return nil, err
	}
	if err != nil {
		o.Log.Warn("decided and persisted, but not everything went out; the agent retries", "err", err)
	}
	return d, nil
}
