// Package modelsync keeps the kitchen's models current: it polls the central
// store's models/current, and installs a release only when its manifest's
// ed25519 signature verifies with the configured public key, its number is
// not lower than the highest ever accepted, it has not expired, and every
// model file it installs matches the manifest's SHA-256 and size. The last
// known-good release stays on disk (data_dir/models), so the morning
// decision works with central unreachable.
//
// Which models are fetched: the arepa types the kitchen cooked in the last
// 7 days (asked of the local store through Options.Wanted), or every type in
// the manifest while the kitchen has cooked nothing yet. A type that starts
// being cooked later is fetched at the next poll, even within the same
// release.
package modelsync

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/internal/backoff"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/release"
)

// Limits on what is downloaded before it is verified.
const (
	maxManifest = 4 << 20
	maxCurrent  = 64
)

// Source reads objects from the central store; every objstore.Bucket satisfies it.
// A missing key must be reported with an error wrapping a not-found error;
// any error is treated as "central unreachable" (not a rejection).
type Source interface {
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
}

// StateStore persists small JSON documents; *store.Store satisfies it.
type StateStore interface {
	GetState(name, key string, v any) (bool, error)
	PutState(name, key string, v any) error
}

// State document names in the store.
const (
	StateName   = "models"
	keyAccepted = "accepted"
	keyStatus   = "status"
)

// Options configure a Syncer.
type Options struct {
	Dir       string // data_dir/models
	PublicKey ed25519.PublicKey
	Source    Source     // nil: no central store configured; only the disk is used
	State     StateStore // required
	// Wanted returns the arepa types to install; nil or an empty list means
	// every type in the manifest.
	Wanted   func(ctx context.Context) ([]string, error)
	Interval time.Duration // poll interval; default 15 minutes
	// Jitter is the fraction of Interval by which each wait varies
	// (default 0.2), so a chain's kitchens do not poll in step.
	Jitter float64
	// RetryMin is the first retry delay after a poll that could not reach
	// central; it doubles up to Interval. Default 5s.
	RetryMin time.Duration
	// After returns a channel that delivers once d has passed; default
	// time.After. Tests inject it to observe and drive Run's waits.
	After  func(d time.Duration) <-chan time.Time
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives the Prometheus metrics (nil: not registered).
	Registerer prometheus.Registerer
	// OnSwap is called after a new release is installed.
	OnSwap func(*Release)
	// MaxModelBytes is the largest model file downloaded (default
	// model.MaxJSON, what the decoder accepts). A release naming a larger
	// one is refused before anything of it is read: the whole file is held
	// in memory, and the unit's memory limit would kill the agent.
	MaxModelBytes int64
	// AfterPoll is called by Run after every poll, whatever its outcome,
	// with the syncer's status (e.g. StatusWriter.Write); its error is
	// logged.
	AfterPoll func(ctx context.Context, st Status) error
}

// Rejection is one refused release.
type Rejection struct {
	Release int64     `json:"release"`
	Reason  string    `json:"reason"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

// Status is what the syncer reports in the agent's status and inspect.
type Status struct {
	Release         int64             `json:"release"` // installed, 0 if none
	Arepas          []string          `json:"arepas"`
	Created         time.Time         `json:"created,omitzero"`
	Expires         time.Time         `json:"expires,omitzero"`
	Expired         bool              `json:"expired"`
	HighestAccepted int64             `json:"highest_accepted"`
	LastCheck       time.Time         `json:"last_check,omitzero"`
	LastSuccess     time.Time         `json:"last_success,omitzero"` // last poll that reached central
	LastError       string            `json:"last_error,omitempty"`
	Rejections      map[string]uint64 `json:"rejections"`
	LastRejection   *Rejection        `json:"last_rejection,omitempty"`
}

type accepted struct {
	Release int64     `json:"release"`
	At      time.Time `json:"at"`
}

// Syncer installs releases. Current is safe to call from any goroutine.
type Syncer struct {
	opt     Options
	log     *slog.Logger
	current atomic.Pointer[Release]

	syncMu sync.Mutex // serialises Sync
	mu     sync.Mutex // guards status (never held across network I/O)
	status Status

	rejections *prometheus.CounterVec
	errors     prometheus.Counter
	releaseG   prometheus.Gauge

	// loggedProblem is the last problem logged (under mu); "" when the
	// last poll worked.
	loggedProblem string

	firstOnce sync.Once
	first     chan struct{}
	// manual carries the outcome of a SyncNow to Run, which restarts its
	// wait from it (a success ends the backoff).
	manual chan error
}

// Reasons a release is rejected, as Prometheus label values.
var Reasons = []string{"signature", "rollback", "expired", "hash", "malformed", "too_large", "other"}

// New loads the installed release (if any) and the persisted status.
func New(opt Options) (*Syncer, error) {
	if opt.State == nil {
		return nil, errors.New("modelsync: no state store")
	}
	if len(opt.PublicKey) != ed25519.PublicKeySize {
		return nil, errors.New("modelsync: models.release_public_key_file is not configured; the agent trusts no model without it")
	}
	if opt.MaxModelBytes <= 0 {
		opt.MaxModelBytes = model.MaxJSON
	}
	if opt.Interval <= 0 {
		opt.Interval = 15 * time.Minute
	}
	if opt.Jitter <= 0 || opt.Jitter >= 1 {
		opt.Jitter = 0.2
	}
	if opt.RetryMin <= 0 {
		opt.RetryMin = 5 * time.Second
	}
	opt.RetryMin = min(opt.RetryMin, opt.Interval)
	if opt.After == nil {
		opt.After = time.After
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Syncer{opt: opt, log: opt.Logger.With("component", "modelsync"), first: make(chan struct{}),
		manual: make(chan error, 1)}
	s.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "budare_agent_model_rejections_total",
		Help: "Model releases refused, by reason.",
	}, []string{"reason"})
	s.errors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "budare_agent_model_sync_errors_total",
		Help: "Model polls that could not reach or read the central store.",
	})
	s.releaseG = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "budare_agent_model_release",
		Help: "The installed model release (0: none).",
	})
	for _, r := range Reasons {
		s.rejections.WithLabelValues(r)
	}
	if opt.Registerer != nil {
		for _, c := range []prometheus.Collector{s.rejections, s.errors, s.releaseG} {
			if err := opt.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("modelsync: register metrics: %w", err)
			}
		}
	}
	if _, err := opt.State.GetState(StateName, keyStatus, &s.status); err != nil {
		s.log.Warn("ignoring unreadable model sync status", "err", err)
		s.status = Status{}
	}
	if s.status.Rejections == nil {
		s.status.Rejections = map[string]uint64{}
	}
	r, err := LoadInstalled(opt.Dir, opt.PublicKey)
	if err != nil {
		s.log.Error("installed models", "err", err)
	}
	if r != nil {
		s.current.Store(r)
		s.releaseG.Set(float64(r.Number))
		s.log.Info("installed models loaded", "release", r.Number, "arepas", r.Arepas(), "dir", r.Dir)
	}
	s.refreshStatusLocked()
	// Persist at once so inspect shows the installed release even before
	// (or without) a first poll.
	if err := opt.State.PutState(StateName, keyStatus, &s.status); err != nil {
		s.log.Warn("persist model sync status", "err", err)
	}
	return s, nil
}

// Current returns the installed release, or nil.
func (s *Syncer) Current() *Release { return s.current.Load() }

// Status returns a snapshot of the syncer's status.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshStatusLocked()
	st := s.status
	st.Rejections = make(map[string]uint64, len(s.status.Rejections))
	for k, v := range s.status.Rejections {
		st.Rejections[k] = v
	}
	st.Arepas = slices.Clone(s.status.Arepas)
	return st
}

func (s *Syncer) refreshStatusLocked() {
	r := s.current.Load()
	if r == nil {
		s.status.Release, s.status.Arepas = 0, nil
		s.status.Created, s.status.Expires, s.status.Expired = time.Time{}, time.Time{}, false
		return
	}
	s.status.Release = r.Number
	s.status.Arepas = r.Arepas()
	s.status.Created = r.Manifest.Created
	s.status.Expires = r.Manifest.Expires
	s.status.Expired = r.Expired(s.opt.Now())
	if r.Number > s.status.HighestAccepted {
		s.status.HighestAccepted = r.Number
	}
}

// highestAccepted is the highest release ever accepted: the persisted
// record, or the installed release if the store lost it.
func (s *Syncer) highestAccepted() (int64, error) {
	var a accepted
	if _, err := s.opt.State.GetState(StateName, keyAccepted, &a); err != nil {
		return 0, err
	}
	if r := s.current.Load(); r != nil && r.Number > a.Release {
		a.Release = r.Number
	}
	return a.Release, nil
}

// Outcome says what one Sync did.
type Outcome struct {
	Installed bool  // a new release or new models were installed
	Release   int64 // the installed release after the call
}

// Sync polls central once. A refused release returns an error wrapping the
// release package's reason (release.Reason names it); the installed release
// stays. Unreachable central also returns an error; nothing changes.
func (s *Syncer) Sync(ctx context.Context) (Outcome, error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	now := s.opt.Now()
	cur := s.current.Load()
	out := Outcome{}
	if cur != nil {
		out.Release = cur.Number
	}
	var err error
	if s.opt.Source == nil {
		err = errors.New("no central store configured ([s3] endpoint); using the installed models")
	} else {
		err = s.fetch(ctx, now, cur, &out)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.LastCheck = now
	var rj *rejectErr
	switch {
	case errors.As(err, &rj):
		reason := release.Reason(rj.err)
		s.rejections.WithLabelValues(reason).Inc()
		s.status.Rejections[reason]++
		s.status.LastRejection = &Rejection{Release: rj.release, Reason: reason, Error: rj.err.Error(), At: now}
		keep := int64(0)
		if cur != nil {
			keep = cur.Number
		}
		if s.logProblemLocked(err) {
			s.log.Warn("model release refused", "release", rj.release, "reason", reason, "err", rj.err, "keeping", keep)
		}
	case err != nil:
		if ctx.Err() == nil && s.logProblemLocked(err) {
			s.log.Warn("model sync", "err", err)
		}
		s.errors.Inc()
	default:
		s.status.LastSuccess = now
		if s.loggedProblem != "" {
			s.log.Info("model sync works again", "was", s.loggedProblem)
			s.loggedProblem = ""
		}
	}
	if err != nil {
		s.status.LastError = err.Error()
	} else {
		s.status.LastError = ""
	}
	s.refreshStatusLocked()
	if perr := s.opt.State.PutState(StateName, keyStatus, &s.status); perr != nil {
		s.log.Warn("persist model sync status", "err", perr)
	}
	s.firstOnce.Do(func() { close(s.first) })
	return out, err
}

// logProblemLocked reports whether err is a problem not logged yet: a
// central that stays unreachable, or the same refused release, is logged
// once, not at every poll; a different problem is logged again.
func (s *Syncer) logProblemLocked(err error) bool {
	if err.Error() == s.loggedProblem {
		return false
	}
	s.loggedProblem = err.Error()
	return true
}

// FirstSync is closed once the first Sync has finished, whatever its
// outcome, so a fresh agent's first decision can wait for its models.
func (s *Syncer) FirstSync() <-chan struct{} { return s.first }

// ReadStatus returns the status the syncer last persisted in st (for
// inspect while the agent is stopped).
func ReadStatus(st StateStore) (Status, bool, error) {
	var s Status
	ok, err := st.GetState(StateName, keyStatus, &s)
	return s, ok, err
}

// rejectErr marks an error as a refusal of the release (as opposed to
// central being unreachable).
type rejectErr struct {
	release int64
	err     error
}

func (e *rejectErr) Error() string { return fmt.Sprintf("release %d refused: %v", e.release, e.err) }
func (e *rejectErr) Unwrap() error { return e.err }

// IsRejection reports whether err from Sync is a refused release.
func IsRejection(err error) bool {
	var r *rejectErr
	return errors.As(err, &r)
}

func (s *Syncer) fetch(ctx context.Context, now time.Time, cur *Release, out *Outcome) error {
	src := s.opt.Source
	b, err := src.Get(ctx, release.CurrentKey, maxCurrent)
	if err != nil {
		return fmt.Errorf("read %s: %w", release.CurrentKey, err)
	}
	n, err := release.ParseCurrent(b)
	if err != nil {
		return &rejectErr{0, err}
	}
	highest, err := s.highestAccepted()
	if err != nil {
		return fmt.Errorf("read highest accepted release: %w", err)
	}
	if n < highest {
		return &rejectErr{n, fmt.Errorf("%w: %s names release %d, below %d already accepted", release.ErrRollback, release.CurrentKey, n, highest)}
	}
	wanted, err := s.wanted(ctx)
	if err != nil {
		return fmt.Errorf("arepa types cooked here: %w", err)
	}
	if cur != nil && cur.Number == n && (wanted == nil || covers(cur, wanted)) {
		return nil // nothing new
	}
	var held func(string, release.Entry) []byte
	if cur != nil {
		held = func(a string, e release.Entry) []byte { return reuse(cur, a, e) }
	}
	// Sizes are checked first, from the signed manifest: nothing of a
	// release with an oversized model is downloaded.
	l, err := release.Load(ctx, src, release.Published(n), release.LoadOptions{
		Policy:           release.Policy{PublicKey: s.opt.PublicKey, Now: now, MinRelease: highest, Release: n},
		Arepas:           wanted,
		MaxManifestBytes: maxManifest,
		MaxModelBytes:    s.opt.MaxModelBytes,
		Reuse:            held,
	})
	if err != nil {
		if release.IsRefusal(err) {
			return &rejectErr{n, err}
		}
		return fmt.Errorf("release %d: %w", n, err)
	}
	nr := &Release{Number: n, Manifest: l.Manifest, Models: l.Models, files: l.Files, raw: l.Raw, sig: l.Sig}
	dir, err := install(s.opt.Dir, nr, now)
	if err != nil {
		return fmt.Errorf("install release %d: %w", n, err)
	}
	nr.Dir = dir
	// Persist the no-rollback floor before using the release, so a crash
	// right after cannot be talked into an older one.
	if err := s.opt.State.PutState(StateName, keyAccepted, &accepted{Release: n, At: now}); err != nil {
		return fmt.Errorf("persist accepted release %d: %w", n, err)
	}
	s.current.Store(nr)
	s.releaseG.Set(float64(n))
	cleanup(s.opt.Dir, filepath.Base(dir))
	out.Installed, out.Release = true, n
	s.log.Info("model release installed", "release", n, "arepas", nr.Arepas(), "expires", nr.Manifest.Expires)
	if s.opt.OnSwap != nil {
		s.opt.OnSwap(nr)
	}
	return nil
}

func (s *Syncer) wanted(ctx context.Context) ([]string, error) {
	if s.opt.Wanted == nil {
		return nil, nil
	}
	w, err := s.opt.Wanted(ctx)
	if err != nil || len(w) == 0 {
		return nil, err
	}
	return w, nil
}

// covers reports whether r has every wanted type that r's manifest lists.
func covers(r *Release, wanted []string) bool {
	for _, a := range wanted {
		if _, listed := r.Manifest.Models[a]; listed && r.Models[a] == nil {
			return false
		}
	}
	return true
}

// reuse returns the installed bytes of arepa a if they are the file e names.
func reuse(cur *Release, a string, e release.Entry) []byte {
	if cur == nil {
		return nil
	}
	b := cur.files[a]
	if b == nil || e.Check(b) != nil {
		return nil
	}
	return b
}

// Run polls until ctx ends: once at start, then every Interval with jitter.
// A poll that could not reach central (or read what it found) is retried
// sooner: RetryMin doubling up to Interval, so a kitchen gets its models
// seconds after central comes back rather than an interval later. A refused
// release is not retried early: it stays refused until central publishes
// another.
func (s *Syncer) Run(ctx context.Context) error {
	// Spread restarts, by at most one interval.
	wait := time.Duration(rand.Int64N(int64(min(s.opt.RetryMin, s.opt.Interval))))
	failures := 0
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case err = <-s.manual:
		case <-s.opt.After(wait):
			if _, err = s.Sync(ctx); ctx.Err() != nil {
				return nil
			}
		}
		s.afterPoll(ctx, err != nil)
		if err == nil || IsRejection(err) {
			failures = 0
			wait = s.nextWait()
			continue
		}
		failures++
		wait = s.retryWait(failures)
		// Sync has logged the problem once already (at warn); the retries
		// themselves only at debug, so a long outage does not fill the journal.
		s.log.Debug("model sync failed; retrying", "attempt", failures, "retry_in", wait.Round(time.Second), "err", err)
	}
}

// SyncNow polls central at once (e.g. `budare-agent sync now`), and has a
// running Run loop start its wait afresh from the outcome, ending any
// backoff when central answered.
func (s *Syncer) SyncNow(ctx context.Context) (Outcome, error) {
	out, err := s.Sync(ctx)
	select {
	case s.manual <- err:
	default: // Run has not taken the previous one yet; it is as recent
	}
	return out, err
}

// retryWait is the delay before the n-th retry (n >= 1) of a failed poll:
// RetryMin doubling up to Interval, jittered.
func (s *Syncer) retryWait(n int) time.Duration {
	return backoff.Delay(s.opt.RetryMin, s.opt.Interval, n)
}

// afterPoll calls Options.AfterPoll (the agent's status object), logging
// its error: it must never stop the polling. After a failed poll central is
// likely unreachable, which Sync has reported already: then only at debug.
func (s *Syncer) afterPoll(ctx context.Context, pollFailed bool) {
	if s.opt.AfterPoll == nil || ctx.Err() != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.opt.AfterPoll(pctx, s.Status()); err != nil && ctx.Err() == nil {
		level := slog.LevelWarn
		if pollFailed {
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, "after model poll", "err", err)
	}
}

func (s *Syncer) nextWait() time.Duration {
	iv := float64(s.opt.Interval)
	return time.Duration(iv * (1 - s.opt.Jitter + 2*s.opt.Jitter*rand.Float64()))
}
