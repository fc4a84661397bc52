package morning

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/pubconn"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
)

// bigDay is a decided day of n machines with realistic payloads: six arepa
// types and three reasons each. Its v1 summary (the whole document) is
// well over packaging's 256 KiB max_packet_size at 1,500 machines.
func bigDay(kitchen, day string, n int) *decide.Day {
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	d := &decide.Day{V: decide.Version, Date: day, Kitchen: kitchen, ModelRelease: 9, DecidedAt: at, Counts: map[string]int{}}
	levels := []string{decide.LevelNone, decide.LevelNone, decide.LevelNone, decide.LevelNone, decide.LevelInspect, decide.LevelNone, decide.LevelUnknown, decide.LevelService, decide.LevelNone, decide.LevelStop}
	for i := range n {
		l := levels[i%len(levels)]
		a := decide.Action{V: decide.Version, Date: day, Kitchen: kitchen, Machine: fmt.Sprintf("m-%04d", i), Level: l,
			Risk: float64(i%97) / 100, ByArepa: map[string]float64{}, ModelRelease: 9, DataDays: 7, DecidedAt: at}
		for _, ar := range []string{"reina-pepiada", "domino", "pabellon", "catira", "peluda", "sifrina"} {
			a.ByArepa[ar] = float64(i%89) / 100
		}
		a.Reasons = []string{"vibration_mm_s 2.9, 7-day mean 1.4", "plate_temp_c 241.2, 7-day mean 231.0", "motor_current_a spread 0.41, usual 0.12"}
		d.Actions = append(d.Actions, a)
		d.Counts[l]++
	}
	return d
}

// statusWatch records every agent status a display receives.
func statusWatch(d *display, kitchen string) func() []string {
	return func() []string {
		var out []string
		for _, m := range d.snapshot()[record.StatusTopic(kitchen)] {
			var s pubconn.AgentStatus
			if json.Unmarshal(m.Payload(), &s) == nil {
				out = append(out, s.State)
			}
		}
		return out
	}
}

// TestLargeKitchenSummaryFitsShippedBroker publishes a 1,500-machine day
// through packaging/mosquitto/budare.conf (max_packet_size 256 KiB, its
// ACL, passwords): every action and a summary that fits arrive, the agent
// never shows offline, and the full document goes to the bucket.
func TestLargeKitchenSummaryFitsShippedBroker(t *testing.T) {
	const kitchen, day = "k-017", "2026-11-27"
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{
		ConfigFile: "../../packaging/mosquitto/budare.conf", ACLFile: "../../packaging/mosquitto/budare.acl",
		Users: map[string]string{"budare-agent": "pw-agent", "display": "pw-display"},
	})
	d := bigDay(kitchen, day, 1500)
	if v1, _ := json.Marshal(d); len(v1) <= 256<<10 {
		t.Fatalf("the whole day is %d bytes: too small to show the bug", len(v1))
	}

	disp := newAuthDisplay(t, broker.URL, "display-1", "display", "pw-display",
		record.SummaryTopic(kitchen), record.StatusTopic(kitchen), "budare/"+kitchen+"/+/action")
	mq, err := pubconn.New(pubconn.Options{Broker: broker.URL, ClientID: "budare-agent-k-017-pub", Username: "budare-agent",
		Password: "pw-agent", Kitchen: kitchen, Version: "test", AgentStatus: true})
	if err != nil {
		t.Fatal(err)
	}
	mq.Start()
	t.Cleanup(func() { mq.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := mq.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	states := statusWatch(disp, kitchen)
	waitFor(t, "online", func() bool { s := states(); return len(s) > 0 && s[len(s)-1] == "online" })

	svc, st, health := bigService(t, mq)
	var mu sync.Mutex
	uploaded := map[string][]byte{}
	svc.Put = func(_ context.Context, key string, data []byte, _ map[string]string) error {
		mu.Lock()
		defer mu.Unlock()
		uploaded[key] = data
		return nil
	}
	if err := st.PutState(StateDays, day, &dayDoc{Day: d, Published: map[string]bool{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunDay(ctx, day, time.Date(2026, 11, 27, 9, 31, 0, 0, time.UTC)); err != nil {
		t.Fatalf("RunDay: %v\n%s", err, broker.Log())
	}

	waitFor(t, "the summary and 1,500 actions", func() bool {
		snap := disp.snapshot()
		n := 0
		for topic := range snap {
			if strings.HasSuffix(topic, "/action") {
				n++
			}
		}
		return n == 1500 && len(snap[record.SummaryTopic(kitchen)]) == 1
	})
	raw := disp.snapshot()[record.SummaryTopic(kitchen)][0].Payload()
	v1, _ := json.Marshal(d)
	t.Logf("1,500 machines: whole day %d bytes, summary %d bytes", len(v1), len(raw))
	if pubconn.PacketSize(record.SummaryTopic(kitchen), len(raw)) > 256<<10 {
		t.Fatalf("summary packet is %d bytes", pubconn.PacketSize(record.SummaryTopic(kitchen), len(raw)))
	}
	var sum action.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.V != action.SummaryVersion || sum.Machines != 1500 || sum.Omitted+len(sum.Actions) != 1500 ||
		sum.Full != action.Key(kitchen, day) || sum.Counts[decide.LevelStop] != 150 {
		t.Fatalf("summary v%d machines %d omitted %d listed %d full %q counts %v", sum.V, sum.Machines, sum.Omitted, len(sum.Actions), sum.Full, sum.Counts)
	}
	if sum.Actions[0].Level != decide.LevelStop || sum.Actions[0].Reason == "" {
		t.Fatalf("summary starts with %+v, want a stop with its reason", sum.Actions[0])
	}
	for _, s := range states() {
		if s != "online" {
			t.Fatalf("the agent showed %q while publishing: %v", s, states())
		}
	}
	if !mq.IsConnected() {
		t.Fatal("publisher disconnected")
	}
	if ok, lines := health.Report(); !ok {
		t.Fatalf("health: %v", lines)
	}
	mu.Lock()
	full, err := action.DecodeDay(uploaded[action.Key(kitchen, day)])
	mu.Unlock()
	if err != nil || len(full.Actions) != 1500 || len(full.Actions[0].Reasons) != 3 {
		t.Fatalf("uploaded full document: %v", err)
	}
}

// TestBrokerLimitBelowConfigured: the broker's max_packet_size is below
// what the agent was told. The broker drops the connection on the summary;
// after two drops the agent halves the summary and it goes out, the drops
// are counted, and the will fires at most twice (no endless flapping).
func TestBrokerLimitBelowConfigured(t *testing.T) {
	const kitchen, day = "k-017", "2026-11-27"
	broker := testenv.Mosquitto(t, testenv.MosquittoOptions{Extra: []string{"max_packet_size 65536"}})
	disp := newDisplay(t, broker.URL, "display-2", record.SummaryTopic(kitchen), record.StatusTopic(kitchen))
	mq, err := pubconn.New(pubconn.Options{Broker: broker.URL, ClientID: "k-pub", Kitchen: kitchen, Version: "test",
		AgentStatus: true, MaxPacket: 256 << 10, PublishTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mq.Start()
	t.Cleanup(func() { mq.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := mq.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	svc, st, health := bigService(t, mq)
	reg := prometheus.NewRegistry()
	if err := svc.Register(reg); err != nil {
		t.Fatal(err)
	}
	d := bigDay(kitchen, day, 1500)
	if err := st.PutState(StateDays, day, &dayDoc{Day: d, Published: map[string]bool{}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 9, 31, 0, 0, time.UTC)
	// Each attempt stops at the first transient error (the publisher is
	// reconnecting); the service's retries are what Run does.
	for i := 0; i < 20; i++ {
		if err := mq.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RunDay(ctx, day, now); err == nil {
			break
		}
	}
	doc, err := svc.loadDay(day)
	if err != nil || !doc.SummaryPublished || doc.pendingPublish() != 0 {
		t.Fatalf("summary published %v, pending %d (%v)", doc.SummaryPublished, doc.pendingPublish(), err)
	}
	waitFor(t, "the summary", func() bool { return len(disp.snapshot()[record.SummaryTopic(kitchen)]) == 1 })
	var sum action.Summary
	if err := json.Unmarshal(disp.snapshot()[record.SummaryTopic(kitchen)][0].Payload(), &sum); err != nil || sum.Omitted == 0 {
		t.Fatalf("summary omitted %d (%v): want a cut summary", sum.Omitted, err)
	}
	if got := testutil.ToFloat64(svc.metrics.refused.WithLabelValues("dropped")); got != 1 {
		t.Errorf("refused{dropped} = %v, want 1", got)
	}
	offline := 0
	for _, s := range statusWatch(disp, kitchen)() {
		if s == "offline" {
			offline++
		}
	}
	if offline > 2 {
		t.Errorf("the will fired %d times", offline)
	}
	_ = health
}

// TestRefusedActionReported: an action the publisher refuses as too large
// is given up (not retried), and shows in health, metrics and status.
func TestRefusedActionReported(t *testing.T) {
	pub := &limitPub{max: 2000}
	svc, st, health := bigService(t, pub)
	d := bigDay("k-1", "2026-11-27", 3)
	d.Actions[1].Reasons = []string{strings.Repeat("x", 3000)}
	if err := st.PutState(StateDays, "2026-11-27", &dayDoc{Day: d, Published: map[string]bool{}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 9, 31, 0, 0, time.UTC)
	for range 2 {
		if _, err := svc.RunDay(context.Background(), "2026-11-27", now); err != nil {
			t.Fatal(err)
		}
	}
	if pub.tries["budare/k-1/m-0001/action"] != 1 {
		t.Errorf("the refused action was tried %d times, want 1", pub.tries["budare/k-1/m-0001/action"])
	}
	if pub.ok != 3 { // two actions and the summary
		t.Errorf("%d messages published, want 3", pub.ok)
	}
	if got := testutil.ToFloat64(svc.metrics.refused.WithLabelValues("too_large")); got != 1 {
		t.Errorf("refused{too_large} = %v", got)
	}
	ok, lines := health.Report()
	if ok || !strings.Contains(strings.Join(lines, " "), "refuses 1 machine action") {
		t.Errorf("health ok=%v %v", ok, lines)
	}
	if s := svc.Status(); s.PendingPublish != 0 || !strings.Contains(s.LastError, "max_packet_size") {
		t.Errorf("status %+v", s)
	}
}

// limitPub refuses payloads over max as the MQTT publisher does.
type limitPub struct {
	mu    sync.Mutex
	max   int
	tries map[string]int
	ok    int
}

func (p *limitPub) Publish(_ context.Context, topic string, payload []byte, _ bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tries == nil {
		p.tries = map[string]int{}
	}
	p.tries[topic]++
	if len(payload) > p.max {
		return fmt.Errorf("publish %s: %w", topic, pubconn.ErrTooLarge)
	}
	p.ok++
	return nil
}

// testHealth is a minimal status.Health.
type testHealth struct {
	mu sync.Mutex
	m  map[string]error
}

func (h *testHealth) Set(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]error{}
	}
	h.m[name] = err
}

func (h *testHealth) Report() (bool, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for k, err := range h.m {
		if err != nil {
			lines = append(lines, k+": "+err.Error())
		}
	}
	return len(lines) == 0, lines
}

func bigService(t *testing.T, pub Publisher) (*Service, StateStore, *testHealth) {
	t.Helper()
	loc := time.UTC
	st := decidetest.OpenStore(t, t.TempDir(), loc)
	h := &testHealth{}
	return &Service{Decider: &decide.Decider{Kitchen: "k-017", Location: loc, Records: st},
		State: st, Pub: pub, Health: h}, st, h
}

// newAuthDisplay is newDisplay with a user name and password.
func newAuthDisplay(t *testing.T, broker, id, user, pass string, filters ...string) *display {
	t.Helper()
	return newDisplayOpts(t, broker, id, func(o *mqttOptions) { o.SetUsername(user).SetPassword(pass) }, filters...)
}
