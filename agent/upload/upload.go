// Package upload ships the agent's closed local days to the central object
// store as daily windows (windows/<kitchen>/<yyyy-mm-dd>.ndjson.gz), oldest
// first, retrying with exponential backoff and jitter through outages, and
// deletes a local day only after its upload has been verified and it has
// aged past the retention period.
//
// Every day's state (pending, uploaded at a store version with its checksum,
// failed with the last error) is a document in the agent's bbolt store, so
// it survives restarts. Late records raise a day's version in the store and
// cause a re-upload; when the day was already pruned locally, the new
// window is the union of the remote object and the late records, so an
// upload never replaces a window with less.
package upload

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/backoff"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// Local is the part of the agent's store the uploader uses.
type Local interface {
	StateStore
	RawDay(day string, fn func(machine string, line []byte) error) error
	DayBounds(day string) (from, to time.Time, err error)
	PruneDayIfVersion(day string, version uint64) (deleted int, pruned bool, err error)
	GetState(name, key string, v any) (bool, error)
	PutState(name, key string, v any) error
}

// Remote is the part of the object store the uploader uses
// (every objstore.Bucket implements it).
type Remote interface {
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
	Stat(ctx context.Context, key string) (objstore.Info, error)
}

var (
	_ Local  = (*store.Store)(nil)
	_ Remote = objstore.Bucket(nil)
)

// Config tunes a Service. Zero fields take the defaults noted.
type Config struct {
	Kitchen  string
	Location *time.Location // the kitchen's time zone; default UTC
	// DataDir is where free space is measured; empty skips the check.
	DataDir string
	// RetentionDays: a verified day is deleted locally once it is older
	// than this many days; never fewer than config.MinRetentionDays.
	RetentionDays int
	// MinFreeMiB: below this much free space on DataDir the disk counts as
	// nearly full. Default 256.
	MinFreeMiB int
	// CloseDelay is how long after local midnight a day is uploaded, so
	// records of the day's last seconds still in flight make it into the
	// first upload. Default 10m; NoCloseDelay uploads at midnight. Later
	// records cause a re-upload anyway.
	CloseDelay time.Duration
	// Interval is how often the loop looks for closed days. Default 1m.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the retry delay after a failed
	// upload (doubling, with jitter). Defaults 5s and 15m.
	MinBackoff, MaxBackoff time.Duration
	// MaxWindowBytes bounds a downloaded window (merge, read-back). Default 512 MiB.
	MaxWindowBytes int64

	// ReportHealth, when set, receives Health() after every pass (nil when
	// healthy), e.g. status.Health.Set("upload", err).
	ReportHealth func(error)

	Now       func() time.Time                  // default time.Now
	FreeSpace func(path string) (uint64, error) // default statfs
	Logger    *slog.Logger                      // default slog.Default()
}

// ConfigFrom takes the upload settings from the agent's config.
func ConfigFrom(c *config.Config) Config {
	return Config{
		Kitchen:       c.Kitchen,
		Location:      c.Location,
		DataDir:       c.DataDir,
		RetentionDays: c.Upload.RetentionDays,
		MinFreeMiB:    c.Upload.MinFreeMiB,
	}
}

func (c *Config) defaults() error {
	if c.Kitchen == "" {
		return errors.New("upload: kitchen is empty")
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	c.RetentionDays = max(c.RetentionDays, config.MinRetentionDays)
	if c.MinFreeMiB <= 0 {
		c.MinFreeMiB = 256
	}
	if c.CloseDelay < 0 {
		c.CloseDelay = 0
	} else if c.CloseDelay == 0 {
		c.CloseDelay = defaultCloseDelay
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 5 * time.Second
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(c.MinBackoff, 15*time.Minute)
	}
	if c.MaxWindowBytes <= 0 {
		c.MaxWindowBytes = 512 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.FreeSpace == nil {
		c.FreeSpace = freeSpace
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

const defaultCloseDelay = 10 * time.Minute

// NoCloseDelay, as Config.CloseDelay, uploads a day right at local midnight.
const NoCloseDelay = -1

// Service is the upload loop.
type Service struct {
	cfg    Config
	local  Local
	remote Remote
	m      *metrics
	log    *slog.Logger
	kick   chan struct{}

	passMu sync.Mutex // serialises passes: the loop's and UploadNow's

	mu          sync.Mutex
	failures    int       // consecutive failed attempts, for the backoff
	nextAttempt time.Time // no upload before this (after a failure)
	lastErr     string
	diskFree    uint64
	diskLow     bool
	diskErr     string
	pending     int
	oldest      string
	lastLoud    time.Time
}

// New builds the service. reg may be nil (no metrics registered).
func New(cfg Config, local Local, remote Remote, reg prometheus.Registerer) (*Service, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if local == nil || remote == nil {
		return nil, errors.New("upload: need a local store and a remote object store")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("upload metrics: %w", err)
	}
	return &Service{cfg: cfg, local: local, remote: remote, m: m,
		log: cfg.Logger.With("component", "upload"), kick: make(chan struct{}, 1)}, nil
}

// Run uploads closed days until ctx ends, then returns nil.
func (s *Service) Run(ctx context.Context) error {
	for {
		if err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("upload pass ended with an error", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := s.cfg.Interval
		s.mu.Lock()
		if !s.nextAttempt.IsZero() {
			wait = min(wait, max(s.nextAttempt.Sub(s.cfg.Now()), time.Millisecond))
		}
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// Kick asks the loop for a pass now (e.g. after the store came back).
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// closed reports whether a local day has closed (plus the close delay) at now.
func (s *Service) closed(day string, now time.Time) bool {
	return closedAt(s.local, day, now, s.cfg.CloseDelay)
}

// closedAt reports whether local day has closed, plus delay, at now.
func closedAt(st DayCloser, day string, now time.Time, delay time.Duration) bool {
	_, to, err := st.DayBounds(day)
	return err == nil && !now.Before(to.Add(delay))
}

// dayError is a failure of one day's content (an unreadable remote window),
// not of the store: other days go on.
type dayError struct{ err error }

func (e *dayError) Error() string { return e.err.Error() }
func (e *dayError) Unwrap() error { return e.err }

// RunOnce makes one pass: uploads every closed day that is not uploaded at
// its current version, oldest first, stopping at the first store failure
// (and backing off); then applies retention and refreshes the gauges and
// the disk check. It returns the first upload error.
func (s *Service) RunOnce(ctx context.Context) error {
	_, err := s.pass(ctx, false)
	return err
}

// Result is what one pass uploaded and what failed.
type Result struct {
	Uploaded []string     `json:"uploaded"` // days uploaded (and verified) by the pass
	Failed   []DayFailure `json:"failed,omitempty"`
	Pending  int          `json:"pending"` // closed days still waiting after the pass
}

// DayFailure is one day whose upload failed.
type DayFailure struct {
	Day   string `json:"day"`
	Error string `json:"error"`
}

// UploadNow forgets every backoff (the store's and each day's) and makes a
// pass at once, e.g. for `budare-agent upload now` after the store came
// back: the operator should not wait out minutes of backoff. It returns
// what the pass did; the error is the first upload failure.
func (s *Service) UploadNow(ctx context.Context) (Result, error) {
	s.mu.Lock()
	s.failures, s.nextAttempt = 0, time.Time{}
	s.mu.Unlock()
	return s.pass(ctx, true)
}

// pass is RunOnce; force ignores the backoff of each day.
func (s *Service) pass(ctx context.Context, force bool) (Result, error) {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	var res Result
	now := s.cfg.Now()
	days, err := s.local.Days()
	if err != nil {
		return res, fmt.Errorf("upload: list days: %w", err)
	}
	s.mu.Lock()
	gated := now.Before(s.nextAttempt)
	s.mu.Unlock()
	var firstErr error
	for _, di := range days {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if !s.closed(di.Day, now) {
			continue
		}
		var ds DayState
		if _, err := s.local.GetState(StateName, di.Day, &ds); err != nil {
			return res, fmt.Errorf("upload: %w", err)
		}
		if ds.Status == StateUploaded && ds.Version >= di.Version {
			continue
		}
		if ds.Status == "" {
			ds = DayState{Day: di.Day, Status: StatePending}
			if err := s.local.PutState(StateName, di.Day, &ds); err != nil {
				return res, fmt.Errorf("upload: save state of %s: %w", di.Day, err)
			}
		}
		if gated || (!force && now.Before(ds.RetryAt)) {
			continue
		}
		start := time.Now()
		err := s.uploadDay(ctx, di, &ds, now)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
			res.Failed = append(res.Failed, DayFailure{Day: di.Day, Error: err.Error()})
			var de *dayError
			perDay := errors.As(err, &de)
			delay := s.failed(di.Day, &ds, err, now, perDay)
			s.log.Warn("upload failed; will retry", "day", di.Day, "attempts", ds.Attempts,
				"retry_in", delay.Round(time.Millisecond), "err", err)
			if !perDay {
				// The store itself failed: newer days would fail too, and
				// must not overtake the oldest one.
				gated = true
			}
			continue
		}
		s.mu.Lock()
		s.failures, s.nextAttempt, s.lastErr = 0, time.Time{}, ""
		s.mu.Unlock()
		res.Uploaded = append(res.Uploaded, di.Day)
		s.log.Info("uploaded daily window", "day", di.Day, "key", window.Key(s.cfg.Kitchen, di.Day),
			"records", ds.Records, "bytes", ds.Bytes, "merged", ds.Merged, "verified", ds.Verified,
			"seconds", time.Since(start).Seconds())
	}
	if err := s.retention(now, days); err != nil {
		s.log.Error("retention failed", "err", err)
	}
	s.refresh(now)
	if s.cfg.ReportHealth != nil {
		s.cfg.ReportHealth(s.Health())
	}
	s.mu.Lock()
	res.Pending = s.pending
	s.mu.Unlock()
	return res, firstErr
}

// failed records a failed attempt and returns the retry delay.
func (s *Service) failed(day string, ds *DayState, err error, now time.Time, perDay bool) time.Duration {
	s.m.failures.Inc()
	ds.Status = StateFailed
	ds.Attempts++
	ds.LastError = err.Error()
	ds.LastAttempt = now
	s.mu.Lock()
	s.lastErr = err.Error()
	var d time.Duration
	if perDay {
		// Only this day waits; the store itself works.
		d = s.backoff(ds.Attempts)
		ds.RetryAt = now.Add(d)
	} else {
		s.failures++
		d = s.backoff(s.failures)
		s.nextAttempt = now.Add(d)
	}
	s.mu.Unlock()
	if perr := s.local.PutState(StateName, day, ds); perr != nil {
		s.log.Error("save upload state", "day", day, "err", perr)
	}
	return d
}

// backoff is the n-th retry delay: MinBackoff doubling up to MaxBackoff,
// jittered.
func (s *Service) backoff(n int) time.Duration {
	return backoff.Delay(s.cfg.MinBackoff, s.cfg.MaxBackoff, n)
}

// uploadDay uploads one closed day and verifies it; ds is updated and saved
// on success.
func (s *Service) uploadDay(ctx context.Context, di store.DayInfo, ds *DayState, now time.Time) error {
	key := window.Key(s.cfg.Kitchen, di.Day)
	// The version is read before the content: records committed meanwhile
	// make the stored version newer than this one, so they are uploaded
	// next pass rather than marked uploaded without being in the object.
	version := di.Version
	info, err := s.remote.Stat(ctx, key)
	exists := err == nil
	if err != nil && !errors.Is(err, objstore.ErrNotFound) {
		return err
	}
	remoteSHA := info.MetaValue(window.MetaSHA256)
	// The local store is a superset of the remote window only when this
	// agent wrote that window and has pruned nothing since. Otherwise
	// (pruned day with late records, lost state, a window written by an
	// earlier install) merge, so an upload never replaces a window with less.
	merge := exists && (di.Pruned || ds.SHA256 == "" || !strings.EqualFold(remoteSHA, ds.SHA256))
	var w window.Window
	if merge {
		w, err = s.mergedWindow(ctx, key, di.Day, remoteSHA)
	} else {
		w, err = s.localWindow(di.Day)
	}
	if err != nil {
		return err
	}
	verified := ""
	etag := info.ETag
	if !(exists && strings.EqualFold(remoteSHA, w.SHA256)) {
		if err := s.remote.Put(ctx, key, w.Data, w.Meta(s.cfg.Kitchen, di.Day)); err != nil {
			return err
		}
		s.m.bytes.Add(float64(len(w.Data)))
		// The ETag of what the store now holds, rather than of what the
		// PUT answered, which also covers a rewrite racing this one.
		if info, err = s.remote.Stat(ctx, key); err != nil {
			return fmt.Errorf("stat after put: %w", err)
		}
		etag = info.ETag
	}
	// A single-part upload's ETag is the MD5 of its bytes; anything else
	// (multipart, encryption) is verified by reading the object back.
	if strings.EqualFold(strings.Trim(etag, `"`), w.MD5) {
		verified = "etag"
	} else {
		back, err := s.remote.Get(ctx, key, s.cfg.MaxWindowBytes)
		if err != nil {
			return fmt.Errorf("read back %s: %w", key, err)
		}
		if _, err := window.Decode(back, w.SHA256); err != nil {
			return fmt.Errorf("read back %s: %w", key, err)
		}
		verified = "readback"
	}
	*ds = DayState{
		Day: di.Day, Status: StateUploaded, Version: version,
		SHA256: w.SHA256, ContentSHA256: w.ContentSHA256, Records: w.Records, Bytes: len(w.Data),
		ETag: strings.Trim(etag, `"`), Verified: verified, Merged: merge,
		UploadedAt: now, Uploads: ds.Uploads + 1,
	}
	if err := s.local.PutState(StateName, di.Day, ds); err != nil {
		return fmt.Errorf("save upload state of %s: %w", di.Day, err)
	}
	s.m.objects.Inc()
	if merge {
		s.m.merges.Inc()
	}
	s.m.lastSuccess.Set(float64(now.Unix()))
	return nil
}

// localWindow streams the day's stored lines into a window.
func (s *Service) localWindow(day string) (window.Window, error) {
	enc, err := window.NewEncoder(gzip.BestCompression)
	if err != nil {
		return window.Window{}, err
	}
	if err := s.local.RawDay(day, func(_ string, line []byte) error { return enc.Line(line) }); err != nil {
		return window.Window{}, fmt.Errorf("read day %s: %w", day, err)
	}
	return enc.Finish()
}

// mergedWindow is the union of the remote window and the stored lines.
func (s *Service) mergedWindow(ctx context.Context, key, day, remoteSHA string) (window.Window, error) {
	data, err := s.remote.Get(ctx, key, s.cfg.MaxWindowBytes)
	if err != nil {
		return window.Window{}, err
	}
	remote, err := window.Decode(data, remoteSHA)
	if err != nil {
		return window.Window{}, &dayError{fmt.Errorf("remote %s: %w; not overwriting it", key, err)}
	}
	var local [][]byte
	err = s.local.RawDay(day, func(_ string, line []byte) error {
		local = append(local, append([]byte(nil), line...))
		return nil
	})
	if err != nil {
		return window.Window{}, fmt.Errorf("read day %s: %w", day, err)
	}
	lines, err := window.Merge(remote, local)
	if err != nil {
		return window.Window{}, &dayError{fmt.Errorf("merge %s: %w", key, err)}
	}
	enc, err := window.NewEncoder(gzip.BestCompression)
	if err != nil {
		return window.Window{}, err
	}
	for _, l := range lines {
		if err := enc.Line(l); err != nil {
			return window.Window{}, err
		}
	}
	return enc.Finish()
}

// retention deletes verified days older than RetentionDays. The version
// check and the deletion are one transaction, so a record that arrived
// after the verified upload is never deleted.
func (s *Service) retention(now time.Time, days []store.DayInfo) error {
	cutoff, err := record.AddDays(record.LocalDay(now, s.cfg.Location), -s.cfg.RetentionDays)
	if err != nil {
		return err
	}
	for _, di := range days {
		if di.Day >= cutoff {
			break
		}
		if di.Records == 0 {
			continue
		}
		var ds DayState
		if _, err := s.local.GetState(StateName, di.Day, &ds); err != nil {
			return err
		}
		if ds.Status != StateUploaded || ds.Verified == "" || ds.Version != di.Version {
			continue
		}
		n, pruned, err := s.local.PruneDayIfVersion(di.Day, ds.Version)
		if err != nil {
			return err
		}
		if pruned {
			s.m.pruned.Inc()
			s.log.Info("retention deleted a verified local day", "day", di.Day, "records", n, "retention_days", s.cfg.RetentionDays)
		}
	}
	return nil
}

// refresh recomputes the pending gauges and the disk check, and says loudly
// when the disk is nearly full while days wait for upload.
func (s *Service) refresh(now time.Time) {
	st, err := ReadStatus(s.local, func(day string) bool { return s.closed(day, now) })
	pending, oldest := 0, ""
	if err == nil {
		pending, oldest = st.Pending, st.OldestPending
	}
	s.m.pending.Set(float64(pending))
	if oldest != "" {
		from, _, _ := s.local.DayBounds(oldest)
		s.m.oldestPending.Set(float64(from.Unix()))
		s.m.oldestAge.Set(now.Sub(from).Seconds())
	} else {
		s.m.oldestPending.Set(0)
		s.m.oldestAge.Set(0)
	}
	var free uint64
	var low bool
	var diskErr string
	if s.cfg.DataDir != "" {
		f, err := s.cfg.FreeSpace(s.cfg.DataDir)
		if err != nil {
			diskErr = err.Error()
		} else {
			free = f
			low = f < uint64(s.cfg.MinFreeMiB)<<20
			s.m.diskFree.Set(float64(f))
		}
	}
	if low {
		s.m.diskLow.Set(1)
	} else {
		s.m.diskLow.Set(0)
	}
	s.mu.Lock()
	s.pending, s.oldest, s.diskFree, s.diskLow, s.diskErr = pending, oldest, free, low, diskErr
	loud := low && pending > 0 && now.Sub(s.lastLoud) >= time.Minute
	if loud {
		s.lastLoud = now
	}
	lastErr := s.lastErr
	s.mu.Unlock()
	if loud {
		s.log.Error("DISK NEARLY FULL and days are not uploaded: nothing is deleted until they are; free space or fix the upload",
			"data_dir", s.cfg.DataDir, "free_mib", free>>20, "min_free_mib", s.cfg.MinFreeMiB,
			"pending_days", pending, "oldest_pending", oldest, "last_error", lastErr)
	}
}

// Health returns nil when the uploader is healthy, or the reason it is not:
// the disk is nearly full while closed days wait for upload.
func (s *Service) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.diskLow && s.pending > 0 {
		why := "waiting for upload"
		if s.lastErr != "" {
			why = "uploads failing: " + s.lastErr
		}
		return fmt.Errorf("disk nearly full: %d MiB free on %s (upload.min_free_mib %d) and %d days not uploaded (oldest %s, %s); unuploaded data is never deleted",
			s.diskFree>>20, s.cfg.DataDir, s.cfg.MinFreeMiB, s.pending, s.oldest, why)
	}
	return nil
}

// Status returns every day's upload state and the loop's own state.
func (s *Service) Status() (Status, error) {
	now := s.cfg.Now()
	st, err := ReadStatus(s.local, func(day string) bool { return s.closed(day, now) })
	if err != nil {
		return Status{}, err
	}
	st.Kitchen = s.cfg.Kitchen
	s.mu.Lock()
	defer s.mu.Unlock()
	st.DiskFreeBytes, st.DiskLow, st.DiskError = s.diskFree, s.diskLow, s.diskErr
	st.NextAttempt, st.LastError = s.nextAttempt, s.lastErr
	return st, nil
}

// DayCloser reports whether local day has closed at now; inspect uses it
// with a store opened read-only.
type DayCloser interface {
	DayBounds(day string) (from, to time.Time, err error)
}

// StoreStatus is Status read straight from a store (e.g. opened read-only
// by `budare-agent inspect` while the agent is stopped), with the default
// close delay.
func StoreStatus(st interface {
	StateStore
	DayCloser
}, now time.Time) (Status, error) {
	return ReadStatus(st, func(day string) bool { return closedAt(st, day, now, defaultCloseDelay) })
}
