package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/internal/testenv"
)

func TestDecideCommand(t *testing.T) {
	broker := testenv.Mosquitto(t)
	dir := t.TempDir()
	loc, err := time.LoadLocation("America/Caracas")
	if err != nil {
		t.Fatal(err)
	}
	// Only today's decision may be published, so the kitchen's data ends yesterday.
	day := time.Now().In(loc).Format(time.DateOnly)
	if err := decidetest.Kitchen(dir, 12, 8, 20, 2, day, "America/Caracas"); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "agent.toml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(b), "tcp://127.0.0.1:1", broker.URL, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	decideCmd := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"decide", "--config", cfgPath}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}

	// Dry run, JSON: every machine, nothing persisted.
	out, stderr, code := decideCmd("--dry-run", "--json", "--date", day)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var d decide.Day
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if len(d.Actions) != 12 || d.ModelRelease != 1 || d.Date != day {
		t.Fatalf("dry run: %d actions, release %d, date %s", len(d.Actions), d.ModelRelease, d.Date)
	}
	if d.Counts[decide.LevelNone] == 0 || d.Counts[decide.LevelNone] == 12 {
		t.Fatalf("counts %v: want some machines flagged and some not", d.Counts)
	}

	// Table.
	out, stderr, code = decideCmd("--dry-run", "--date", day)
	if code != 0 || !strings.Contains(out, "machine") || !strings.Contains(out, "m-001") || !strings.Contains(out, "12 machines") {
		t.Fatalf("table (exit %d, %s):\n%s", code, stderr, out)
	}

	// For real (today, the default date): persisted and published; a second
	// run prints the same decision without deciding again.
	out, stderr, code = decideCmd("--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var first decide.Day
	if err := json.Unmarshal([]byte(out), &first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	out, _, _ = decideCmd("--json")
	var second decide.Day
	if err := json.Unmarshal([]byte(out), &second); err != nil {
		t.Fatal(err)
	}
	if !second.DecidedAt.Equal(first.DecidedAt) {
		t.Fatalf("decided again: %s then %s", first.DecidedAt, second.DecidedAt)
	}

	// A display subscribing now sees the retained actions.
	var mu sync.Mutex
	got := map[string]bool{}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("display"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	c.Subscribe("budare/k-bench/+/action", 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		got[m.Topic()] = m.Retained()
		mu.Unlock()
	}).WaitTimeout(5 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("display got %d retained actions, want 12", n)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// While the agent runs (holding the store's lock) a dry run asks it.
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(cfgPath)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(b), `listen = ""`, fmt.Sprintf("listen = %q", listen), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	logw := &syncBuffer{}
	go func() { done <- run(ctx, []string{"run", "--config", cfgPath}, io.Discard, logw) }()
	deadline = time.Now().Add(20 * time.Second)
	for { // the agent's endpoint is up once it has the store
		resp, err := http.Get("http://" + listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			logw.mu.Lock()
			defer logw.mu.Unlock()
			t.Fatalf("agent endpoint never came up: %v\n%s", err, logw.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		out, stderr, code = decideCmd("--dry-run", "--json", "--date", day, "--timeout", "1s")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("dry run while the agent runs: exit %d: %s", code, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var live decide.Day
	if err := json.Unmarshal([]byte(out), &live); err != nil || len(live.Actions) != 12 || live.ModelRelease != 1 {
		cancel()
		t.Fatalf("dry run via the agent: %d actions, release %d, %v", len(live.Actions), live.ModelRelease, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("agent exit %d", code)
	}

	// Another day is only looked at, never published.
	if _, stderr, code := decideCmd("--date", "2026-01-02"); code != 1 || !strings.Contains(stderr, "--dry-run") {
		t.Fatalf("publishing another day: exit %d (%s), want refused", code, stderr)
	}

	// Bad usage.
	if _, _, code := decideCmd("--date", "27/11/2026"); code != 2 {
		t.Fatalf("bad date: exit %d, want 2", code)
	}
}
