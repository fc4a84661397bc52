package pubconn

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
)

// proxy forwards TCP to the broker; cut drops every connection without an
// MQTT DISCONNECT, as a crash or a pulled cable does.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	t.Cleanup(func() { l.Close(); p.cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// subscribe collects the payloads published on topic, as a display does.
func subscribe(t *testing.T, broker, topic string) func() [][]byte {
	t.Helper()
	var mu sync.Mutex
	var got [][]byte
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("display-" + t.Name()).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("display connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		got = append(got, m.Payload())
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	return func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLastWillAndOnlineAgain: when the publisher's connection dies without
// a DISCONNECT the broker publishes the retained "offline" will; when the
// connection comes back the agent says "online" again.
func TestLastWillAndOnlineAgain(t *testing.T) {
	broker := testenv.Mosquitto(t)
	px := newProxy(t, strings.TrimPrefix(broker.URL, "tcp://"))
	mq, err := New(Options{Broker: "tcp://" + px.l.Addr().String(), ClientID: "k-1-pub", Kitchen: "k-1",
		Version: "v-test", AgentStatus: true, Release: func() int64 { return 4 }})
	if err != nil {
		t.Fatal(err)
	}
	mq.Start()
	defer mq.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mq.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	statuses := subscribe(t, broker.URL, record.StatusTopic("k-1"))
	states := func() []AgentStatus {
		var out []AgentStatus
		for _, b := range statuses() {
			var s AgentStatus
			if json.Unmarshal(b, &s) == nil {
				out = append(out, s)
			}
		}
		return out
	}
	waitFor(t, "online", func() bool {
		s := states()
		return len(s) > 0 && s[len(s)-1].State == "online" && s[len(s)-1].ModelRelease == 4 && s[len(s)-1].Version == "v-test"
	})
	px.cut()
	waitFor(t, "the offline will", func() bool {
		for _, s := range states() {
			if s.State == "offline" {
				return true
			}
		}
		return false
	})
	waitFor(t, "online after reconnecting", func() bool {
		s := states()
		return s[len(s)-1].State == "online"
	})
}
