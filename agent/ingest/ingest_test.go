package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

const kitchen = "k-test"

// fakeMsg counts its acknowledgements in a shared counter.
type fakeMsg struct {
	topic   string
	payload []byte
	acks    *atomic.Int64
	acked   atomic.Int32
}

func (m *fakeMsg) Topic() string   { return m.topic }
func (m *fakeMsg) Payload() []byte { return m.payload }
func (m *fakeMsg) Ack() {
	m.acked.Add(1)
	m.acks.Add(1)
}

// fakeCommitter fails its first failN commits and checks, at every call,
// that no message was acknowledged before a commit holding it succeeded.
type fakeCommitter struct {
	t     *testing.T
	acks  *atomic.Int64
	failN int

	mu        sync.Mutex
	calls     int
	committed int64     // messages in successful commits
	attempts  [][]int64 // seqs (and -1 per quarantined) of every attempt
	batches   []int     // sizes of the successful commits
	stored    []store.Line
	quar      []store.Quarantined
}

func (c *fakeCommitter) Commit(b *store.Batch) (store.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.acks.Load(); a > c.committed {
		c.t.Errorf("%d messages acknowledged but only %d committed", a, c.committed)
	}
	var seqs []int64
	for _, l := range b.Lines {
		seqs = append(seqs, l.Seq)
	}
	for range b.Quarantine {
		seqs = append(seqs, -1)
	}
	c.attempts = append(c.attempts, seqs)
	c.calls++
	if c.calls <= c.failN {
		return store.Result{}, errors.New("write /var/lib/budare/agent.db: no space left on device")
	}
	n := len(b.Lines) + len(b.Quarantine)
	c.committed += int64(n)
	c.batches = append(c.batches, n)
	c.stored = append(c.stored, b.Lines...)
	c.quar = append(c.quar, b.Quarantine...)
	return store.Result{Added: len(b.Lines)}, nil
}

type fakeHealth struct {
	mu      sync.Mutex
	history []error
}

func (h *fakeHealth) Set(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if name == HealthName {
		h.history = append(h.history, err)
	}
}

func (h *fakeHealth) snapshot() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.history)
}

func cook(seq int64) []byte {
	return fmt.Appendf(nil, `{"v":1,"ts":"2026-11-26T07:31:02.120Z","seq":%d,"arepa":"reina-pepiada","metrics":{"plate_temp_c":231.5}}`, seq)
}

func msgs(acks *atomic.Int64, n int) []*fakeMsg {
	out := make([]*fakeMsg, n)
	for i := range out {
		out[i] = &fakeMsg{topic: "budare/" + kitchen + "/m-01/cook", payload: cook(int64(i)), acks: acks}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logCapture collects log records.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logCapture) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestCommitFailureRetriesSameBatchAndAcksOnlyAfterCommit(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks, failN: 3}
	h := &fakeHealth{}
	var logs logCapture
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 10, BatchWait: time.Second, QueueLen: 20,
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Health: h,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ms := msgs(&acks, 10)
	for _, m := range ms {
		g.Handle(m) // queued before Run: the first batch is exactly these 10
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFor(t, "all 10 acknowledged", func() bool { return acks.Load() == 10 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.attempts) != 4 {
		t.Fatalf("commit attempts = %d, want 3 failures + 1 success", len(fc.attempts))
	}
	for i, a := range fc.attempts[1:] {
		if !slices.Equal(a, fc.attempts[0]) {
			t.Errorf("attempt %d committed %v, want the same batch %v", i+2, a, fc.attempts[0])
		}
	}
	if len(fc.attempts[0]) != 10 {
		t.Errorf("batch has %d messages, want 10", len(fc.attempts[0]))
	}
	for i, m := range ms {
		if n := m.acked.Load(); n != 1 {
			t.Errorf("message %d acknowledged %d times, want 1", i, n)
		}
	}
	hist := h.snapshot()
	var sawBad bool
	for _, e := range hist {
		if e != nil {
			sawBad = true
			if !strings.Contains(e.Error(), "no space left") {
				t.Errorf("health error %q does not say why", e)
			}
		}
	}
	if !sawBad || hist[len(hist)-1] != nil {
		t.Errorf("health history %v: want unhealthy while failing, healthy after", hist)
	}
	if n := strings.Count(logs.String(), "store commit failed"); n != 1 {
		t.Errorf("commit failure logged %d times in 3 quick failures, want once (rate-limited):\n%s", n, logs.String())
	}
	if got := counterValue(t, g.opt.Metrics.commitErrors); got != 3 {
		t.Errorf("commit errors metric = %v, want 3", got)
	}
}

func TestBatchesBoundedByCount(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks}
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 10, BatchWait: time.Second, QueueLen: 30, Log: quiet()})
	for _, m := range msgs(&acks, 25) {
		g.Handle(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFor(t, "two full batches", func() bool { return acks.Load() >= 20 })
	// The last 5 wait for BatchWait (1s) or shutdown; shutdown commits them.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if !slices.Equal(fc.batches, []int{10, 10, 5}) {
		t.Errorf("batch sizes %v, want [10 10 5]", fc.batches)
	}
	if acks.Load() != 25 {
		t.Errorf("acknowledged %d, want 25", acks.Load())
	}
}

func TestBatchesBoundedByTime(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks}
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 1000, BatchWait: 5 * time.Millisecond, Log: quiet()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	ms := msgs(&acks, 3)
	for _, m := range ms {
		g.Handle(m)
	}
	// Far fewer than BatchMax: they are committed after BatchWait, not held.
	waitFor(t, "3 acknowledged without a full batch", func() bool { return acks.Load() == 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBadInputQuarantinedCountedAndAcked(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 100, BatchWait: time.Millisecond, Now: func() time.Time { return now }, Log: quiet()})
	topic := "budare/" + kitchen + "/m-01/cook"
	cases := []struct {
		topic   string
		payload string
		reason  record.Reason
	}{
		{topic, `not json`, record.ReasonNotJSON},
		{topic, `{"v":"1","ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"x","metrics":{}}`, record.ReasonBadType},
		{topic, `{"v":2,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"x","metrics":{}}`, record.ReasonVersion},
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","arepa":"x","metrics":{}}`, record.ReasonMissing},
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"x","metrics":{"t":"NaN"}}`, record.ReasonNotFinite},
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"x","metrics":{"t":1e999}}`, record.ReasonNotFinite},
		{topic, `{"v":1,"ts":"2026-11-28T07:31:02Z","seq":7,"arepa":"x","metrics":{}}`, record.ReasonFuture},
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"x","metrics":{"pad":"` + strings.Repeat("x", record.MaxPayload) + `"}}`, record.ReasonTooLarge},
		{"budare/other-kitchen/m-01/cook", string(cook(1)), record.ReasonTopic},
		{"budare/" + kitchen + "/m-01/status", string(cook(1)), record.ReasonTopic},
		// Names outside the grammar (issue 11): quarantined with their reason,
		// never stored altered.
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"ma` + "\xed" + `z","metrics":{}}`, record.ReasonNotUTF8},
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"domino` + "\u202e" + `","metrics":{}}`, record.ReasonBadName},
		{topic, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":7,"arepa":"reina` + "\u00a0" + `pepiada","metrics":{}}`, record.ReasonBadName},
		{"budare/" + kitchen + "/m" + "\u2215" + "01/cook", string(cook(1)), record.ReasonTopic},
	}
	var all []*fakeMsg
	for i, c := range cases {
		// A valid message between every two bad ones.
		all = append(all, &fakeMsg{topic: topic, payload: cook(int64(i)), acks: &acks})
		all = append(all, &fakeMsg{topic: c.topic, payload: []byte(c.payload), acks: &acks})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for _, m := range all {
		g.Handle(m)
	}
	waitFor(t, "all acknowledged", func() bool { return acks.Load() == int64(len(all)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.stored) != len(cases) {
		t.Errorf("stored %d valid records, want %d", len(fc.stored), len(cases))
	}
	if len(fc.quar) != len(cases) {
		t.Fatalf("quarantined %d, want %d", len(fc.quar), len(cases))
	}
	want := map[record.Reason]float64{}
	for i, c := range cases {
		want[c.reason]++
		q := fc.quar[i]
		if q.Reason != string(c.reason) || q.Topic != c.topic || q.Detail == "" {
			t.Errorf("case %d: quarantined as %q on %q (%q), want %q", i, q.Reason, q.Topic, q.Detail, c.reason)
		}
		if len(q.Payload) > quarantineKeep && len(c.payload) > record.MaxPayload {
			t.Errorf("case %d: kept %d bytes of an oversized payload, want at most %d", i, len(q.Payload), quarantineKeep)
		}
	}
	for _, r := range record.Reasons {
		if got := counterValue(t, g.opt.Metrics.rejected.WithLabelValues(string(r))); got != want[r] {
			t.Errorf("budare_agent_ingest_rejected_total{reason=%q} = %v, want %v", r, got, want[r])
		}
	}
}

func TestShutdownCommitsQueuedAndLeavesLaterUnacked(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks}
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 100, BatchWait: time.Hour, Log: quiet()})
	ms := msgs(&acks, 6)
	for _, m := range ms[:5] {
		g.Handle(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFor(t, "the batcher to take the first message", func() bool { return g.queued() < 5 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if acks.Load() != 5 {
		t.Fatalf("acknowledged %d at shutdown, want the 5 received", acks.Load())
	}
	returned := make(chan struct{})
	go func() { g.Handle(ms[5]); close(returned) }()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Handle blocked after shutdown")
	}
	if ms[5].acked.Load() != 0 {
		t.Error("a message arriving after shutdown was acknowledged; it must be left for redelivery")
	}
}

func TestShutdownWithFailingStoreReturnsErrorWithoutAck(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks, failN: 1 << 30}
	var logBuf syncBuffer
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 2, BatchWait: time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, StopTimeout: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	ms := msgs(&acks, 5)
	for _, m := range ms[:2] {
		g.Handle(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFor(t, "a few failed commits", func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return fc.calls > 3 })
	handed := make(chan struct{})
	go func() {
		for _, m := range ms[2:] { // queued behind the failing batch
			g.Handle(m)
		}
		close(handed)
	}()
	<-handed
	if !g.Alive(time.Second) {
		t.Error("a loop retrying a failing commit must count as alive")
	}
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "5 messages not committed") {
		t.Fatalf("Run = %v, want an error saying the 5 messages were not committed", err)
	}
	// The shutdown log line gives the same count as the error.
	if out := logBuf.String(); !strings.Contains(out, "ingest stopping with messages not committed") || !strings.Contains(out, "messages=5 ") {
		t.Fatalf("shutdown log does not say the same 5 messages:\n%s", out)
	}
	if acks.Load() != 0 {
		t.Errorf("%d acknowledged without a commit", acks.Load())
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// blockingCommitter holds every commit until released, and records how
// many commits ran at once.
type blockingCommitter struct {
	release chan struct{}
	started chan int // batch size of each commit, as it starts
	running atomic.Int32
	overlap atomic.Bool
}

func (c *blockingCommitter) Commit(b *store.Batch) (store.Result, error) {
	if c.running.Add(1) > 1 {
		c.overlap.Store(true)
	}
	defer c.running.Add(-1)
	c.started <- len(b.Lines)
	<-c.release
	return store.Result{Added: len(b.Lines)}, nil
}

func TestNextBatchDecodedWhileOneCommits(t *testing.T) {
	var acks atomic.Int64
	bc := &blockingCommitter{release: make(chan struct{}), started: make(chan int, 10)}
	g := New(bc, Options{Kitchen: kitchen, BatchMax: 10, BatchWait: time.Millisecond, QueueLen: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	ms := msgs(&acks, 30)
	for _, m := range ms[:10] {
		g.Handle(m)
	}
	if n := <-bc.started; n != 10 {
		t.Fatalf("first commit has %d records, want 10", n)
	}
	// While the first commit hangs, the next ten are taken off the queue
	// (decoded into the other batch), and none is acknowledged.
	for _, m := range ms[10:20] {
		g.Handle(m)
	}
	waitFor(t, "the second batch taken while the first commits", func() bool { return g.queued() == 0 })
	if a := acks.Load(); a != 0 {
		t.Fatalf("%d acknowledged before any commit returned", a)
	}
	select {
	case n := <-bc.started:
		t.Fatalf("a second commit (%d records) started while the first ran", n)
	case <-time.After(20 * time.Millisecond):
	}
	bc.release <- struct{}{}
	waitFor(t, "the first batch acknowledged", func() bool { return acks.Load() == 10 })
	if n := <-bc.started; n != 10 {
		t.Fatalf("second commit has %d records, want 10", n)
	}
	if a := acks.Load(); a != 10 {
		t.Fatalf("%d acknowledged while the second commit hangs, want 10", a)
	}
	bc.release <- struct{}{}
	waitFor(t, "the second batch acknowledged", func() bool { return acks.Load() == 20 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if bc.overlap.Load() {
		t.Error("two commits ran at once")
	}
	for i, m := range ms[:20] {
		if n := m.acked.Load(); n != 1 {
			t.Errorf("message %d acknowledged %d times, want 1", i, n)
		}
	}
}

// A commit hanging on a dead disk must show as not alive, even while the
// batching loop itself keeps turning (it waits for messages meanwhile).
func TestHungCommitIsNotAlive(t *testing.T) {
	var acks atomic.Int64
	bc := &blockingCommitter{release: make(chan struct{}), started: make(chan int, 1)}
	g := New(bc, Options{Kitchen: kitchen, BatchMax: 10, BatchWait: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for _, m := range msgs(&acks, 10) {
		g.Handle(m)
	}
	<-bc.started
	// Longer than the loop's idle turn (1 s), so only the commit can make
	// it not alive.
	const d = 1500 * time.Millisecond
	waitFor(t, "the hung commit to count as not alive", func() bool { return !g.Alive(d) })
	bc.release <- struct{}{}
	waitFor(t, "alive again once the commit returned", func() bool { return g.Alive(d) })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if acks.Load() != 10 {
		t.Errorf("%d acknowledged, want 10", acks.Load())
	}
}

// A commit that is backing off when SIGTERM comes gets the shutdown's
// StopTimeout to succeed in, like the last batch.
func TestShutdownRetriesABatchWhoseCommitWasBackingOff(t *testing.T) {
	var acks atomic.Int64
	fc := &fakeCommitter{t: t, acks: &acks, failN: 2}
	g := New(fc, Options{Kitchen: kitchen, BatchMax: 10, BatchWait: time.Millisecond,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, StopTimeout: 5 * time.Second, Log: quiet()})
	for _, m := range msgs(&acks, 10) {
		g.Handle(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFor(t, "the first commit attempt to fail", func() bool { fc.mu.Lock(); defer fc.mu.Unlock(); return fc.calls == 1 })
	cancel() // while the commit waits 200 ms to retry
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want the batch committed at shutdown", err)
	}
	if acks.Load() != 10 {
		t.Errorf("%d acknowledged, want all 10", acks.Load())
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.calls != 3 {
		t.Errorf("%d commit attempts, want 3 (two failures, then the shutdown's retry)", fc.calls)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's and the test's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
