package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/inspect"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
)

const testKitchen = "k-017"

// agentEnv is one agent's config, data directory and HTTP address.
type agentEnv struct {
	cfgPath string
	dataDir string
	listen  string
	broker  *testenv.MosquittoServer
}

func newAgentEnv(t *testing.T, broker *testenv.MosquittoServer) *agentEnv {
	t.Helper()
	dir := t.TempDir()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e := &agentEnv{cfgPath: filepath.Join(dir, "agent.toml"), dataDir: filepath.Join(dir, "data"),
		listen: fmt.Sprintf("127.0.0.1:%d", port), broker: broker}
	cfg := fmt.Sprintf("kitchen = %q\ndata_dir = %q\nlisten = %q\ntimezone = \"America/Caracas\"\n[mqtt]\nbroker = %q\nbatch_max = 500\n",
		testKitchen, e.dataDir, e.listen, broker.URL)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startInProcess runs `budare-agent run` in this process; stop cancels it
// (as SIGTERM does) and returns its exit code.
func (e *agentEnv) startInProcess(t *testing.T) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"run", "--config", e.cfgPath}, io.Discard, logs)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	e.waitHTTP(t, code)
	var once sync.Once
	var c int
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case c = <-code:
			case <-time.After(30 * time.Second):
				t.Fatalf("agent did not stop within 30s; log:\n%s", logs.String())
			}
			if c != 0 {
				t.Logf("agent log:\n%s", logs.String())
			}
		})
		return c
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitHTTP waits until the agent's endpoint answers, failing early if the
// agent exits.
func (e *agentEnv) waitHTTP(t *testing.T, exited <-chan int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + e.listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case c := <-exited:
			t.Fatalf("agent exited with %d before serving", c)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent endpoint %s not up: %v", e.listen, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSubscribed waits until the agent reports its MQTT subscription healthy.
func (e *agentEnv) waitSubscribed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get(t, "http://"+e.listen+"/healthz"), "mqtt: ok") {
		if time.Now().After(deadline) {
			t.Fatal("agent never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *agentEnv) inspect(t *testing.T) (*inspect.Report, error) {
	t.Helper()
	resp, err := http.Get("http://" + e.listen + "/inspect?quarantine=100")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r inspect.Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// waitRecords waits until the running agent reports at least n records and
// q quarantined payloads.
func (e *agentEnv) waitRecords(t *testing.T, n, q uint64, timeout time.Duration) *inspect.Report {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *inspect.Report
	for time.Now().Before(deadline) {
		if r, err := e.inspect(t); err == nil {
			last = r
			if r.Records >= n && r.Quarantined >= q {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("after %s: %d records, %d quarantined; want %d and %d", timeout, last.Records, last.Quarantined, n, q)
	}
	t.Fatalf("agent endpoint never answered")
	return nil
}

// verifyStore opens the (stopped) agent's store and checks that every
// message is stored exactly once and nothing else is.
func (e *agentEnv) verifyStore(t *testing.T, msgs []mqttpub.Msg) {
	t.Helper()
	st, err := store.Open(filepath.Join(e.dataDir, config.StoreFile), store.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]map[int64]int{}
	for _, m := range msgs {
		if want[m.Machine] == nil {
			want[m.Machine] = map[int64]int{}
		}
		want[m.Machine][m.Seq]++
	}
	total := 0
	for machine, seqs := range want {
		seen := map[int64]int{}
		err := st.Scan(machine, time.Unix(0, 0), time.Now().Add(48*time.Hour), func(r record.Record) error {
			seen[r.Seq]++
			total++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		missing, doubled := 0, 0
		for seq := range seqs {
			switch seen[seq] {
			case 0:
				missing++
			case 1:
			default:
				doubled++
			}
		}
		if missing > 0 || doubled > 0 || len(seen) != len(seqs) {
			t.Errorf("machine %s: %d missing, %d stored twice, %d stored vs %d sent", machine, missing, doubled, len(seen), len(seqs))
		}
	}
	stats, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if total != len(msgs) || stats.Records != uint64(len(msgs)) {
		t.Errorf("store holds %d records (counter %d), want %d", total, stats.Records, len(msgs))
	}
}

// publish sends msgs at QoS 1; it may run in its own goroutine (t.Error only).
func publish(t *testing.T, broker *testenv.MosquittoServer, id string, msgs []mqttpub.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := mqttpub.NewPublisher(ctx, broker.URL, id, 500)
	if err != nil {
		t.Error(err)
		return
	}
	defer p.Close()
	if err := p.Publish(ctx, msgs); err != nil {
		t.Error(err)
	}
}

func stream(n int) []mqttpub.Msg {
	return mqttpub.Stream(testKitchen, 7, n, time.Now().Add(-36*time.Hour).Truncate(time.Millisecond))
}

func TestIngestStoresEveryMessageExactlyOnce(t *testing.T) {
	broker := testenv.Mosquitto(t)
	e := newAgentEnv(t, broker)
	stop := e.startInProcess(t)
	e.waitSubscribed(t)
	msgs := stream(10000)
	// Two publishers at once, as machines publish concurrently.
	var wg sync.WaitGroup
	for i, part := range [][]mqttpub.Msg{msgs[:5000], msgs[5000:]} {
		wg.Go(func() { publish(t, broker, fmt.Sprintf("pub-%d", i), part) })
	}
	wg.Wait()
	rep := e.waitRecords(t, uint64(len(msgs)), 0, 60*time.Second)
	if rep.Source != "agent" || rep.Kitchen != testKitchen {
		t.Errorf("report from %q for %q, want the running agent for %q", rep.Source, rep.Kitchen, testKitchen)
	}
	// Per machine: count, first and last timestamps.
	type span struct {
		n           uint64
		first, last time.Time
	}
	want := map[string]*span{}
	for _, m := range msgs {
		var p struct{ TS time.Time }
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			t.Fatal(err)
		}
		s := want[m.Machine]
		if s == nil {
			s = &span{first: p.TS, last: p.TS}
			want[m.Machine] = s
		}
		s.n++
		if p.TS.Before(s.first) {
			s.first = p.TS
		}
		if p.TS.After(s.last) {
			s.last = p.TS
		}
	}
	if len(rep.Machines) != len(want) {
		t.Errorf("inspect lists %d machines, want %d", len(rep.Machines), len(want))
	}
	for _, mi := range rep.Machines {
		w := want[mi.Machine]
		if w == nil || mi.Records != w.n || !mi.First.Equal(w.first) || !mi.Last.Equal(w.last) {
			t.Errorf("machine %s: %d records %s..%s, want %+v", mi.Machine, mi.Records, mi.First, mi.Last, w)
		}
	}

	// inspect while the agent runs goes through its endpoint.
	var out bytes.Buffer
	if code := run(context.Background(), []string{"inspect", "--config", e.cfgPath, "--json"}, &out, io.Discard); code != 0 {
		t.Fatalf("inspect exit %d", code)
	}
	var live map[string]any
	if err := json.Unmarshal(out.Bytes(), &live); err != nil {
		t.Fatal(err)
	}
	if live["source"] != "agent" || live["records"] != float64(len(msgs)) || live["duplicates"] == nil || live["quarantined"] != float64(0) {
		t.Errorf("inspect --json while running: %s", out.String())
	}

	if code := stop(); code != 0 {
		t.Fatalf("agent exit code %d, want 0", code)
	}
	e.verifyStore(t, msgs)

	// And from the store itself once the agent stopped.
	out.Reset()
	if code := run(context.Background(), []string{"inspect", "--config", e.cfgPath, "--json"}, &out, io.Discard); code != 0 {
		t.Fatalf("inspect exit %d", code)
	}
	var offline inspect.Report
	if err := json.Unmarshal(out.Bytes(), &offline); err != nil {
		t.Fatal(err)
	}
	if offline.Source != "store" || offline.Records != uint64(len(msgs)) || len(offline.Machines) != len(want) {
		t.Errorf("inspect --json from the store: source %q, %d records, %d machines", offline.Source, offline.Records, len(offline.Machines))
	}
}

// Messages queued in the persistent session while the agent was down arrive
// right after CONNACK, before the SUBSCRIBE is answered; none may be lost.
func TestIngestDrainsSessionQueuedWhileDown(t *testing.T) {
	broker := testenv.Mosquitto(t)
	e := newAgentEnv(t, broker)
	stop := e.startInProcess(t)
	e.waitSubscribed(t)
	if code := stop(); code != 0 { // the session now exists on the broker
		t.Fatalf("exit %d", code)
	}
	msgs := stream(3000)
	publish(t, broker, "pub", msgs)
	stop = e.startInProcess(t)
	e.waitRecords(t, uint64(len(msgs)), 0, 60*time.Second)
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	e.verifyStore(t, msgs)
}

func TestIngestQuarantinesBadInputAndKeepsTheRest(t *testing.T) {
	broker := testenv.Mosquitto(t)
	e := newAgentEnv(t, broker)
	stop := e.startInProcess(t)
	e.waitSubscribed(t)
	prefix := "budare/" + testKitchen + "/m-99/"
	bad := []struct {
		topic, payload string
		reason         record.Reason
	}{
		{prefix + "cook", `{"v":1,`, record.ReasonNotJSON},
		{prefix + "cook", `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":true,"arepa":"x","metrics":{}}`, record.ReasonBadType},
		{prefix + "cook", `{"v":7,"ts":"2026-11-26T07:31:02Z","seq":1,"arepa":"x","metrics":{}}`, record.ReasonVersion},
		{prefix + "event", `{"v":1,"ts":"2026-11-26T07:31:02Z","kind":"failure"}`, record.ReasonMissing},
		{prefix + "cook", `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1,"arepa":"x","metrics":{"t":"NaN"}}`, record.ReasonNotFinite},
		{prefix + "cook", `{"v":1,"ts":"2099-01-01T00:00:00Z","seq":1,"arepa":"x","metrics":{}}`, record.ReasonFuture},
		{prefix + "cook", `{"v":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}`, record.ReasonTooLarge},
		{prefix + "cook", `{"v":1,"ts":"yesterday","seq":1,"arepa":"x","metrics":{}}`, record.ReasonBadValue},
	}
	good := stream(100 * len(bad))
	// Interleave: 100 valid messages between every two bad ones.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := mqttpub.NewPublisher(ctx, broker.URL, "pub", 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bad {
		if err := p.Publish(ctx, good[i*100:(i+1)*100]); err != nil {
			t.Fatal(err)
		}
		if err := p.Raw(ctx, b.topic, []byte(b.payload)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	e.waitRecords(t, uint64(len(good)), uint64(len(bad)), 60*time.Second)
	rep, err := e.inspect(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != uint64(len(good)) || rep.Quarantined != uint64(len(bad)) || len(rep.Quarantine) != len(bad) {
		t.Errorf("records %d quarantined %d (kept %d), want %d and %d", rep.Records, rep.Quarantined, len(rep.Quarantine), len(good), len(bad))
	}
	got := map[string]int{}
	for _, q := range rep.Quarantine {
		got[q.Reason]++
	}
	want := map[string]int{}
	for _, b := range bad {
		want[string(b.reason)]++
	}
	for r, n := range want {
		if got[r] != n {
			t.Errorf("quarantine holds %d of reason %s, want %d (all: %v)", got[r], r, n, got)
		}
	}
	metrics := get(t, "http://"+e.listen+"/metrics")
	for r, n := range want {
		line := fmt.Sprintf("budare_agent_ingest_rejected_total{reason=%q} %d", r, n)
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if h := get(t, "http://"+e.listen+"/healthz"); !strings.HasPrefix(h, "ok") {
		t.Errorf("/healthz = %q: bad input must not make the agent unhealthy", h)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	e.verifyStore(t, good)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckConfigListsEveryProblemOnItsOwnLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	bad := `kitchen = "k 17"
timezone = "Mars/Olympus"
listen = "nope"
bogus = 1
[mqtt]
broker = "127.0.0.1:1883"
batch_max = 0
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check-config", "--config", path}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, want := range []string{"kitchen", "timezone", "listen", "bogus", "mqtt.broker", "batch_max"} {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, path+": ") && strings.Contains(l, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("want exactly one line about %s, got %d in:\n%s", want, n, out.String())
		}
	}
	if len(lines) != 6 {
		t.Errorf("got %d lines, want one per problem (6):\n%s", len(lines), out.String())
	}
	if !strings.Contains(errb.String(), "6 problem") {
		t.Errorf("stderr %q does not summarise the count", errb.String())
	}

	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("kitchen = \"k-017\"\ndata_dir = \"/tmp/x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check-config", "--config", good}, &out, &errb); code != 0 {
		t.Fatalf("valid config: exit %d: %s", code, out.String())
	}
}

// The example config must stay valid once its kitchen is set, and document
// every key. Unedited, check-config and run refuse its placeholder kitchen
// with one line saying what to do, so gateways installed and started as
// shipped never share a kitchen's windows.
func TestExampleConfigIsValid(t *testing.T) {
	b, err := os.ReadFile("../packaging/agent.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, kitchen string
		want          int
	}{
		{"as shipped", config.KitchenPlaceholder, 1},
		{"placeholder in lower case", "change-me", 1},
		{"kitchen set", "k-017", 0},
	} {
		doc := strings.Replace(string(b), `kitchen = "`+config.KitchenPlaceholder+`"`, `kitchen = "`+tc.kitchen+`"`, 1)
		if !strings.Contains(doc, `kitchen = "`+tc.kitchen+`"`) {
			t.Fatalf("the example has no kitchen = %q line", config.KitchenPlaceholder)
		}
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".toml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"check-config", "run"} {
			if cmd == "run" && tc.want == 0 {
				continue // would run an agent
			}
			var out bytes.Buffer
			code := run(context.Background(), []string{cmd, "--config", path}, &out, &out)
			if code != tc.want {
				t.Fatalf("%s, %s: exit %d, want %d:\n%s", tc.name, cmd, code, tc.want, out.String())
			}
			if tc.want != 0 {
				problems := strings.Count(out.String(), path+": ")
				if problems != 1 || !strings.Contains(out.String(), "kitchen is still the placeholder") ||
					!strings.Contains(out.String(), "inventory/kitchens.csv") {
					t.Fatalf("%s, %s: want one problem naming the placeholder and what to set:\n%s", tc.name, cmd, out.String())
				}
			}
		}
	}
}

// agentBinary builds budare-agent once per test that needs a real process.
func agentBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "budare-agent")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type agentProc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func (e *agentEnv) startProcess(t *testing.T, bin string) *agentProc {
	t.Helper()
	p := &agentProc{cmd: exec.Command(bin, "run", "--config", e.cfgPath), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	exited := make(chan int, 1)
	go func() { <-p.done; exited <- p.cmd.ProcessState.ExitCode() }()
	e.waitHTTP(t, exited)
	return p
}

func (p *agentProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("agent did not exit; log:\n%s", p.logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// The agent process killed with SIGKILL in the middle of a stream, then
// restarted: every message is stored, none twice.
func TestIngestSurvivesKillAndSigterm(t *testing.T) {
	bin := agentBinary(t)

	t.Run("SIGKILL mid-stream", func(t *testing.T) {
		broker := testenv.Mosquitto(t)
		e := newAgentEnv(t, broker)
		p := e.startProcess(t, bin)
		e.waitSubscribed(t)
		msgs := stream(20000)
		pubDone := make(chan struct{})
		go func() { defer close(pubDone); publish(t, broker, "pub", msgs) }()
		e.waitRecords(t, 4000, 0, 60*time.Second)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait(t)
		<-pubDone // the rest is queued in the agent's session meanwhile
		p = e.startProcess(t, bin)
		rep := e.waitRecords(t, uint64(len(msgs)), 0, 90*time.Second)
		t.Logf("after restart: %d records, %d redeliveries dropped", rep.Records, rep.Duplicates)
		time.Sleep(200 * time.Millisecond) // anything extra would show now
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit %d after SIGTERM; log:\n%s", code, p.logs.String())
		}
		e.verifyStore(t, msgs)
	})

	t.Run("SIGTERM mid-stream exits 0 and loses nothing", func(t *testing.T) {
		broker := testenv.Mosquitto(t)
		e := newAgentEnv(t, broker)
		p := e.startProcess(t, bin)
		e.waitSubscribed(t)
		msgs := stream(8000)
		pubDone := make(chan struct{})
		go func() { defer close(pubDone); publish(t, broker, "pub", msgs) }()
		e.waitRecords(t, 2000, 0, 60*time.Second)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit %d after SIGTERM, want 0; log:\n%s", code, p.logs.String())
		}
		if !strings.Contains(p.logs.String(), "stopped cleanly") {
			t.Errorf("log does not report a clean stop:\n%s", p.logs.String())
		}
		<-pubDone
		p = e.startProcess(t, bin)
		e.waitRecords(t, uint64(len(msgs)), 0, 90*time.Second)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit %d", code)
		}
		e.verifyStore(t, msgs)
	})
}

// Every key of the config appears in the example, commented out or not.
func TestExampleConfigDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../packaging/agent.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	example := string(b)
	var walk func(prefix string, typ reflect.Type)
	walk = func(section string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := strings.Split(f.Tag.Get("toml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(config.Duration{}) {
				if !strings.Contains(example, "\n["+key+"]\n") {
					t.Errorf("example lacks section [%s]", key)
				}
				walk(key, ft)
				continue
			}
			re := regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(key) + ` = `)
			if !re.MatchString(sectionText(example, section)) {
				t.Errorf("example does not document %s.%s", section, key)
			}
		}
	}
	walk("", reflect.TypeOf(config.Config{}))
}

// sectionText is the part of a TOML file under [section] ("" = top level).
func sectionText(doc, section string) string {
	start := 0
	if section != "" {
		i := strings.Index(doc, "\n["+section+"]\n")
		if i < 0 {
			return ""
		}
		start = i + 1
	}
	rest := doc[start:]
	if j := strings.Index(rest[1:], "\n["); j >= 0 {
		return rest[:j+2]
	}
	return rest
}

// A broker restart (e.g. an upgrade of Mosquitto on the gateway) while the
// agent runs: the agent reconnects to its persisted session and misses
// nothing published before or after.
func TestIngestSurvivesBrokerRestart(t *testing.T) {
	broker := testenv.Mosquitto(t)
	e := newAgentEnv(t, broker)
	stop := e.startInProcess(t)
	e.waitSubscribed(t)
	msgs := stream(4000)
	publish(t, broker, "pub-a", msgs[:2000])
	e.waitRecords(t, 2000, 0, 60*time.Second)
	broker.Stop()
	if err := broker.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish(t, broker, "pub-b", msgs[2000:]) // queued in the session if the agent is not back yet
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", broker.Log())
		}
	})
	e.waitRecords(t, uint64(len(msgs)), 0, 60*time.Second)
	e.waitSubscribed(t)
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	e.verifyStore(t, msgs)
}
