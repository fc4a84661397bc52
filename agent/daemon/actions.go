package daemon

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/internal/mqttconn"
	"github.com/budare/budare/internal/record"
)

// RetainedActions subscribes to the kitchen's action topics as a machine's
// display does and returns each machine's retained action payload: what a
// display that connects now is shown. It waits up to timeout until at
// least want machines have one; fewer is no error here.
func RetainedActions(ctx context.Context, cfg *config.Config, want int, timeout time.Duration) (map[string][]byte, error) {
	pw, tc, err := mqttCredentials(cfg)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	got := map[string][]byte{}
	o := paho.NewClientOptions().AddBroker(cfg.MQTT.Broker).SetClientID(fmt.Sprintf("%s-actions-%d", cfg.MQTT.ClientID, time.Now().UnixNano()%1e6)).
		SetCleanSession(true).SetUsername(cfg.MQTT.Username).SetPassword(pw).SetConnectTimeout(timeout)
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(timeout) || tok.Error() != nil {
		return nil, fmt.Errorf("actions: connect to %s: %w", cfg.MQTT.Broker, mqttconn.Explain(ctx, cfg.MQTT.Broker, tok.Error()))
	}
	defer c.Disconnect(100)
	topic := record.ActionFilter(cfg.Kitchen)
	onMsg := func(_ paho.Client, m paho.Message) {
		if !m.Retained() {
			return
		}
		mu.Lock()
		got[strings.Split(m.Topic(), "/")[2]] = m.Payload()
		mu.Unlock()
	}
	tok := c.Subscribe(topic, 1, onMsg)
	if !tok.WaitTimeout(timeout) || tok.Error() != nil {
		return nil, fmt.Errorf("actions: subscribe %s: %v", topic, tok.Error())
	}
	// Retained messages arrive right after the subscription; a new one
	// published later is not retained for this subscriber, so want
	// subscribes afresh until it is met.
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		c.Unsubscribe(topic).WaitTimeout(timeout)
		c.Subscribe(topic, 1, onMsg).WaitTimeout(timeout)
	}
	mu.Lock()
	defer mu.Unlock()
	// A copy: a message still arriving must not write to what the caller reads.
	return maps.Clone(got), nil
}
