package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/status"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/agent/upload"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
)

// wireModels builds the model sync loop and its endpoints. It returns nil
// when model sync is disabled (no release key): every machine is then
// "unknown". Installing a release signals a.installed, on which the
// morning service decides again the machines a day without any model left
// "unknown".
func (a *Agent) wireModels() (*modelsync.Syncer, error) {
	a.installed = make(chan struct{}, 1)
	var syncer *modelsync.Syncer
	if a.keyErr != nil {
		a.log.Error("model sync disabled", "err", a.keyErr)
	} else {
		var err error
		if syncer, err = a.newSyncer(); err != nil {
			return nil, err
		}
	}
	a.http.Handle("GET /debug/models", jsonHandler(func() (any, error) {
		if syncer == nil {
			return map[string]string{"error": a.keyErr.Error()}, nil
		}
		return syncer.Status(), nil
	}))
	switch {
	case syncer != nil && a.bucket == nil:
		a.http.Handle("POST /sync", syncNowHandler(nil, errors.New("no [s3] endpoint configured")))
	default:
		a.http.Handle("POST /sync", syncNowHandler(syncer, a.keyErr)) // `budare-agent sync now`
	}
	switch {
	case syncer != nil && a.bucket != nil:
		a.services = append(a.services, runner.Service{Name: "modelsync", Run: syncer.Run})
	case syncer != nil:
		a.log.Warn("no [s3] section: models are not synced; deciding with the installed release", "release", releaseOf(syncer)())
	}
	return syncer, nil
}

// newSyncer is the running agent's syncer: polling the bucket (when there
// is one) for the arepa types cooked lately, and writing the agent's
// status file for the fleet page after every poll.
func (a *Agent) newSyncer() (*modelsync.Syncer, error) {
	installed := a.installed
	opt := modelsync.Options{
		Dir: modelsDir(a.cfg), PublicKey: a.pubKey, State: a.store, Interval: a.cfg.Models.PollInterval.Duration,
		Wanted: cookedArepas(a.store, a.cfg.Location), Logger: a.log, Registerer: a.registry,
		OnSwap: func(*modelsync.Release) {
			// Never blocks the sync: one pending signal is enough.
			select {
			case installed <- struct{}{}:
			default:
			}
		},
	}
	if a.bucket != nil {
		opt.Source = a.bucket
		opt.AfterPoll = a.statusWriter(a.bucket).Write
	}
	return modelsync.New(opt)
}

// releaseOf returns the number of syncer's installed release, 0 for none
// (or no syncer).
func releaseOf(syncer *modelsync.Syncer) func() int64 {
	return func() int64 {
		if syncer == nil {
			return 0
		}
		if r := syncer.Current(); r != nil {
			return r.Number
		}
		return 0
	}
}

// cookedArepas returns the arepa types cooked in the last 7 days, computed
// at most once per local day (model sync asks every poll).
func cookedArepas(st *store.Store, loc *time.Location) func(context.Context) ([]string, error) {
	var mu sync.Mutex
	var day string
	var types []string
	return func(context.Context) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		today := record.LocalDay(time.Now(), loc)
		if today == day && len(types) > 0 {
			return types, nil
		}
		t, err := decide.CookedArepas(st, today, loc)
		if err != nil {
			return nil, err
		}
		day, types = today, t
		return types, nil
	}
}

// statusWriter writes status/<kitchen>.json after every model poll, for the
// dashboard's fleet page.
func (a *Agent) statusWriter(bucket objstore.Bucket) *modelsync.StatusWriter {
	cfg, st := a.cfg, a.store
	return &modelsync.StatusWriter{
		Put: func(ctx context.Context, key string, b []byte) error {
			return bucket.Put(ctx, key, b, nil)
		},
		Kitchen: cfg.Kitchen, Version: a.opt.Version,
		Uploads: func() (string, time.Time, int, error) {
			us, err := upload.ReadStatus(st, nil)
			if err != nil {
				return "", time.Time{}, 0, err
			}
			last := ""
			for _, d := range us.Days {
				if d.State == upload.StateUploaded && d.Day > last {
					last = d.Day
				}
			}
			return last, us.LastUploadedAt, us.Pending, nil
		},
		Decisions: func() (string, time.Time) {
			if s := a.morning; s != nil {
				ms := s.Status()
				return ms.LastDay, ms.LastDecidedAt
			}
			return "", time.Time{}
		},
		StoreBytes: func() (int64, error) {
			fi, err := os.Stat(cfg.StorePath())
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		},
	}
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
		writeJSON(w, syncNow(r.Context(), syncer))
	}))
}

// syncNow polls central now and says what came of it.
func syncNow(ctx context.Context, syncer *modelsync.Syncer) SyncResult {
	out, err := syncer.SyncNow(ctx)
	st := syncer.Status()
	return SyncResult{Installed: out.Installed, Release: out.Release, Refused: modelsync.IsRejection(err),
		Error: errText(err), Status: &st}
}

// modelsSection is the model part of the inspect report.
func modelsSection(_ context.Context, st *store.Store) (any, error) {
	s, ok, err := modelsync.ReadStatus(st)
	if err != nil || !ok {
		return map[string]any{"release": 0, "note": "no model sync yet"}, err
	}
	return s, nil
}

// installedRelease loads the installed release for a command run without
// the agent, saying on log why there is none.
func installedRelease(cfg *config.Config, now time.Time, log *slog.Logger) *modelsync.Release {
	var rel *modelsync.Release
	if pub, err := publicKey(cfg); err != nil {
		log.Warn("no models", "err", err)
	} else if rel, err = modelsync.LoadInstalled(modelsDir(cfg), pub); err != nil {
		log.Warn("installed models", "err", err)
	}
	if rel == nil {
		log.Warn("no model release installed: machines are \"unknown\"", "dir", modelsDir(cfg))
	} else if rel.Expired(now) {
		log.Warn("the installed model release has expired; deciding with it until a newer one is accepted", "release", rel.Number)
	}
	return rel
}
