package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/agent/upload"
	"github.com/budare/budare/internal/objstore"
)

// uploadServices builds the daily-window upload loop (agent/upload). Without
// an [s3] section nothing is uploaded, and so retention deletes nothing.
func uploadServices(a *runner.Agent) ([]runner.Service, error) {
	cfg, log := a.Config, a.Log
	if !cfg.HasS3 {
		log.Warn("no [s3] endpoint configured: daily windows are not uploaded and no local day is ever deleted")
		return nil, nil
	}
	remote, err := objstore.Open(cfg.S3, cfg.CredentialsDir)
	if err != nil {
		return nil, err
	}
	ucfg := upload.ConfigFrom(cfg)
	ucfg.Logger = log
	ucfg.ReportHealth = func(err error) { a.Health.Set("upload", err) }
	svc, err := upload.New(ucfg, a.Store, remote, a.Registry)
	if err != nil {
		return nil, err
	}
	a.Health.Set("upload", nil)
	a.HTTP.Handle("GET /upload", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st, err := svc.Status()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	}))
	a.HTTP.Handle("POST /upload", uploadNowHandler(svc)) // `budare-agent upload now`
	return []runner.Service{{Name: "upload", Run: func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := remote.Check(cctx); err != nil {
			// Not fatal: the loop retries with backoff; say why up front.
			log.Warn("object store check failed; daily windows will be retried", "err", err)
		}
		cancel()
		return svc.Run(ctx)
	}}}, nil
}

// uploadSections is each local day's upload state in the inspect report.
func uploadSections(_ *config.Config) []inspect.Section {
	return []inspect.Section{{Name: "upload", Fill: func(_ context.Context, st *store.Store) (any, error) {
		return upload.StoreStatus(st, time.Now())
	}}}
}
