// Package morning is the agent's start-of-day service: it runs the decision
// of agent/decide once per local day at start_of_day, persists the day's
// actions in the local store, publishes them retained on MQTT with the
// kitchen summary, clears the actions of machines long unseen, uploads the
// day to the central store, and decides again the machines left "unknown"
// when the first model release arrives. Inspect summarises what it
// persisted, for the inspect report.
package morning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/pubconn"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/decision"
	"github.com/budare/budare/internal/record"
)

// Publisher sends one MQTT message at QoS 1 and returns once the broker
// acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte, retained bool) error
}

// PutFunc writes one object to the central store.
type PutFunc func(ctx context.Context, key string, data []byte, meta map[string]string) error

// StateStore persists JSON documents; *store.Store satisfies it.
type StateStore interface {
	GetState(name, key string, v any) (bool, error)
	PutState(name, key string, v any) error
	DeleteState(name, key string) error
	ListState(name string, fn func(key string, raw []byte) error) error
}

// State document names.
const (
	StateDays    = "decisions"        // <yyyy-mm-dd> -> dayDoc
	StateCleared = "decision-cleared" // <machine> -> clearedDoc
)

// keepDays is how long decided days stay in the store (and in the upload
// queue: a central store unreachable for longer loses the oldest).
const keepDays = 35

// dayDoc is one decided day and what has been done with it, in one
// document so the decision and its bookkeeping commit together.
type dayDoc struct {
	Day *decide.Day `json:"day"`
	// Published lists machines whose action the broker acknowledged.
	Published        map[string]bool `json:"published"`
	SummaryPublished bool            `json:"summary_published"`
	// Refused lists machines whose action the broker would not take (too
	// large for its max_packet_size), with why; they are not retried.
	Refused map[string]string `json:"refused,omitempty"`
	// SummaryRefused says why the summary could not be published at all.
	SummaryRefused string `json:"summary_refused,omitempty"`
	Uploaded       bool   `json:"uploaded"`
	UploadError    string `json:"upload_error,omitempty"`
}

func (d *dayDoc) pendingPublish() int {
	n := 0
	for _, a := range d.Day.Actions {
		if !d.Published[a.Machine] && d.Refused[a.Machine] == "" {
			n++
		}
	}
	if !d.SummaryPublished && d.SummaryRefused == "" {
		n++
	}
	return n
}

type clearedDoc struct {
	Last    time.Time `json:"last"` // the machine's last record when cleared
	Cleared time.Time `json:"cleared"`
}

// Service runs the decision once per local day at StartOfDay and carries
// its results out: retained MQTT actions, the kitchen summary, clearing of
// long-unseen machines, and the upload to actions/<kitchen>/<day>.json.
type Service struct {
	Decider *decide.Decider
	State   StateStore
	// Pub publishes actions; nil means no broker (decisions are still made
	// and persisted, and published once one is set).
	Pub Publisher
	// Put uploads the day's actions; nil means no central store.
	Put PutFunc
	// StartOfDay is the local time of day (offset from midnight) the
	// decision is made at.
	StartOfDay time.Duration
	// UnseenClearDays: machines silent this long get their action cleared.
	UnseenClearDays int
	// MaxPacket is the broker's max_packet_size (default
	// DefaultMaxPacket): the summary is cut to fit it.
	MaxPacket int
	// Health, when set, hears under "decide" of publishes the broker
	// refused (nil again once a day goes out whole).
	Health HealthReporter
	// Installed, when set, signals that a model release was installed
	// (agent/modelsync's OnSwap): Run then decides again the machines that
	// were "unknown" for want of any model (RedecideWithoutModel).
	Installed <-chan struct{}
	Now       func() time.Time
	Logger    *slog.Logger

	mu sync.Mutex
	// drops counts, per topic, publishes in a row during which the broker
	// dropped the connection; summaryMax lowers the summary's size limit after repeated drops (a
	// broker limit below MaxPacket).
	drops      map[string]int
	summaryMax int
	// latest is the most recent decided day (loaded once from the store);
	// clockWarned the latest day the clock was last found behind.
	latest       string
	latestLoaded bool
	clockWarned  string
	status       Status
	metrics      *metrics
	retry        time.Duration
	done         string // the local day fully decided, published and cleared
}

// Status is what the decision service reports.
type Status struct {
	LastDay         string         `json:"last_day,omitempty"`
	LastDecidedAt   time.Time      `json:"last_decided_at,omitzero"`
	Machines        int            `json:"machines"`
	Counts          map[string]int `json:"counts,omitempty"`
	ModelRelease    int64          `json:"model_release"`
	PendingPublish  int            `json:"pending_publish"`
	PendingUploads  []string       `json:"pending_uploads,omitempty"`
	NextDecision    time.Time      `json:"next_decision,omitzero"`
	LastError       string         `json:"last_error,omitempty"`
	LastErrorAt     time.Time      `json:"last_error_at,omitzero"`
	DecisionSeconds float64        `json:"decision_seconds"`
}

// HealthReporter takes a subsystem's verdict (*status.Health satisfies it).
type HealthReporter interface {
	Set(name string, err error)
}

type metrics struct {
	decisions *prometheus.CounterVec
	duration  prometheus.Gauge
	errors    *prometheus.CounterVec
	pending   prometheus.Gauge
	refused   *prometheus.CounterVec
	omitted   prometheus.Gauge
}

// Register adds the service's metrics to reg. Call before Run.
func (s *Service) Register(reg prometheus.Registerer) error {
	m := s.ensureMetrics()
	for _, c := range []prometheus.Collector{m.decisions, m.duration, m.errors, m.pending, m.refused, m.omitted} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("decide: register metrics: %w", err)
		}
	}
	return nil
}

func (s *Service) ensureMetrics() *metrics {
	if s.metrics != nil {
		return s.metrics
	}
	s.metrics = &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "budare_agent_decisions_total", Help: "Machine actions decided, by level.",
		}, []string{"level"}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_decision_seconds", Help: "Duration of the last decision run.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "budare_agent_decision_errors_total", Help: "Decision-service failures, by step (decide, publish, clear, upload).",
		}, []string{"step"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_actions_pending_upload", Help: "Decided days not yet uploaded.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "budare_agent_publish_refused_total",
			Help: "Publishes given up because the broker would not take them (too_large: over mqtt.max_packet_size; dropped: the broker dropped the connection on them twice).",
		}, []string{"reason"}),
		omitted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "budare_agent_summary_omitted_machines", Help: "Machines left out of the last published kitchen summary to fit the broker's packet limit.",
		}),
	}
	for _, r := range []string{"too_large", "dropped"} {
		s.metrics.refused.WithLabelValues(r)
	}
	for _, l := range decide.Levels {
		s.metrics.decisions.WithLabelValues(l)
	}
	for _, st := range []string{"decide", "publish", "clear", "upload"} {
		s.metrics.errors.WithLabelValues(st)
	}
	return s.metrics
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger.With("component", "decide")
	}
	return slog.Default().With("component", "decide")
}

func (s *Service) loc() *time.Location { return s.Decider.Location }

// DecisionTime returns the instant of day's start-of-day decision. Computed
// from the local calendar day, so it is right on 23- and 25-hour DST days;
// a start time that falls in a spring-forward gap moves forward by the gap
// (record.WallTime), and one that happens twice (fall back) is the second.
func (s *Service) DecisionTime(day string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want yyyy-mm-dd", day)
	}
	h := int(s.StartOfDay / time.Hour)
	m := int(s.StartOfDay % time.Hour / time.Minute)
	return record.WallTime(d.Year(), d.Month(), d.Day(), h, m, s.loc()), nil
}

// Status returns a snapshot of the service's status.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	return st
}

func (s *Service) fail(step string, err error) {
	s.ensureMetrics().errors.WithLabelValues(step).Inc()
	s.status.LastError = fmt.Sprintf("%s: %v", step, err)
	s.status.LastErrorAt = s.now()
}

// Tick does whatever is due at now — today's decision once start of day
// has passed, publishing and uploads still pending — and returns when it
// wants to be called next. Tests drive it with an injected clock.
func (s *Service) Tick(ctx context.Context, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureMetrics()
	loc := s.loc()
	today := record.LocalDay(now, loc)
	at, err := s.DecisionTime(today)
	if err != nil {
		s.fail("decide", err)
		return now.Add(time.Minute)
	}
	pending := false
	latest, lerr := s.latestDecided()
	if lerr != nil {
		s.fail("decide", lerr)
		return now.Add(time.Minute)
	}
	if latest > today {
		// The wall clock is behind a day already decided (an NTP step
		// back, a gateway whose RTC lost its time): deciding or publishing
		// an older day would replace newer retained actions on every
		// display. Wait for the clock to come back.
		if s.clockWarned != latest {
			s.clockWarned = latest
			s.log().Warn("the clock is behind the last decided day; deciding nothing until it catches up",
				"now", now.In(loc).Format(time.RFC3339), "last_decided_day", latest)
		}
		s.uploadPending(ctx)
		return now.Add(time.Minute)
	}
	if !now.Before(at) && s.done != today {
		if err := s.ensureDay(ctx, today, now); err != nil {
			pending = true
		} else {
			s.done = today
		}
	}
	yesterday, _ := record.AddDays(today, -1) // today is a well-formed day
	if now.Before(at) && s.done == "" && latest <= yesterday {
		// Before today's decision, yesterday's is what the displays should
		// show: publish what of it is still unpublished (never decide it).
		// Not when today was decided already (the clock went back within
		// the day): its actions are on the displays.
		doc, err := s.loadDay(yesterday)
		switch {
		case err != nil:
			s.fail("publish", err)
			pending = true
		case doc == nil:
			s.done = yesterday // nothing to catch up
		case s.publishDay(ctx, yesterday, doc) != nil:
			pending = true
		default:
			s.done = yesterday
		}
	}
	if s.uploadPending(ctx) {
		pending = true
	}
	next := at
	if !now.Before(at) {
		tomorrow, _ := record.AddDays(today, 1)
		next, _ = s.DecisionTime(tomorrow)
	}
	s.status.NextDecision = next
	if pending {
		if s.retry == 0 {
			s.retry = 15 * time.Second
		} else {
			s.retry = min(2*s.retry, 5*time.Minute)
		}
		if r := now.Add(s.retry); r.Before(next) {
			next = r
		}
	} else {
		s.retry = 0
	}
	return next
}

// ensureDay makes sure day is decided, persisted, published and its unseen
// machines cleared. A decided day is never decided again; only its
// unpublished parts are published.
func (s *Service) ensureDay(ctx context.Context, day string, now time.Time) error {
	doc, err := s.loadDay(day)
	if err != nil {
		s.fail("decide", err)
		return err
	}
	if doc == nil {
		if r := s.Decider.Release(); r != nil && r.Expired(now) {
			s.log().Warn("deciding with an expired model release: central has published nothing newer that this agent accepted",
				"release", r.Number, "expired", r.Manifest.Expires)
		}
		t0 := time.Now()
		d, err := s.Decider.Decide(ctx, day, now)
		if err != nil {
			s.fail("decide", err)
			s.log().Error("decision failed", "day", day, "err", err)
			return err
		}
		secs := time.Since(t0).Seconds()
		if len(d.Actions) == 0 {
			// A new gateway whose machines have not reported yet: deciding
			// "nothing" now would block the day's real decision once they do.
			s.log().Info("no machine seen in the last 7 days yet; deciding when one reports", "day", day)
			return errNothingSeen
		}
		doc = &dayDoc{Day: d, Published: map[string]bool{}}
		if err := s.State.PutState(StateDays, day, doc); err != nil {
			s.fail("decide", err)
			return fmt.Errorf("persist decision of %s: %w", day, err)
		}
		if day > s.latest {
			s.latest = day
		}
		for _, a := range d.Actions {
			s.metrics.decisions.WithLabelValues(a.Level).Inc()
		}
		s.metrics.duration.Set(secs)
		s.status.DecisionSeconds = secs
		s.log().Info("decided", "day", day, "machines", len(d.Actions), "counts", d.Counts,
			"model_release", d.ModelRelease, "seconds", secs)
		s.prune(day)
	}
	s.status.LastDay, s.status.LastDecidedAt = day, doc.Day.DecidedAt
	s.status.Machines, s.status.Counts, s.status.ModelRelease = len(doc.Day.Actions), doc.Day.Counts, doc.Day.ModelRelease
	perr := s.publishDay(ctx, day, doc)
	s.status.PendingPublish = doc.pendingPublish()
	if perr != nil {
		return perr
	}
	return s.clearUnseen(ctx, day, now)
}

// latestDecided returns the most recent decided day ("" for none).
func (s *Service) latestDecided() (string, error) {
	if s.latestLoaded {
		return s.latest, nil
	}
	err := s.State.ListState(StateDays, func(key string, _ []byte) error {
		if key > s.latest {
			s.latest = key
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("list decided days: %w", err)
	}
	s.latestLoaded = true
	return s.latest, nil
}

// errNothingSeen leaves a day undecided because no machine has reported.
var errNothingSeen = errors.New("no machine seen in the last 7 days")

func (s *Service) loadDay(day string) (*dayDoc, error) {
	var doc dayDoc
	ok, err := s.State.GetState(StateDays, day, &doc)
	if err != nil {
		return nil, err
	}
	if !ok || doc.Day == nil {
		return nil, nil
	}
	if doc.Published == nil {
		doc.Published = map[string]bool{}
	}
	return &doc, nil
}

// publishDay publishes the day's unpublished actions and the summary,
// recording progress so a restart does not publish them again. A message
// the broker will not take (over its packet limit, or dropping the
// connection on it twice in a row) is given up and reported instead of
// retried: retrying it would drop the connection, and fire the agent's
// last will, again and again.
func (s *Service) publishDay(ctx context.Context, day string, doc *dayDoc) error {
	if doc.pendingPublish() == 0 {
		s.reportRefused(day, doc)
		return nil
	}
	if s.Pub == nil {
		return errors.New("no MQTT publisher")
	}
	var perr error
	changed := false
	for _, a := range doc.Day.Actions {
		if doc.Published[a.Machine] || doc.Refused[a.Machine] != "" {
			continue
		}
		b, err := action.Encode(&a)
		if err != nil {
			perr = err
			break
		}
		err = s.Pub.Publish(ctx, record.ActionTopic(doc.Day.Kitchen, a.Machine), b, true)
		if why := s.refusal(record.ActionTopic(doc.Day.Kitchen, a.Machine), err); why != "" {
			if doc.Refused == nil {
				doc.Refused = map[string]string{}
			}
			doc.Refused[a.Machine] = why
			changed = true
			s.log().Error("the broker refuses a machine's action; not retrying it", "day", day, "machine", a.Machine,
				"bytes", len(b), "err", err)
			continue
		}
		if err != nil {
			perr = fmt.Errorf("publish action of %s: %w", a.Machine, err)
			break
		}
		doc.Published[a.Machine] = true
		changed = true
	}
	if perr == nil && !doc.SummaryPublished && doc.SummaryRefused == "" {
		topic := record.SummaryTopic(doc.Day.Kitchen)
		for {
			limit := pubconn.MaxPayload(topic, s.maxPacket())
			if s.summaryMax > 0 {
				limit = min(limit, s.summaryMax)
			}
			b, sum, err := action.MarshalSummary(doc.Day, limit)
			if err == nil {
				err = s.Pub.Publish(ctx, topic, b, true)
			}
			if err == nil {
				doc.SummaryPublished, changed = true, true
				s.metrics.omitted.Set(float64(sum.Omitted))
				if sum.Omitted > 0 {
					s.log().Warn("the kitchen summary lists the most severe machines only, to fit the broker's packet limit",
						"day", day, "listed", len(sum.Actions), "omitted", sum.Omitted, "bytes", len(b), "full", sum.Full)
				}
				break
			}
			why := s.refusal(topic, err)
			if why == "" {
				perr = fmt.Errorf("publish summary: %w", err)
				break
			}
			if errors.Is(err, pubconn.ErrDropped) && len(b) >= 8<<10 {
				// The broker's real limit is below mqtt.max_packet_size:
				// try half the size.
				s.summaryMax = len(b) / 2
				s.log().Error("the broker dropped the connection on the kitchen summary twice; halving its size",
					"day", day, "bytes", len(b), "err", err, "hint", "set mqtt.max_packet_size to the broker's max_packet_size")
				continue
			}
			doc.SummaryRefused, changed = why, true
			s.log().Error("the broker refuses the kitchen summary; not retrying it", "day", day, "err", err)
			break
		}
	}
	if changed {
		if err := s.State.PutState(StateDays, day, doc); err != nil && perr == nil {
			perr = fmt.Errorf("persist publish progress: %w", err)
		}
	}
	s.reportRefused(day, doc)
	if perr != nil {
		s.fail("publish", perr)
		s.log().Warn("publishing actions", "day", day, "pending", doc.pendingPublish(), "err", perr)
		return perr
	}
	if n := len(doc.Refused); n > 0 || doc.SummaryRefused != "" {
		s.log().Error("actions published except those the broker refused", "day", day,
			"machines", len(doc.Day.Actions)-n, "refused", n, "summary_refused", doc.SummaryRefused != "")
		return nil
	}
	s.log().Info("actions published", "day", day, "machines", len(doc.Day.Actions))
	return nil
}

func (s *Service) maxPacket() int {
	if s.MaxPacket > 0 {
		return s.MaxPacket
	}
	return pubconn.DefaultMaxPacket
}

// refusal classifies a publish error: "" for a transient one (retry
// later), else why the broker will not take this message. Two drops in a
// row on the same topic count as a refusal; one may be a coincidence.
func (s *Service) refusal(topic string, err error) string {
	if s.drops == nil {
		s.drops = map[string]int{}
	}
	switch {
	case err == nil:
		delete(s.drops, topic)
		return ""
	case errors.Is(err, pubconn.ErrTooLarge):
		s.metrics.refused.WithLabelValues("too_large").Inc()
		s.fail("publish", err)
		return err.Error()
	case errors.Is(err, pubconn.ErrDropped):
		s.drops[topic]++
		if s.drops[topic] < 2 {
			return ""
		}
		delete(s.drops, topic)
		s.metrics.refused.WithLabelValues("dropped").Inc()
		s.fail("publish", err)
		return err.Error() + " (twice; is the broker's max_packet_size below mqtt.max_packet_size?)"
	}
	return ""
}

// reportRefused tells Health whether day went out whole.
func (s *Service) reportRefused(day string, doc *dayDoc) {
	if s.Health == nil {
		return
	}
	if len(doc.Refused) == 0 && doc.SummaryRefused == "" {
		s.Health.Set("decide", nil)
		return
	}
	what := fmt.Sprintf("%d machine action(s)", len(doc.Refused))
	if doc.SummaryRefused != "" {
		what += " and the kitchen summary"
	}
	s.Health.Set("decide", fmt.Errorf("day %s: the broker refuses %s (see the log; budare_agent_publish_refused_total)", day, what))
}

// clearUnseen removes the retained action of machines silent for
// UnseenClearDays, once per silence.
func (s *Service) clearUnseen(ctx context.Context, day string, now time.Time) error {
	days := s.UnseenClearDays
	if days <= 0 {
		days = 14
	}
	horizon, err := record.DayStart(day, -days, s.loc())
	if err != nil {
		return err
	}
	ms, err := s.Decider.Records.Machines()
	if err != nil {
		s.fail("clear", err)
		return err
	}
	for _, m := range ms {
		if !m.Last.Before(horizon) {
			continue
		}
		var c clearedDoc
		ok, err := s.State.GetState(StateCleared, m.Machine, &c)
		if err != nil {
			s.fail("clear", err)
			return err
		}
		if ok && c.Last.Equal(m.Last) {
			continue
		}
		if s.Pub == nil {
			return errors.New("no MQTT publisher")
		}
		// An empty retained message deletes the broker's retained action.
		if err := s.Pub.Publish(ctx, record.ActionTopic(s.Decider.Kitchen, m.Machine), nil, true); err != nil {
			s.fail("clear", err)
			return fmt.Errorf("clear action of %s: %w", m.Machine, err)
		}
		if err := s.State.PutState(StateCleared, m.Machine, &clearedDoc{Last: m.Last, Cleared: now.UTC()}); err != nil {
			s.fail("clear", err)
			return err
		}
		s.log().Info("cleared the action of an unseen machine", "machine", m.Machine, "last_seen", m.Last)
	}
	return nil
}

// uploadPending uploads every decided day not yet uploaded, oldest first.
// It reports whether some remain.
func (s *Service) uploadPending(ctx context.Context) bool {
	var days []string
	err := s.State.ListState(StateDays, func(key string, raw []byte) error {
		var d struct {
			Uploaded bool `json:"uploaded"`
		}
		if json.Unmarshal(raw, &d) == nil && !d.Uploaded {
			days = append(days, key)
		}
		return nil
	})
	if err != nil {
		s.fail("upload", err)
		return true
	}
	sort.Strings(days)
	s.status.PendingUploads = days
	s.metrics.pending.Set(float64(len(days)))
	if len(days) == 0 || s.Put == nil {
		return false // without a central store there is nothing to retry
	}
	for i, day := range days {
		doc, err := s.loadDay(day)
		if err != nil || doc == nil {
			continue
		}
		b, err := action.EncodeDay(doc.Day)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		if err := s.Put(ctx, action.Key(doc.Day.Kitchen, day), b, map[string]string{"sha256": hex.EncodeToString(sum[:])}); err != nil {
			s.fail("upload", err)
			doc.UploadError = err.Error()
			_ = s.State.PutState(StateDays, day, doc)
			s.log().Warn("upload of actions queued", "day", day, "err", err)
			return true
		}
		doc.Uploaded, doc.UploadError = true, ""
		if err := s.State.PutState(StateDays, day, doc); err != nil {
			s.fail("upload", err)
			return true
		}
		s.status.PendingUploads = days[i+1:]
		s.metrics.pending.Set(float64(len(days) - i - 1))
	}
	return false
}

// prune forgets decided days older than keepDays.
func (s *Service) prune(today string) {
	cut, err := record.DayStart(today, -keepDays, s.loc())
	if err != nil {
		return
	}
	old := cut.Format(time.DateOnly)
	var del []string
	_ = s.State.ListState(StateDays, func(key string, raw []byte) error {
		if key < old {
			var d struct {
				Uploaded bool `json:"uploaded"`
			}
			if json.Unmarshal(raw, &d) == nil && !d.Uploaded && s.Put != nil {
				s.log().Warn("forgetting a decided day never uploaded", "day", key, "kept_days", keepDays)
			}
			del = append(del, key)
		}
		return nil
	})
	for _, k := range del {
		_ = s.State.DeleteState(StateDays, k)
	}
}

// RunDay decides day now if it is not decided yet (whatever the time of
// day), publishes what is unpublished and uploads what is pending: what
// `budare-agent decide` does by hand.
func (s *Service) RunDay(ctx context.Context, day string, now time.Time) (*decide.Day, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureMetrics()
	err := s.ensureDay(ctx, day, now)
	s.uploadPending(ctx)
	d, lerr := s.loadDay(day)
	if lerr != nil {
		return nil, lerr
	}
	if d == nil {
		return nil, err
	}
	return d.Day, err
}

// Summary is the decisions part of the agent's inspect report.
type Summary struct {
	LastDay        string         `json:"last_day,omitempty"`
	DecidedAt      time.Time      `json:"decided_at,omitzero"`
	ModelRelease   int64          `json:"model_release"`
	Machines       int            `json:"machines"`
	Counts         map[string]int `json:"counts,omitempty"`
	PendingPublish int            `json:"pending_publish"`
	PendingUploads []string       `json:"pending_uploads,omitempty"`
	UploadError    string         `json:"upload_error,omitempty"`
}

// Inspect summarises the persisted decisions (read-only).
func Inspect(st StateStore) (Summary, error) {
	var sum Summary
	var last *dayDoc
	err := st.ListState(StateDays, func(key string, raw []byte) error {
		var d dayDoc
		if err := json.Unmarshal(raw, &d); err != nil || d.Day == nil {
			return nil
		}
		if !d.Uploaded {
			sum.PendingUploads = append(sum.PendingUploads, key)
			if d.UploadError != "" {
				sum.UploadError = d.UploadError
			}
		}
		last = &d
		return nil
	})
	if err != nil || last == nil {
		return sum, err
	}
	if last.Published == nil {
		last.Published = map[string]bool{}
	}
	sum.LastDay, sum.DecidedAt, sum.ModelRelease = last.Day.Date, last.Day.DecidedAt, last.Day.ModelRelease
	sum.Machines, sum.Counts, sum.PendingPublish = len(last.Day.Actions), last.Day.Counts, last.pendingPublish()
	return sum, nil
}

// Stored returns the persisted decision of day, or nil.
func (s *Service) Stored(day string) (*decide.Day, error) {
	doc, err := s.loadDay(day)
	if err != nil || doc == nil {
		return nil, err
	}
	return doc.Day, nil
}

// Run calls Tick at the times it asks for, until ctx ends. It wakes at
// least once a minute so a wall-clock jump (NTP, suspend) is noticed.
func (s *Service) Run(ctx context.Context) error {
	for {
		next := s.Tick(ctx, s.now())
		for {
			d := next.Sub(s.now())
			if d <= 0 {
				break
			}
			select {
			case <-ctx.Done():
				return nil
			case <-s.Installed:
				if _, err := s.RedecideWithoutModel(ctx, s.now()); err != nil {
					s.log().Warn("deciding again with the new model release", "err", err)
				}
				next = s.now() // Tick at once: it retries what did not go out
			case <-time.After(min(d, time.Minute)):
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Kick asks a running service to look again now (e.g. after a new model
// release or the broker reconnecting); it is a no-op if nothing is due.
func (s *Service) Kick(ctx context.Context) { s.Tick(ctx, s.now()) }

var _ StateStore = (*store.Store)(nil)

// RedecideWithoutModel decides again, with the installed release, the
// machines of the day on display (today's decision once made, else
// yesterday's) that were "unknown" because no release was installed at all:
// a fresh agent that could not reach central at its first start of day
// would otherwise show "unknown" everywhere until the next morning. Only
// those machines change; once decided with a release a machine is not
// decided again that day. It returns how many machines were decided again.
func (s *Service) RedecideWithoutModel(ctx context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureMetrics()
	rel := s.Decider.Release()
	if rel == nil {
		return 0, nil
	}
	loc := s.loc()
	day := record.LocalDay(now, loc)
	at, err := s.DecisionTime(day)
	if err != nil {
		return 0, err
	}
	if now.Before(at) {
		day, _ = record.AddDays(day, -1)
	}
	doc, err := s.loadDay(day)
	if err != nil || doc == nil {
		return 0, err
	}
	idx := map[string]int{}
	var names []string
	for i, a := range doc.Day.Actions {
		if a.Level == decide.LevelUnknown && a.ModelRelease == 0 && slices.Contains(a.Reasons, decision.ReasonNoRelease) {
			idx[a.Machine] = i
			names = append(names, a.Machine)
		}
	}
	if len(names) == 0 {
		return 0, nil
	}
	acts, err := s.Decider.DecideMachines(ctx, day, now, names)
	if err != nil {
		s.fail("decide", err)
		return 0, fmt.Errorf("decide %s again with release %d: %w", day, rel.Number, err)
	}
	for _, a := range acts {
		doc.Day.Actions[idx[a.Machine]] = a
		delete(doc.Published, a.Machine)
		delete(doc.Refused, a.Machine)
		s.metrics.decisions.WithLabelValues(a.Level).Inc()
	}
	doc.Day.Counts = decide.CountLevels(doc.Day.Actions)
	doc.Day.ModelRelease = rel.Number
	doc.SummaryPublished, doc.SummaryRefused = false, ""
	doc.Uploaded, doc.UploadError = false, ""
	if err := s.State.PutState(StateDays, day, doc); err != nil {
		s.fail("decide", err)
		return 0, fmt.Errorf("persist decision of %s: %w", day, err)
	}
	s.log().Info("decided again with the first model release the machines that had no model", "day", day,
		"machines", len(acts), "release", rel.Number, "counts", doc.Day.Counts)
	if s.status.LastDay == day {
		s.status.Counts, s.status.ModelRelease = doc.Day.Counts, doc.Day.ModelRelease
	}
	if err := s.publishDay(ctx, day, doc); err != nil {
		s.done = "" // Tick publishes the rest with its retries
	}
	s.status.PendingPublish = doc.pendingPublish()
	s.uploadPending(ctx)
	return len(acts), nil
}
