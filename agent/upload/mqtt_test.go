package upload

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/ingest"
	"github.com/budare/budare/agent/runner"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
	"github.com/budare/budare/internal/window"
)

// agentRun is the agent's ingest plus this upload service, running in
// process (the agent's assembly, agent/daemon, links this package).
type agentRun struct {
	st     *store.Store
	svc    *Service
	cancel context.CancelFunc
	done   chan error
}

func startAgent(t *testing.T, cfg *config.Config) *agentRun {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.StorePath(), store.Options{Location: cfg.Location, Timeout: 10 * time.Second, Verify: true, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ing := ingest.New(st, ingest.Options{Kitchen: cfg.Kitchen, BatchMax: cfg.MQTT.BatchMax,
		BatchWait: cfg.MQTT.BatchWait.Duration, Log: log})
	mq, err := ingest.NewClient(ingest.ClientOptions{Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID,
		Kitchen: cfg.Kitchen, Log: log}, ing.Handle)
	if err != nil {
		st.Close() // stop closes it once the agent runs
		t.Fatal(err)
	}
	remote := connectCfg(t, cfg)
	ucfg := ConfigFrom(cfg)
	ucfg.CloseDelay, ucfg.Interval = NoCloseDelay, 50*time.Millisecond
	ucfg.MinBackoff, ucfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	ucfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, nil))
	svc, err := New(ucfg, st, remote, prometheus.NewRegistry())
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &agentRun{st: st, svc: svc, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- runner.Run(ctx, log,
			runner.Service{Name: "ingest", Run: func(ctx context.Context) error {
				mq.Start()
				err := ing.Run(ctx)
				mq.Close(500 * time.Millisecond)
				return err
			}},
			runner.Service{Name: "upload", Run: svc.Run})
	}()
	return r
}

// stop is SIGTERM: every service stops, then the store closes.
func (r *agentRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("agent run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not stop")
	}
	if err := r.st.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitUploaded waits until every given day is uploaded at its current
// version with want records.
func (r *agentRun) waitUploaded(t *testing.T, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := r.svc.Status()
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for _, d := range st.Days {
			if n, in := want[d.Day]; in && d.State == StateUploaded && d.Records == n {
				ok++
			}
		}
		if ok == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("days not uploaded after 30 s: want %v, status %+v", want, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func connectCfg(t *testing.T, cfg *config.Config) Remote {
	t.Helper()
	obj, err := objstore.New(cfg.S3, cfg.CredentialsDir)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestMQTTThroughToWindows publishes three past days of a kitchen to a real
// Mosquitto; the agent ingests them and uploads each closed day to a real
// MinIO. Then, with the agent stopped and MinIO down, a machine delivers
// late records for one day; the agent restarts, MinIO comes back, and the
// day is uploaded again: each record exactly once.
func TestMQTTThroughToWindows(t *testing.T) {
	broker := testenv.Mosquitto(t)
	m := testenv.MinIO(t)
	obj := connect(t, m) // creates the bucket
	dir := t.TempDir()
	ak, sk, err := m.WriteCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "agent.toml")
	toml := fmt.Sprintf(`kitchen = %q
data_dir = %q
timezone = "America/Caracas"
listen = ""
[mqtt]
broker = %q
client_id = "upload-test-agent"
[s3]
endpoint = %q
access_key_file = %q
secret_key_file = %q
tls = false
[upload]
retention_days = 14
`, kitchen, filepath.Join(dir, "data"), broker.URL, m.Endpoint, ak, sk)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.Location
	today := time.Now().In(loc)
	midnight := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)

	type key struct {
		machine string
		ts      int64
		seq     int64
	}
	want := map[string]map[key]bool{}
	var msgs []mqttpub.Msg
	add := func(machine string, ts time.Time, seq int64) {
		ts = ts.UTC().Truncate(time.Millisecond)
		day := record.LocalDay(ts, loc)
		if want[day] == nil {
			want[day] = map[key]bool{}
		}
		want[day][key{machine, ts.UnixNano(), seq}] = true
		msgs = append(msgs, mqttpub.Msg{Topic: "budare/" + kitchen + "/" + machine + "/cook",
			Payload: mqttpub.CookPayload(seq, ts), Machine: machine, Seq: seq})
	}
	for d := 3; d >= 1; d-- {
		from := midnight.AddDate(0, 0, -d)
		for mi := range 4 {
			machine := fmt.Sprintf("m-%02d", mi)
			for i := range 48 {
				add(machine, from.Add(time.Duration(i)*30*time.Minute+time.Duration(mi)*time.Second+123*time.Millisecond),
					int64(1000*(4-d)+i))
			}
		}
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for d, ks := range want {
			out[d] = len(ks)
		}
		return out
	}

	ctx := context.Background()
	// The agent's persistent session exists before anything is published.
	if err := mqttpub.Subscribe(ctx, broker.URL, cfg.MQTT.ClientID, kitchen); err != nil {
		t.Fatal(err)
	}
	ag := startAgent(t, cfg)
	pub, err := mqttpub.NewPublisher(ctx, broker.URL, "upload-test-pub", 200)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	ag.waitUploaded(t, counts())
	ag.stop(t)

	// Agent down, MinIO down; a machine that was offline delivers day -2 late.
	m.Stop()
	msgs = msgs[:0]
	lateDay := midnight.AddDate(0, 0, -2)
	for i := range 10 {
		add("m-07", lateDay.Add(time.Duration(i)*time.Hour+77*time.Millisecond), int64(i))
	}
	if err := pub.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	ag = startAgent(t, cfg)
	time.Sleep(300 * time.Millisecond) // a few failed attempts while MinIO is down
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ag.waitUploaded(t, counts())
	ag.stop(t)

	h := &harness{t: t, remote: obj, loc: loc}
	for day, keys := range want {
		lines := h.window(day)
		seen := map[key]bool{}
		for _, l := range lines {
			k, err := window.IDOf(l)
			if err != nil {
				t.Fatal(err)
			}
			kk := key{k.Machine, k.TS, k.Seq}
			if seen[kk] || !keys[kk] {
				t.Fatalf("%s: record %v duplicated or unexpected", day, kk)
			}
			seen[kk] = true
		}
		if len(seen) != len(keys) {
			t.Fatalf("%s: window holds %d records, published %d", day, len(seen), len(keys))
		}
	}
}
