package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/record"
)

// cmdActions subscribes to the kitchen's action topics as a machine's
// display does and prints the retained action of each machine: what a
// display that connects now is shown.
func cmdActions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("actions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultConfig, "agent config file (TOML)")
	want := fs.Int("want", 0, "wait until at least this many machines have a retained action")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the broker and for --want")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, stderr)
	if err != nil {
		return err
	}
	pw, err := cfg.MQTTPassword()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	got := map[string][]byte{}
	o := paho.NewClientOptions().AddBroker(cfg.MQTT.Broker).SetClientID(fmt.Sprintf("%s-actions-%d", cfg.MQTT.ClientID, time.Now().UnixNano()%1e6)).
		SetCleanSession(true).SetUsername(cfg.MQTT.Username).SetPassword(pw).SetConnectTimeout(*timeout)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(*timeout) || tok.Error() != nil {
		return fmt.Errorf("actions: connect to %s: %v", cfg.MQTT.Broker, tok.Error())
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
	if !tok.WaitTimeout(*timeout) || tok.Error() != nil {
		return fmt.Errorf("actions: subscribe %s: %v", topic, tok.Error())
	}
	// Retained messages arrive right after the subscription; a new one
	// published later is not retained for this subscriber, so --want
	// subscribes afresh until it is met.
	deadline := time.Now().Add(*timeout)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= *want || time.Now().After(deadline) {
			break
		}
		c.Unsubscribe(topic).WaitTimeout(*timeout)
		c.Subscribe(topic, 1, onMsg).WaitTimeout(*timeout)
	}
	mu.Lock()
	defer mu.Unlock()
	machines := make([]string, 0, len(got))
	for m := range got {
		machines = append(machines, m)
	}
	slices.Sort(machines)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tlevel\trisk\tday\treasons\n", topic)
	for _, m := range machines {
		var a action.Action
		if err := json.Unmarshal(got[m], &a); err != nil {
			fmt.Fprintf(tw, "%s\t(unreadable: %v)\n", m, err)
			continue
		}
		risk := "-"
		if a.Level != action.LevelUnknown {
			risk = fmt.Sprintf("%.2f", a.Risk)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m, a.Level, risk, a.Date, strings.Join(a.Reasons, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(got) < *want {
		return fmt.Errorf("actions: %d of %d machines have a retained action after %s", len(got), *want, *timeout)
	}
	return nil
}
