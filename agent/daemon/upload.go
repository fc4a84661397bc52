package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/status"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/agent/upload"
	"github.com/budare/budare/internal/objstore"
)

// wireUpload builds the daily-window upload loop (agent/upload) and its
// endpoints. Without an [s3] section nothing is uploaded, and so retention
// deletes nothing.
func (a *Agent) wireUpload() error {
	if a.bucket == nil {
		a.log.Warn("no [s3] endpoint configured: daily windows are not uploaded and no local day is ever deleted")
		return nil
	}
	svc, err := newUploader(a.cfg, a.store, a.bucket, a.log, a.registry, func(err error) { a.health.Set("upload", err) })
	if err != nil {
		return err
	}
	a.health.Set("upload", nil)
	a.http.Handle("GET /upload", jsonHandler(func() (any, error) { return svc.Status() }))
	a.http.Handle("POST /upload", uploadNowHandler(svc)) // `budare-agent upload now`
	bucket, log := a.bucket, a.log
	a.services = append(a.services, runner.Service{Name: "upload", Run: func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := bucket.Check(cctx); err != nil {
			// Not fatal: the loop retries with backoff; say why up front.
			log.Warn("object store check failed; daily windows will be retried", "err", err)
		}
		cancel()
		return svc.Run(ctx)
	}})
	return nil
}

// newUploader is the upload service over st, for the running agent (with
// its metrics and health) and for `upload now` without it (reg and health
// nil).
func newUploader(cfg *config.Config, st *store.Store, bucket objstore.Bucket, log *slog.Logger,
	reg prometheus.Registerer, health func(error)) (*upload.Service, error) {
	ucfg := upload.ConfigFrom(cfg)
	ucfg.Logger = log
	ucfg.ReportHealth = health
	return upload.New(ucfg, st, bucket, reg)
}

// uploadNowHandler serves POST /upload: a pass now, backoff forgotten.
func uploadNowHandler(svc *upload.Service) http.Handler {
	return status.LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		extendWrite(w)
		res, err := svc.UploadNow(r.Context())
		writeJSON(w, UploadResult{Result: res, Error: errText(err)})
	}))
}

// uploadSection is each local day's upload state in the inspect report.
func uploadSection(_ context.Context, st *store.Store) (any, error) {
	return upload.StoreStatus(st, time.Now())
}
