package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/testenv"
)

// embeddedEnv is an agent whose config runs its own broker.
func embeddedEnv(t *testing.T) (*agentEnv, string) {
	t.Helper()
	dir := t.TempDir()
	ports := make([]int, 2)
	for i := range ports {
		p, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	mq := fmt.Sprintf("127.0.0.1:%d", ports[1])
	e := &agentEnv{cfgPath: filepath.Join(dir, "agent.toml"), dataDir: filepath.Join(dir, "data"),
		listen: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	cfg := fmt.Sprintf("kitchen = %q\ndata_dir = %q\nlisten = %q\ntimezone = \"America/Caracas\"\n[mqtt]\nembedded = %q\n",
		testKitchen, e.dataDir, e.listen, mq)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e, mq
}

// retainedActions subscribes like a display that just connected, until it
// sees want retained actions (or 45 s pass), and returns them by machine.
func retainedActions(t *testing.T, addr string, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		got := retainedOnce(t, addr)
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func retainedOnce(t *testing.T, addr string) map[string]string {
	t.Helper()
	var mu sync.Mutex
	got := map[string]string{}
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("display").SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("display connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	tok := c.Subscribe("budare/"+testKitchen+"/+/action", 1, func(_ paho.Client, m paho.Message) {
		if m.Retained() { // what a display that connects now is given
			mu.Lock()
			got[strings.Split(m.Topic(), "/")[2]] = string(m.Payload())
			mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("display subscribe: %v", tok.Error())
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	return maps.Clone(got)
}

// A kitchen without Mosquitto: the agent's embedded broker takes the
// machines' messages, the agent ingests them and publishes one retained
// action per machine, and the displays still read them after a restart.
func TestEmbeddedBrokerIngestsAndKeepsRetainedActions(t *testing.T) {
	e, mq := embeddedEnv(t)
	stop := e.startInProcess(t)
	e.waitSubscribed(t)
	msgs := stream(2000)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := mqttpub.NewPublisher(ctx, "tcp://"+mq, "machines", 500)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	p.Close()
	e.waitRecords(t, uint64(len(msgs)), 0, 30*time.Second)

	// The agent decides by itself once machines have reported (its start
	// of day, 05:00 in the kitchen by default, is past or the test's day
	// is decided on the next check).
	const machines = 7 // stream's
	before := retainedActions(t, mq, machines)
	if len(before) != machines {
		t.Fatalf("retained actions for %d machines, want %d: %v", len(before), machines, before)
	}
	if code := stop(); code != 0 {
		t.Fatalf("agent exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "broker", "broker.db")); err != nil {
		t.Fatalf("broker store: %v", err)
	}

	e.startInProcess(t)
	after := retainedActions(t, mq, machines)
	for m, p := range before {
		if after[m] != p {
			t.Errorf("machine %s: retained action after restart %q, want %q", m, after[m], p)
		}
	}

	// `budare-agent actions` shows the same, one line a machine.
	var out strings.Builder
	if code := run(ctx, []string{"actions", "--config", e.cfgPath, "--want", "7", "--timeout", "20s"}, &out, &out); code != 0 {
		t.Fatalf("actions exit %d:\n%s", code, out.String())
	}
	if lines := strings.Count(out.String(), "\n"); lines != machines+1 || !regexp.MustCompile(`(?m)^m-06 +unknown +- `).MatchString(out.String()) {
		t.Errorf("actions printed %d lines, want a header and %d machines:\n%s", lines, machines, out.String())
	}
}
