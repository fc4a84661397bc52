package broker

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func start(t *testing.T, dir, addr string) *Broker {
	t.Helper()
	b, err := Start(Options{Addr: addr, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func connect(t *testing.T, addr, id string, clean bool, onMsg paho.MessageHandler) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func wait(t *testing.T, tok paho.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

// collector gathers messages by topic.
type collector struct {
	mu   sync.Mutex
	msgs map[string]string
	n    int
}

func (c *collector) handle(_ paho.Client, m paho.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.msgs == nil {
		c.msgs = map[string]string{}
	}
	c.msgs[m.Topic()] = string(m.Payload())
	c.n++
}

func (c *collector) waitFor(t *testing.T, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.msgs)
		c.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d topics", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msgs
}

// The displays read the retained actions: they must still be there after
// the agent (and so the broker) restarts, and more than a day later.
func TestRetainedMessagesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b := start(t, dir, "127.0.0.1:0")
	pub := connect(t, b.Addr(), "pub", true, nil)
	for i := range 5 {
		wait(t, pub.Publish(fmt.Sprintf("budare/k-1/m-%02d/action", i), 1, true, fmt.Sprintf(`{"level":"ok","i":%d}`, i)), "publish")
	}
	// Replacing one keeps only the newest.
	wait(t, pub.Publish("budare/k-1/m-00/action", 1, true, `{"level":"stop"}`), "publish")
	pub.Disconnect(100)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := start(t, dir, "127.0.0.1:0")
	var c collector
	sub := connect(t, b2.Addr(), "display", true, c.handle)
	wait(t, sub.Subscribe("budare/k-1/+/action", 1, nil), "subscribe")
	got := c.waitFor(t, 5)
	if got["budare/k-1/m-00/action"] != `{"level":"stop"}` || got["budare/k-1/m-04/action"] != `{"level":"ok","i":4}` {
		t.Errorf("retained after restart: %v", got)
	}
}

func TestSecondBrokerOnTheSameDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	start(t, dir, "127.0.0.1:0")
	_, err := Start(Options{Addr: "127.0.0.1:0", Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second broker: %v, want a lock error", err)
	}
}

func TestBusyAddressIsOneLine(t *testing.T) {
	b := start(t, t.TempDir(), "127.0.0.1:0")
	_, err := Start(Options{Addr: b.Addr(), Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "listen on "+b.Addr()) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("busy address: %v", err)
	}
}
