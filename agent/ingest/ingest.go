// Package ingest takes the machines' cooking records from the kitchen's MQTT
// broker into the local store without losing or doubling one.
//
// Delivery: the agent holds a persistent session (clean session off, fixed
// client id) subscribed at QoS 1, and acknowledges a message to the broker
// only after the store transaction holding it has committed. A crash at any
// moment therefore leaves every unacknowledged message in the broker's
// session, to be redelivered; the store recognises redeliveries by
// (machine, ts, seq) and counts them as duplicates.
//
// Flow: the MQTT client's router goroutine calls Ingester.Handle for every
// message, in arrival order, and Handle only queues it: the client hands
// each message through several goroutines, and every microsecond spent in
// that chain is one the whole ingest waits for. Run, one goroutine, takes
// the queued messages, decodes and validates them, groups them into a batch
// (up to BatchMax messages, waiting for more at most BatchWait after the
// oldest arrived), commits it in one transaction (one fsync) and then
// acknowledges every message of the batch. Bad input is committed to
// the quarantine in the same transaction and acknowledged too, so it never
// blocks the session. When a commit fails the same batch is retried with
// backoff and nothing is acknowledged; the queue fills, Handle blocks, and
// the broker stops sending once max_inflight_messages are unacknowledged.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// Message is one MQTT message as the ingester needs it; paho's mqtt.Message
// satisfies it.
type Message interface {
	Topic() string
	Payload() []byte
	// Ack acknowledges the message to the broker (PUBACK).
	Ack()
}

// Committer stores a batch durably: when Commit returns nil, the batch
// survives a crash. *store.Store implements it.
type Committer interface {
	Commit(*store.Batch) (store.Result, error)
}

// mappedReleaser is implemented by *store.Store: it drops the store's
// memory-mapped pages from the agent's resident set (see
// store.ReleaseMapped). Optional for other Committers.
type mappedReleaser interface {
	ReleaseMapped() error
}

// releaseEvery is how often, while commits happen, the store's mapped pages
// are released: often enough that a burst cannot grow the resident set by
// more than a few MiB.
const releaseEvery = 100 * time.Millisecond

// HealthReporter receives the ingester's health verdict (status.Health).
type HealthReporter interface {
	Set(name string, err error)
}

// HealthName is the subsystem name the ingester reports its health under.
const HealthName = "ingest"

// Options configure an Ingester. Zero values take the defaults noted.
type Options struct {
	Kitchen   string        // required: topics are budare/<Kitchen>/<machine>/<cook|event>
	BatchMax  int           // messages per commit; default 1000
	BatchWait time.Duration // longest the batcher waits for more after a batch's oldest message; default 5ms
	QueueLen  int           // messages waiting for the batcher; default 2*BatchMax

	MinBackoff time.Duration // first wait after a failed commit; default 100ms
	MaxBackoff time.Duration // longest wait between retries; default 30s
	LogEvery   time.Duration // repeated problems are logged at most this often; default 1m
	// StopTimeout bounds the final commit at shutdown; default 5s.
	StopTimeout time.Duration

	Now     func() time.Time // default time.Now
	Log     *slog.Logger     // default slog.Default()
	Health  HealthReporter   // optional
	Metrics *Metrics         // optional
}

func (o *Options) defaults() {
	if o.BatchMax <= 0 {
		o.BatchMax = 1000
	}
	if o.BatchWait <= 0 {
		o.BatchWait = 5 * time.Millisecond
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 2 * o.BatchMax
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.LogEvery <= 0 {
		o.LogEvery = time.Minute
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics, _ = NewMetrics(nil)
	}
}

// item is one received message, decoded.
type item struct {
	msg  Message
	line store.Line
	bad  bool
	q    store.Quarantined
}

// Ingester batches decoded messages into store commits and acknowledges them
// after each commit.
type Ingester struct {
	c   Committer
	opt Options

	// Messages waiting for the batcher. A mutex-guarded slice rather than a
	// channel: the batcher takes everything waiting in one go instead of
	// waking up once per message.
	mu      sync.Mutex
	space   *sync.Cond // signalled when pending shrinks or on stop
	pending []Message
	since   time.Time // when the oldest pending message arrived (at most)
	stopped bool
	notify  chan struct{} // capacity 1: pending became non-empty

	beat        atomic.Int64 // unix ns of the batching loop's last turn
	commitStart atomic.Int64 // unix ns the running store commit started; 0 when none runs

	// Committed batches on their way to be acknowledged, and emptied
	// slices on their way back.
	ackq chan []Message
	free chan []Message

	// Owned by Run's goroutine: messages being decoded, the block encoded
	// lines are cut from, the batch being filled, and the other batch
	// (committing, or free).
	taken      []Message
	arena      []byte
	cur, spare *batchBuf

	// Owned by whichever goroutine commits (one at a time).
	failingSince time.Time
	failures     int
	lastFailLog  time.Time
	quar         rateLog
	lastRelease  time.Time
}

// New returns an Ingester committing to c.
func New(c Committer, opt Options) *Ingester {
	opt.defaults()
	g := &Ingester{c: c, opt: opt, notify: make(chan struct{}, 1), pending: make([]Message, 0, opt.QueueLen)}
	g.space = sync.NewCond(&g.mu)
	g.cur, g.spare = newBatchBuf(opt.BatchMax), newBatchBuf(opt.BatchMax)
	g.free = make(chan []Message, 2)
	g.quar = rateLog{every: opt.LogEvery, counts: map[string]int{}}
	g.beat.Store(time.Now().UnixNano())
	return g
}

// Handle queues m for the next batch. It blocks while the queue is full (a
// commit is slow or failing), which holds back the broker. After shutdown
// has begun it returns at once, leaving m unacknowledged so the broker
// redelivers it to the next session. Safe for concurrent use; paho calls it
// from its router goroutine.
func (g *Ingester) Handle(m Message) {
	g.opt.Metrics.received.Inc()
	g.mu.Lock()
	for len(g.pending) >= g.opt.QueueLen && !g.stopped {
		g.space.Wait()
	}
	if g.stopped {
		g.mu.Unlock()
		return
	}
	g.pending = append(g.pending, m)
	first := len(g.pending) == 1
	if first {
		g.since = time.Now()
	}
	g.mu.Unlock()
	if first {
		select {
		case g.notify <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// take decodes up to n waiting messages into the batch. It returns how many,
// and when the oldest of them arrived.
func (g *Ingester) take(n int) (int, time.Time) {
	g.mu.Lock()
	k := min(n, len(g.pending))
	// Any messages left behind arrived after since: keeping it for them
	// only makes their deadline earlier, never later.
	since := g.since
	if k > 0 {
		g.taken = append(g.taken[:0], g.pending[:k]...)
		rest := copy(g.pending, g.pending[k:])
		clear(g.pending[rest:])
		g.pending = g.pending[:rest]
		g.space.Broadcast()
	}
	g.mu.Unlock()
	for _, m := range g.taken[:k] {
		g.add(g.decode(m))
	}
	clear(g.taken)
	return k, since
}

// queued is how many messages wait for the batcher.
func (g *Ingester) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}

// arenaBlock is the size of the blocks decoded lines are cut from.
const arenaBlock = 64 << 10

// quarantineKeep bounds the raw bytes kept of an oversized payload.
const quarantineKeep = 4 << 10

func (g *Ingester) decode(m Message) item {
	topic, payload := m.Topic(), m.Payload()
	now := g.opt.Now()
	machine, typ, err := record.ParseTopic(g.opt.Kitchen, topic)
	if err == nil {
		// Lines are cut from blocks of arenaBlock bytes rather than
		// allocated one by one; a block is freed once the lines cut from
		// it are committed and dropped.
		if cap(g.arena)-len(g.arena) < len(payload)+len(machine)+128 {
			g.arena = make([]byte, 0, max(arenaBlock, 2*len(payload)))
		}
		var l store.Line
		var ok bool
		if l, g.arena, ok = fastLine(machine, typ, payload, now, g.arena); ok {
			return item{msg: m, line: l}
		}
		var rec record.Record
		if rec, err = record.Decode(machine, typ, payload, now); err == nil {
			g.arena, l = store.AppendRecord(g.arena, &rec)
			return item{msg: m, line: l}
		}
	}
	reason := record.ReasonOf(err)
	if reason == "" {
		reason = record.ReasonBadValue
	}
	keep := payload
	if len(keep) > record.MaxPayload {
		keep = keep[:quarantineKeep]
	}
	return item{msg: m, bad: true, q: store.Quarantined{
		Topic: topic, Reason: string(reason), Detail: err.Error(), Received: now.UTC(), Payload: bytes.Clone(keep)}}
}

// Alive reports whether the batching loop turned within the last d and no
// store commit has been running for d or longer: false means it is stuck
// (e.g. a commit hanging on a dead disk). A loop that is retrying a failing
// commit is alive.
func (g *Ingester) Alive(d time.Duration) bool {
	if t := g.commitStart.Load(); t != 0 && time.Since(time.Unix(0, t)) >= d {
		return false
	}
	return time.Since(time.Unix(0, g.beat.Load())) < d
}

func (g *Ingester) tick() { g.beat.Store(time.Now().UnixNano()) }

// stop makes Handle return at once, leaving later messages unacknowledged.
func (g *Ingester) stop() {
	g.mu.Lock()
	g.stopped = true
	g.space.Broadcast()
	g.mu.Unlock()
}

// batchBuf is one batch: what one transaction commits, and the messages to
// acknowledge once it has.
type batchBuf struct {
	store.Batch
	acks []Message
}

func newBatchBuf(n int) *batchBuf {
	return &batchBuf{Batch: store.Batch{Lines: make([]store.Line, 0, n)}, acks: make([]Message, 0, n)}
}

func (g *Ingester) add(it item) {
	b := g.cur
	if it.bad {
		b.Quarantine = append(b.Quarantine, it.q)
	} else {
		b.Lines = append(b.Lines, it.line)
	}
	b.acks = append(b.acks, it.msg)
}

// Run batches, commits and acknowledges until ctx ends. Then it commits and
// acknowledges what it has already received and returns nil; messages that
// arrive after that are left for the broker to redeliver. It returns an
// error only when the store cannot commit at shutdown (nothing is lost: the
// uncommitted messages were not acknowledged).
//
// Two batches take turns: while one commits (mostly waiting for fsync) on
// a goroutine of its own, Run decodes the next into the other.
func (g *Ingester) Run(ctx context.Context) error {
	defer g.stop()
	// Acknowledging is slow: paho hands every PUBACK through several
	// goroutines, a few microseconds each. A goroutine of its own does it
	// while the next batches are decoded and committed.
	g.ackq = make(chan []Message, 1)
	done := make(chan struct{})
	go g.acker(done)
	defer func() {
		close(g.ackq)
		<-done
	}()
	if g.opt.Health != nil {
		g.opt.Health.Set(HealthName, nil)
	}
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	// The running commit's end; nil when none runs. A commit only fails
	// once ctx has ended; its batch, g.spare, is then left intact for
	// shutdown to retry.
	var committing chan struct{}
	finish := func() {
		if committing != nil {
			<-committing
			committing = nil
		}
	}
	for {
		g.tick()
		if ctx.Err() != nil {
			finish()
			return g.shutdown()
		}
		n, since := g.take(g.opt.BatchMax)
		if n == 0 {
			select {
			case <-g.notify:
			case <-committing:
				committing = nil
			case <-idle.C:
				if committing == nil { // the commit goroutine owns the log meanwhile
					g.quar.flush(g.opt.Log, false)
				}
			case <-ctx.Done():
			}
			continue
		}
		// Messages that queued up during the last commit have waited long
		// enough: commit them with whatever else is already waiting.
		wait.Reset(time.Until(since.Add(g.opt.BatchWait)))
	fill:
		for len(g.cur.acks) < g.opt.BatchMax {
			if n, _ := g.take(g.opt.BatchMax - len(g.cur.acks)); n > 0 {
				continue
			}
			select {
			case <-g.notify:
			case <-wait.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		wait.Stop()
		finish()
		if ctx.Err() != nil {
			continue // shutdown commits it, with StopTimeout to retry in
		}
		b := g.cur
		g.cur, g.spare = g.spare, g.cur
		committing = make(chan struct{})
		go func(done chan<- struct{}) {
			defer close(done)
			_ = g.commit(ctx, b)
		}(committing)
	}
}

// shutdown commits what the router has already handed over, and a batch
// whose commit gave up when Run's context ended.
func (g *Ingester) shutdown() error {
	g.stop()
	g.take(int(^uint(0) >> 1))
	ctx, cancel := context.WithTimeout(context.Background(), g.opt.StopTimeout)
	defer cancel()
	n := len(g.spare.acks) + len(g.cur.acks)
	err := g.commit(ctx, g.spare)
	if err == nil {
		err = g.commit(ctx, g.cur)
	}
	g.quar.flush(g.opt.Log, true)
	// A committed batch's acks are handed over and emptied: what is left
	// is exactly what was not committed. The log and the error say the
	// same count.
	left := len(g.spare.acks) + len(g.cur.acks)
	if err != nil {
		g.opt.Log.Error("ingest stopping with messages not committed; the broker keeps them and redelivers them",
			"messages", left, "err", err)
		return fmt.Errorf("ingest: %d messages not committed at shutdown (the broker redelivers them): %w", left, err)
	}
	if n > 0 {
		g.opt.Log.Info("ingest stopped: last batch committed and acknowledged", "messages", n)
	}
	return nil
}

// commit stores b, retrying with backoff while the store fails, then
// acknowledges it. It returns an error only when ctx ends before a commit
// succeeded; the batch is then left unacknowledged.
func (g *Ingester) commit(ctx context.Context, b *batchBuf) error {
	if len(b.acks) == 0 {
		return nil
	}
	backoff := g.opt.MinBackoff
	for {
		start := time.Now()
		g.commitStart.Store(start.UnixNano())
		res, err := g.c.Commit(&b.Batch)
		g.commitStart.Store(0)
		if err == nil {
			g.committed(b, res, time.Since(start))
			g.release()
			return nil
		}
		g.failed(len(b.acks), err)
		if !g.sleep(ctx, backoff) {
			return fmt.Errorf("store commit: %w", err)
		}
		backoff = min(2*backoff, g.opt.MaxBackoff)
	}
}

func (g *Ingester) release() {
	r, ok := g.c.(mappedReleaser)
	if !ok || time.Since(g.lastRelease) < releaseEvery {
		return
	}
	g.lastRelease = time.Now()
	if err := r.ReleaseMapped(); err != nil {
		g.opt.Log.Debug("release store mapping", "err", err)
	}
}

// sleep waits d, turning the loop's heartbeat every second; false if ctx ended.
func (g *Ingester) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	beat := time.NewTicker(time.Second)
	defer beat.Stop()
	for {
		g.tick()
		select {
		case <-t.C:
			return true
		case <-beat.C:
		case <-ctx.Done():
			return false
		}
	}
}

func (g *Ingester) failed(waiting int, err error) {
	g.opt.Metrics.commitErrors.Inc()
	now := time.Now()
	g.failures++
	if g.failingSince.IsZero() {
		g.failingSince = now
	}
	if g.opt.Health != nil {
		g.opt.Health.Set(HealthName, fmt.Errorf("store commit failing, %d messages waiting unacknowledged: %w", waiting, err))
	}
	// Once a minute, not once a message: a full disk fails every retry.
	if g.lastFailLog.IsZero() || now.Sub(g.lastFailLog) >= g.opt.LogEvery {
		g.lastFailLog = now
		g.opt.Log.Error("ingest: store commit failed; batch not acknowledged, retrying with backoff",
			"messages", waiting, "failed_attempts", g.failures, "failing_for", now.Sub(g.failingSince).Round(time.Second).String(), "err", err)
	}
}

func (g *Ingester) committed(b *batchBuf, res store.Result, took time.Duration) {
	acked := len(b.acks)
	if g.ackq != nil {
		g.ackq <- b.acks
		select {
		case b.acks = <-g.free:
		default:
			b.acks = make([]Message, 0, g.opt.BatchMax)
		}
	} else {
		for _, m := range b.acks {
			m.Ack()
		}
		clear(b.acks)
		b.acks = b.acks[:0]
	}
	m := g.opt.Metrics
	m.commits.Inc()
	m.commitSeconds.Observe(took.Seconds())
	m.batchSize.Observe(float64(acked))
	m.stored.Add(float64(res.Added))
	m.duplicates.Add(float64(res.Duplicates))
	m.lastCommit.SetToCurrentTime()
	for i := range b.Quarantine {
		q := &b.Quarantine[i]
		m.rejected.WithLabelValues(q.Reason).Inc()
		g.quar.add(g.opt.Log, q)
	}
	if !g.failingSince.IsZero() {
		g.opt.Log.Info("ingest: store commits work again", "failed_attempts", g.failures,
			"failed_for", time.Since(g.failingSince).Round(time.Millisecond).String())
		g.failingSince, g.failures, g.lastFailLog = time.Time{}, 0, time.Time{}
		if g.opt.Health != nil {
			g.opt.Health.Set(HealthName, nil)
		}
	}
	// Drop references so decoded records can be collected, keep capacity.
	clear(b.Lines)
	clear(b.Quarantine)
	b.Lines = b.Lines[:0]
	b.Quarantine = b.Quarantine[:0]
}

// acker acknowledges the committed batches Run hands over, in order, and
// returns their emptied slices for reuse.
func (g *Ingester) acker(done chan<- struct{}) {
	defer close(done)
	for acks := range g.ackq {
		for _, m := range acks {
			m.Ack()
		}
		clear(acks)
		select {
		case g.free <- acks[:0]:
		default:
		}
	}
}

// rateLog logs the first quarantined payload at once and then a summary of
// the rest at most once per interval, so a misbehaving machine cannot flood
// the journal.
type rateLog struct {
	every   time.Duration
	last    time.Time
	counts  map[string]int
	pending int
}

func (r *rateLog) add(log *slog.Logger, q *store.Quarantined) {
	now := time.Now()
	if r.last.IsZero() || now.Sub(r.last) >= r.every {
		r.flush(log, true)
		r.last = now
		log.Warn("ingest: payload rejected and quarantined", "topic", q.Topic, "reason", q.Reason, "detail", q.Detail)
		return
	}
	r.counts[q.Reason]++
	r.pending++
}

// flush logs the summary when the interval has passed, or now if force.
func (r *rateLog) flush(log *slog.Logger, force bool) {
	if r.pending == 0 || (!force && time.Since(r.last) < r.every) {
		return
	}
	reasons := make([]string, 0, len(r.counts))
	for k, v := range r.counts {
		reasons = append(reasons, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(reasons)
	log.Warn("ingest: more payloads rejected and quarantined (see `budare-agent inspect --quarantine N`)",
		"count", r.pending, "reasons", strings.Join(reasons, " "))
	clear(r.counts)
	r.pending = 0
	r.last = time.Now()
}

// ErrStopped is returned by Client methods after Close.
var ErrStopped = errors.New("ingest: mqtt client stopped")
