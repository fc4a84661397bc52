package upload

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
	"github.com/budare/budare/internal/window"
)

const kitchen = "k-017"

// clock is an injectable clock that runs at real speed from a settable
// base, so backoff delays (real, short in tests) expire while simulated
// days jump ahead.
type clock struct {
	mu    sync.Mutex
	base  time.Time
	since time.Time
}

func newClock(t time.Time) *clock { return &clock{base: t, since: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.since))
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.since = t, time.Now()
}

// tWriter sends the service's log to the test log, shown on failure.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// recordingRemote wraps a Remote and remembers the keys put, in order.
type recordingRemote struct {
	Remote
	mu   sync.Mutex
	puts []string
}

func (r *recordingRemote) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	err := r.Remote.Put(ctx, key, data, meta)
	if err == nil {
		r.mu.Lock()
		r.puts = append(r.puts, key)
		r.mu.Unlock()
	}
	return err
}

func (r *recordingRemote) Puts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.puts)
}

// harness is one kitchen agent's upload side against a real MinIO.
type harness struct {
	t      *testing.T
	minio  *testenv.MinIOServer
	remote objstore.Bucket
	rec    *recordingRemote
	dbPath string
	st     *store.Store
	loc    *time.Location
	clock  *clock
	reg    *prometheus.Registry
	free   uint64 // bytes FreeSpace reports
	health error
	mu     sync.Mutex
}

func waitMinIOReady(t testing.TB, m *testenv.MinIOServer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + m.Endpoint + "/minio/health/cluster")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio on %s not ready after 60s", m.Endpoint)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func connect(t testing.TB, m *testenv.MinIOServer) objstore.Bucket {
	t.Helper()
	waitMinIOReady(t, m)
	a, s, err := m.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	off := false
	obj, err := objstore.New(objstore.Config{Endpoint: m.Endpoint, AccessKeyFile: a, SecretKeyFile: s, TLS: &off}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return obj
}

func newHarness(t *testing.T, tz string, start time.Time) *harness {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.MinIO(t)
	return newHarnessOn(t, loc, start, m, connect(t, m))
}

// newHarnessOn is a harness uploading to remote; m is nil for a backend
// other than MinIO.
func newHarnessOn(t *testing.T, loc *time.Location, start time.Time, m *testenv.MinIOServer, obj objstore.Bucket) *harness {
	t.Helper()
	h := &harness{t: t, minio: m, remote: obj, rec: &recordingRemote{Remote: obj},
		dbPath: filepath.Join(t.TempDir(), "budare.db"), loc: loc, clock: newClock(start), free: 10 << 30}
	h.openStore()
	t.Cleanup(func() { h.st.Close() })
	return h
}

func (h *harness) openStore() {
	h.t.Helper()
	st, err := store.Open(h.dbPath, store.Options{Location: h.loc, Timeout: 5 * time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
}

// restart closes the store and reopens it, as an agent restart does.
func (h *harness) restart() {
	h.t.Helper()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.openStore()
}

func (h *harness) service(retention int) *Service {
	h.t.Helper()
	h.reg = prometheus.NewRegistry()
	s, err := New(Config{
		Kitchen: kitchen, Location: h.loc, DataDir: h.t.TempDir(), RetentionDays: retention, MinFreeMiB: 256,
		CloseDelay: NoCloseDelay, Interval: 20 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond,
		Now:    h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(tWriter{h.t}, nil)),
		FreeSpace: func(string) (uint64, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.free, nil
		},
		ReportHealth: func(err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.health = err
		},
	}, h.st, h.rec, h.reg)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) commit(recs []record.Record) {
	h.t.Helper()
	if _, err := h.st.Commit(&store.Batch{Records: recs}); err != nil {
		h.t.Fatal(err)
	}
}

// at returns local midnight of day plus d.
func (h *harness) at(day string, d time.Duration) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, day, h.loc)
	if err != nil {
		h.t.Fatal(err)
	}
	return t.Add(d)
}

func nextDay(day string) string {
	t, _ := time.Parse(time.DateOnly, day)
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// dayRecords makes a local day's records for machines: one cook cycle about
// every step, the first at local midnight and the last a few hundred ms
// before the next midnight, plus one failure event per machine. seq goes on
// from seqBase so every (machine, ts, seq) is new.
func (h *harness) dayRecords(day string, machines int, step time.Duration, seqBase int64) []record.Record {
	from, _ := time.ParseInLocation(time.DateOnly, day, h.loc)
	to := time.Date(from.Year(), from.Month(), from.Day()+1, 0, 0, 0, 0, h.loc)
	var out []record.Record
	for m := range machines {
		name := fmt.Sprintf("m-%02d", m+1)
		seq := seqBase
		for ts := from; ts.Before(to); ts = ts.Add(step) {
			out = append(out, cookRecord(name, ts.UTC(), seq))
			seq++
		}
		out = append(out, cookRecord(name, to.Add(-300*time.Millisecond).UTC(), seq))
		out = append(out, record.Record{Machine: name, Type: record.TypeEvent, TS: from.Add(7 * time.Hour).UTC(), Seq: seq + 1,
			Kind: record.KindFailure, Code: "HEATER_OPEN", Note: "plate did not heat"})
	}
	return out
}

func cookRecord(machine string, ts time.Time, seq int64) record.Record {
	f := float64(seq % 17)
	return record.Record{Machine: machine, Type: record.TypeCook, TS: ts, Seq: seq, Arepa: []string{"reina-pepiada", "domino", "pabellon"}[seq%3],
		Metrics: map[string]float64{"plate_temp_c": 228 + f/3, "cook_time_s": 400 + f, "energy_wh": 38.2 + f/10,
			"motor_current_a": 2.1, "vibration_mm_s": 1.4 + f/100, "door_cycles": 2}}
}

// window downloads a day's window, checks its bytes against the SHA-256 in
// its metadata (read-back verification), the record count and the content
// checksum, and returns its lines.
func (h *harness) window(day string) [][]byte {
	h.t.Helper()
	ctx := context.Background()
	key := window.Key(kitchen, day)
	info, err := h.remote.Stat(ctx, key)
	if err != nil {
		h.t.Fatalf("stat %s: %v", key, err)
	}
	data, err := h.remote.Get(ctx, key, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	lines, err := window.Decode(data, info.MetaValue(window.MetaSHA256))
	if err != nil {
		h.t.Fatalf("%s: %v", key, err)
	}
	if info.MetaValue(window.MetaSHA256) == "" {
		h.t.Fatalf("%s has no sha256 metadata: %v", key, info.Meta)
	}
	if n, _ := strconv.Atoi(info.MetaValue(window.MetaRecords)); n != len(lines) {
		h.t.Fatalf("%s: metadata says %s records, object holds %d", key, info.MetaValue(window.MetaRecords), len(lines))
	}
	enc, err := window.NewEncoder(gzip.BestCompression)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, l := range lines {
		_ = enc.Line(l)
	}
	w, _ := enc.Finish()
	if w.ContentSHA256 != info.MetaValue(window.MetaContentSHA256) {
		h.t.Fatalf("%s: ndjson sha256 %s, metadata says %s", key, w.ContentSHA256, info.MetaValue(window.MetaContentSHA256))
	}
	return lines
}

// exactlyOnce checks that lines hold each wanted record exactly once, byte
// for byte as the store encodes it, and nothing else.
func exactlyOnce(t *testing.T, what string, lines [][]byte, want []record.Record) {
	t.Helper()
	wantLines := map[window.RecordID][]byte{}
	for _, r := range want {
		b, _ := json.Marshal(r)
		wantLines[window.RecordID{Machine: r.Machine, TS: r.TS.UnixNano(), Seq: r.Seq}] = b
	}
	seen := map[window.RecordID]bool{}
	for _, l := range lines {
		k, err := window.IDOf(l)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if seen[k] {
			t.Fatalf("%s: record %v appears twice", what, k)
		}
		seen[k] = true
		w, ok := wantLines[k]
		if !ok {
			t.Fatalf("%s: unexpected record %s", what, l)
		}
		if !bytes.Equal(w, l) {
			t.Fatalf("%s: record %v differs:\n got %s\nwant %s", what, k, l, w)
		}
	}
	if len(seen) != len(wantLines) {
		t.Fatalf("%s: %d records, want %d", what, len(seen), len(wantLines))
	}
}

func byDay(recs []record.Record, loc *time.Location) map[string][]record.Record {
	out := map[string][]record.Record{}
	for _, r := range recs {
		d := record.LocalDay(r.TS, loc)
		out[d] = append(out[d], r)
	}
	return out
}

func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func (h *harness) state(day string) DayState {
	h.t.Helper()
	var ds DayState
	if _, err := h.st.GetState(StateName, day, &ds); err != nil {
		h.t.Fatal(err)
	}
	return ds
}

func (h *harness) exists(day string) bool {
	h.t.Helper()
	_, err := h.remote.Stat(context.Background(), window.Key(kitchen, day))
	if err != nil && !errors.Is(err, objstore.ErrNotFound) {
		h.t.Fatal(err)
	}
	return err == nil
}

// TestWeekUploadedDayByDay simulates a week of one kitchen across the end
// of daylight saving time (a 25-hour day) and checks each day is uploaded
// once it closes, complete, each record exactly once, verified by reading
// it back against its checksum.
// The week goes to MinIO, and to a directory bucket (s3.dir) the same way.
func TestWeekUploadedDayByDay(t *testing.T) {
	for _, backend := range []string{"minio", "dir"} {
		t.Run(backend, func(t *testing.T) {
			var h *harness
			if backend == "minio" {
				h = newHarness(t, "America/New_York", time.Time{})
			} else {
				loc, err := time.LoadLocation("America/New_York")
				if err != nil {
					t.Fatal(err)
				}
				h = newHarnessOn(t, loc, time.Time{}, nil, objstore.NewDir(t.TempDir()))
			}
			weekUploadedDayByDay(t, h)
		})
	}
}

func weekUploadedDayByDay(t *testing.T, h *harness) {
	const first = "2026-10-29" // DST ends in New York on Sunday 2026-11-01
	h.clock.Set(h.at(first, 0))
	svc := h.service(14)
	ctx := context.Background()
	var all []record.Record
	day := first
	for i := range 7 {
		recs := h.dayRecords(day, 4, 23*time.Minute, int64(i)*1000)
		all = append(all, recs...)
		h.commit(recs)
		h.clock.Set(h.at(day, 12*time.Hour))
		if err := svc.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if h.exists(day) {
			t.Fatalf("%s uploaded before it closed", day)
		}
		h.clock.Set(h.at(nextDay(day), time.Second))
		if err := svc.RunOnce(ctx); err != nil {
			t.Fatalf("%s: %v", day, err)
		}
		ds := h.state(day)
		if ds.Status != StateUploaded || ds.Verified == "" || ds.Uploads != 1 {
			t.Fatalf("%s state after upload: %+v", day, ds)
		}
		day = nextDay(day)
	}
	want := byDay(all, h.loc)
	if len(want) != 7 {
		t.Fatalf("generated %d local days, want 7", len(want))
	}
	total := 0
	for d, recs := range want {
		lines := h.window(d)
		exactlyOnce(t, d, lines, recs)
		total += len(lines)
	}
	if total != len(all) {
		t.Fatalf("windows hold %d records, generated %d", total, len(all))
	}
	// The DST day is 25 hours long and its window says so.
	if a, b := len(want["2026-11-01"]), len(want["2026-10-31"]); a <= b {
		t.Fatalf("2026-11-01 (25 h) has %d records, 2026-10-31 (24 h) %d", a, b)
	}
	if got := metric(t, h.reg, "budare_agent_upload_objects_total"); got != 7 {
		t.Fatalf("objects uploaded metric %v, want 7", got)
	}
	if got := metric(t, h.reg, "budare_agent_upload_bytes_total"); got <= 0 {
		t.Fatalf("bytes uploaded metric %v", got)
	}
	if got := metric(t, h.reg, "budare_agent_upload_pending_windows"); got != 0 {
		t.Fatalf("pending days metric %v, want 0", got)
	}

	// Idempotent: with its state forgotten, a day uploads to the same object.
	before, _ := h.remote.Stat(ctx, window.Key(kitchen, "2026-11-01"))
	if err := h.st.DeleteState(StateName, "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := h.remote.Stat(ctx, window.Key(kitchen, "2026-11-01"))
	if before.ETag != after.ETag || before.MetaValue(window.MetaSHA256) != after.MetaValue(window.MetaSHA256) {
		t.Fatalf("re-upload changed the object: %s/%s -> %s/%s", before.ETag, before.MetaValue(window.MetaSHA256), after.ETag, after.MetaValue(window.MetaSHA256))
	}
	w1, err := svc.localWindow("2026-11-01")
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := svc.localWindow("2026-11-01")
	if !bytes.Equal(w1.Data, w2.Data) || w1.SHA256 != after.MetaValue(window.MetaSHA256) {
		t.Fatal("encoding the same day twice gave different bytes")
	}
	if ds := h.state("2026-11-01"); ds.Status != StateUploaded || ds.Verified == "" {
		t.Fatalf("state after idempotent re-upload: %+v", ds)
	}

	st, err := svc.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Days) != 7 || st.Pending != 0 {
		t.Fatalf("status: %d days, %d pending", len(st.Days), st.Pending)
	}
	for _, d := range st.Days {
		if d.State != StateUploaded || d.SHA256 == "" || uint64(d.Records) != d.LocalRecords {
			t.Fatalf("status of %s: %+v", d.Day, d)
		}
	}
}

// TestOutageWithRestartCatchesUpOldestFirst stops MinIO for two simulated
// days while records keep arriving, restarts the agent's store and upload
// service during the outage, brings MinIO back and checks every day is
// present, complete and holds each record exactly once.
func TestOutageWithRestartCatchesUpOldestFirst(t *testing.T) {
	h := newHarness(t, "America/Caracas", time.Time{})
	ctx := context.Background()
	days := []string{"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"}
	h.clock.Set(h.at(days[0], 0))
	svc := h.service(14)
	var all []record.Record

	d0 := h.dayRecords(days[0], 3, 31*time.Minute, 0)
	all = append(all, d0...)
	h.commit(d0)
	h.clock.Set(h.at(days[1], time.Second))
	if err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	h.minio.Stop()
	// Day 1 arrives and closes during the outage.
	d1 := h.dayRecords(days[1], 3, 31*time.Minute, 1000)
	all = append(all, d1...)
	h.commit(d1)
	h.clock.Set(h.at(days[2], time.Second))
	err := svc.RunOnce(ctx)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("upload during the outage: %v, want an unreachable error", err)
	}
	if ds := h.state(days[1]); ds.Status != StateFailed || ds.Attempts != 1 || !strings.Contains(ds.LastError, "unreachable") {
		t.Fatalf("state of %s during the outage: %+v", days[1], ds)
	}
	if got := metric(t, h.reg, "budare_agent_upload_failures_total"); got != 1 {
		t.Fatalf("failures metric %v, want 1", got)
	}
	// Half of day 2, then the agent restarts, then the rest of day 2 and
	// late records of day 1.
	d2 := h.dayRecords(days[2], 3, 31*time.Minute, 2000)
	all = append(all, d2...)
	h.clock.Set(h.at(days[2], 12*time.Hour))
	h.commit(d2[:len(d2)/2])
	h.restart()
	svc = h.service(14)
	h.commit(d2[len(d2)/2:])
	late := []record.Record{cookRecord("m-04", h.at(days[1], 23*time.Hour).UTC(), 7)}
	all = append(all, late...)
	h.commit(late)
	h.clock.Set(h.at(days[3], time.Second))
	for range 3 { // retries during the outage, each backing off
		if err := svc.RunOnce(ctx); err == nil {
			t.Fatal("upload succeeded with MinIO stopped")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ds := h.state(days[1]); ds.Status != StateFailed || ds.Attempts < 2 {
		t.Fatalf("state of %s after the restart: %+v (attempts must survive the restart)", days[1], ds)
	}
	if ds := h.state(days[2]); ds.Status != StatePending || ds.Attempts != 0 {
		t.Fatalf("%s was tried before the older %s: %+v", days[2], days[1], ds)
	}
	if got := metric(t, h.reg, "budare_agent_upload_pending_windows"); got != 2 {
		t.Fatalf("pending days metric %v, want 2", got)
	}
	if got, want := metric(t, h.reg, "budare_agent_upload_oldest_pending_day_timestamp_seconds"), float64(h.at(days[1], 0).Unix()); got != want {
		t.Fatalf("oldest pending day metric %v, want %v", got, want)
	}
	st, _ := svc.Status()
	if st.OldestPending != days[1] || st.LastError == "" {
		t.Fatalf("status during the outage: oldest %q, last error %q", st.OldestPending, st.LastError)
	}

	// MinIO comes back; the running loop catches up.
	if err := h.minio.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := svc.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 && len(st.Days) == 3 { // days[3] has no records yet
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up after 30 s: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	puts := h.rec.Puts()
	wantPuts := []string{window.Key(kitchen, days[0]), window.Key(kitchen, days[1]), window.Key(kitchen, days[2])}
	if !slices.Equal(puts, wantPuts) {
		t.Fatalf("uploads %v, want oldest first %v", puts, wantPuts)
	}
	want := byDay(all, h.loc)
	for _, d := range days[:3] {
		exactlyOnce(t, d, h.window(d), want[d])
	}
	if h.exists(days[3]) {
		t.Fatalf("%s uploaded, but it has no records", days[3])
	}
}

// TestLateRecordsReuploadAndMergeAfterPrune checks late records re-upload
// their day, and that for a day already pruned locally the new window is
// the union of the remote one and the late records.
func TestLateRecordsReuploadAndMergeAfterPrune(t *testing.T) {
	h := newHarness(t, "Europe/Madrid", time.Time{})
	ctx := context.Background()
	const day = "2026-10-25" // DST ends in Madrid: 25 hours
	h.clock.Set(h.at(day, 0))
	svc := h.service(8)
	recs := h.dayRecords(day, 3, 47*time.Minute, 0)
	h.commit(recs)
	h.clock.Set(h.at(nextDay(day), time.Second))
	if err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "first upload", h.window(day), recs)

	// A machine that was offline delivers its day late.
	late1 := []record.Record{cookRecord("m-09", h.at(day, 9*time.Hour).UTC(), 1), cookRecord("m-09", h.at(day, 10*time.Hour).UTC(), 2)}
	h.commit(late1)
	h.commit(recs[:5]) // redeliveries, stored once
	recs = append(recs, late1...)
	if err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, "after late records", h.window(day), recs)
	if ds := h.state(day); ds.Uploads != 2 || ds.Merged {
		t.Fatalf("state after re-upload: %+v", ds)
	}

	// Ten days later retention deletes the verified day locally.
	h.clock.Set(h.at(day, 10*24*time.Hour))
	if err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	di, _, _ := h.st.Day(day)
	if !di.Pruned || di.Records != 0 {
		t.Fatalf("day not pruned after retention: %+v", di)
	}
	// Later still, more late records, one of them a redelivery of a record
	// already uploaded (the pruned store no longer knows it).
	late2 := []record.Record{cookRecord("m-10", h.at(day, 20*time.Hour).UTC(), 1), cookRecord("m-10", h.at(day, 24*time.Hour+30*time.Minute).UTC(), 2)}
	h.commit(append(slices.Clone(late2), recs[3]))
	recs = append(recs, late2...)
	if err := svc.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	lines := h.window(day)
	exactlyOnce(t, "merged after prune", lines, recs)
	if ds := h.state(day); !ds.Merged || ds.Uploads != 3 || ds.Records != len(recs) {
		t.Fatalf("state after merge: %+v", ds)
	}
	if got := metric(t, h.reg, "budare_agent_upload_merges_total"); got != 1 {
		t.Fatalf("merges metric %v, want 1", got)
	}
	// The late records were pruned again once verified.
	if di, _, _ := h.st.Day(day); di.Records != 0 {
		t.Fatalf("late records of an old day kept after their verified upload: %+v", di)
	}
	// The merged window is byte for byte what an unpruned store would give.
	ref, err := store.Open(filepath.Join(t.TempDir(), "ref.db"), store.Options{Location: h.loc})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if _, err := ref.Commit(&store.Batch{Records: recs}); err != nil {
		t.Fatal(err)
	}
	refSvc, _ := New(Config{Kitchen: kitchen, Location: h.loc}, ref, h.rec, nil)
	w, err := refSvc.localWindow(day)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := h.remote.Stat(ctx, window.Key(kitchen, day))
	if w.SHA256 != info.MetaValue(window.MetaSHA256) {
		t.Fatalf("merged window sha %s differs from a fresh encoding %s", info.MetaValue(window.MetaSHA256), w.SHA256)
	}
}

// TestRetentionNeverDeletesUnuploadedDays keeps MinIO down with the disk
// nearly full: nothing is deleted, and the agent says so (health, metric).
// Once MinIO is back, only verified days past retention are deleted.
func TestRetentionNeverDeletesUnuploadedDays(t *testing.T) {
	h := newHarness(t, "UTC", time.Time{})
	ctx := context.Background()
	start := "2026-11-01"
	h.clock.Set(h.at(start, 0))
	h.free = 10 << 20 // 10 MiB < min_free_mib 256
	svc := h.service(8)
	var days []string
	total := 0
	d := start
	for i := range 12 {
		recs := h.dayRecords(d, 2, 2*time.Hour, int64(i)*100)
		total += len(recs)
		h.commit(recs)
		days = append(days, d)
		d = nextDay(d)
	}
	// A foreign, unreadable object where a day's window goes: never
	// overwritten, and it does not hold the other days back.
	if err := h.remote.Put(ctx, window.Key(kitchen, days[5]), []byte("not a window"), nil); err != nil {
		t.Fatal(err)
	}
	h.minio.Stop()
	h.clock.Set(h.at(start, 25*24*time.Hour))
	for range 3 {
		if err := svc.RunOnce(ctx); err == nil {
			t.Fatal("upload succeeded with MinIO stopped")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, day := range days {
		if di, _, _ := h.st.Day(day); di.Pruned || di.Records == 0 {
			t.Fatalf("unuploaded day %s deleted: %+v", day, di)
		}
	}
	if st, _ := h.st.Stats(); st.Records != uint64(total) {
		t.Fatalf("store holds %d records, want %d", st.Records, total)
	}
	herr := svc.Health()
	if herr == nil || !strings.Contains(herr.Error(), "disk nearly full") || !strings.Contains(herr.Error(), "12 days not uploaded") ||
		!strings.Contains(herr.Error(), "unreachable") {
		t.Fatalf("health with a full disk and no uploads: %v", herr)
	}
	h.mu.Lock()
	reported := h.health
	h.mu.Unlock()
	if reported == nil || reported.Error() != herr.Error() {
		t.Fatalf("health reported to the agent: %v", reported)
	}
	if got := metric(t, h.reg, "budare_agent_disk_nearly_full"); got != 1 {
		t.Fatalf("disk nearly full metric %v", got)
	}
	if got := metric(t, h.reg, "budare_agent_upload_oldest_pending_day_age_seconds"); got < 24*24*3600 {
		t.Fatalf("oldest pending age %v s, want >= 24 days", got)
	}

	if err := h.minio.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitMinIOReady(t, h.minio)
	time.Sleep(100 * time.Millisecond) // past the backoff
	err := svc.RunOnce(ctx)
	if err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Fatalf("pass with a foreign object in the way: %v", err)
	}
	cutoff := "2026-11-18" // 2026-11-26 minus 8 days
	for i, day := range days {
		di, _, _ := h.st.Day(day)
		ds := h.state(day)
		switch {
		case i == 5:
			if ds.Status != StateFailed || di.Pruned || !strings.Contains(ds.LastError, "not gzip") || ds.RetryAt.IsZero() {
				t.Fatalf("%s with a foreign object: %+v %+v", day, ds, di)
			}
			if b, _ := h.remote.Get(ctx, window.Key(kitchen, day), 0); string(b) != "not a window" {
				t.Fatalf("foreign object overwritten: %q", b)
			}
		case day < cutoff:
			if ds.Status != StateUploaded || !di.Pruned {
				t.Fatalf("%s: %+v %+v, want uploaded and pruned", day, ds, di)
			}
		default:
			t.Fatalf("day %s beyond the cutoff in this test", day)
		}
	}
	// A day inside the retention period stays after its upload.
	const recentDay = "2026-11-25"
	h.commit(h.dayRecords(recentDay, 1, time.Hour, 5000))
	_ = svc.RunOnce(ctx)
	if di, _, _ := h.st.Day(recentDay); di.Pruned || di.Records == 0 || h.state(recentDay).Status != StateUploaded {
		t.Fatalf("recent day %s: %+v %+v", recentDay, di, h.state(recentDay))
	}
	h.free = 10 << 30
	_ = svc.RunOnce(ctx)
	if herr := svc.Health(); herr != nil {
		t.Fatalf("health with free disk: %v", herr)
	}
}

// switchRemote fails every call while down, as a store that is unreachable.
type switchRemote struct {
	Remote
	mu   sync.Mutex
	down bool
}

func (r *switchRemote) set(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *switchRemote) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("dial tcp: connection refused")
	}
	return nil
}

func (r *switchRemote) Stat(ctx context.Context, key string) (objstore.Info, error) {
	if err := r.err(); err != nil {
		return objstore.Info{}, err
	}
	return r.Remote.Stat(ctx, key)
}

// After the store comes back, UploadNow uploads at once although the loop
// would wait out its backoff (here an hour).
func TestUploadNowResetsBackoff(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, "UTC", start)
	recs := h.dayRecords("2026-03-01", 2, time.Hour, 1)
	h.commit(recs)
	sw := &switchRemote{Remote: h.rec, down: true}
	s, err := New(Config{Kitchen: kitchen, Location: h.loc, CloseDelay: NoCloseDelay,
		MinBackoff: time.Hour, MaxBackoff: 2 * time.Hour, Now: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))}, h.st, sw, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.RunOnce(ctx); err == nil {
		t.Fatal("pass with the store down succeeded")
	}
	sw.set(false)
	if err := s.RunOnce(ctx); err != nil || h.exists("2026-03-01") {
		t.Fatalf("pass during the backoff: err %v, uploaded %v; want it to wait", err, h.exists("2026-03-01"))
	}
	res, err := s.UploadNow(ctx)
	if err != nil {
		t.Fatalf("UploadNow: %v", err)
	}
	if !slices.Equal(res.Uploaded, []string{"2026-03-01"}) || res.Pending != 0 || len(res.Failed) != 0 {
		t.Fatalf("UploadNow = %+v, want 2026-03-01 uploaded and nothing pending", res)
	}
	exactlyOnce(t, "2026-03-01", h.window("2026-03-01"), recs)
	if st, _ := s.Status(); !st.NextAttempt.IsZero() || st.LastError != "" {
		t.Fatalf("status after UploadNow: next attempt %v, last error %q; want the backoff gone", st.NextAttempt, st.LastError)
	}
}
