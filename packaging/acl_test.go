package packaging_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/internal/testenv"
)

// aclClient connects to the broker as user (password "pw-"+user) and
// records what it receives on filters.
type aclClient struct {
	c    mqtt.Client
	mu   sync.Mutex
	msgs map[string]bool // topic + " " + payload
}

func connectACL(t *testing.T, url, user string, filters ...string) *aclClient {
	t.Helper()
	a := &aclClient{msgs: map[string]bool{}}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("acl-" + user).SetUsername(user).SetPassword("pw-" + user).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	a.c = mqtt.NewClient(o)
	if tok := a.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", user, tok.Error())
	}
	t.Cleanup(func() { a.c.Disconnect(100) })
	for _, f := range filters {
		// A denied subscription is accepted by Mosquitto 2.0 but delivers
		// nothing; what arrives is what the test checks.
		tok := a.c.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) {
			a.mu.Lock()
			a.msgs[m.Topic()+" "+string(m.Payload())] = true
			a.mu.Unlock()
		})
		if !tok.WaitTimeout(5 * time.Second) {
			t.Fatalf("%s: subscribe %s: timeout", user, f)
		}
	}
	return a
}

func (a *aclClient) pub(t *testing.T, topic, payload string) {
	t.Helper()
	// A denied publish is acknowledged and dropped (MQTT 3.1.1 has no way
	// to say no), so the error is not the check either.
	a.c.Publish(topic, 1, false, payload).WaitTimeout(5 * time.Second)
}

func (a *aclClient) got(topic, payload string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.msgs[topic+" "+payload]
}

// TestShippedACL runs packaging/mosquitto/budare.conf with the shipped ACL
// for kitchen k-017 and checks every rule by what is delivered: the agent
// reads and writes its kitchen's tree and nothing of kitchen k-018; a
// display only reads actions; a machine writes only its own records.
func TestShippedACL(t *testing.T) {
	// An observer that sees and may write everything, appended to the
	// shipped list, stands for another kitchen's clients.
	shipped, err := os.ReadFile("mosquitto/budare.acl")
	if err != nil {
		t.Fatal(err)
	}
	acl := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(acl, append(shipped, "\nuser observer\ntopic readwrite #\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, u := range []string{"budare-agent", "display", "m-01", "m-02", "observer"} {
		users[u] = "pw-" + u
	}
	b := testenv.Mosquitto(t, testenv.MosquittoOptions{ConfigFile: "mosquitto/budare.conf", ACLFile: acl, Users: users})

	obs := connectACL(t, b.URL, "observer", "#")
	agent := connectACL(t, b.URL, "budare-agent", "budare/k-017/+/cook", "budare/k-018/#")
	disp := connectACL(t, b.URL, "display", "budare/k-017/+/action", "budare/k-018/+/action")
	m1 := connectACL(t, b.URL, "m-01", "budare/k-017/m-01/action", "budare/k-017/m-02/action")

	type check struct {
		who     *aclClient
		name    string
		topic   string
		payload string
		allowed bool
	}
	n := 0
	var checks []check
	// publish: who sends on topic; observer (subscribed to #) sees it or not.
	publish := func(from *aclClient, name, topic string, allowed bool) {
		n++
		p := fmt.Sprintf("%s-%d", name, n)
		from.pub(t, topic, p)
		checks = append(checks, check{obs, name + " publishes " + topic, topic, p, allowed})
	}
	// deliver: observer sends on topic; to receives it or not.
	deliver := func(to *aclClient, name, topic string, allowed bool) {
		n++
		p := fmt.Sprintf("obs-%d", n)
		obs.pub(t, topic, p)
		checks = append(checks, check{to, name + " receives " + topic, topic, p, allowed})
	}
	publish(agent, "agent", "budare/k-017/m-01/action", true)
	publish(agent, "agent", "budare/k-017/actions", true)
	publish(agent, "agent", "budare/k-018/m-01/action", false) // another kitchen
	publish(agent, "agent", "budare/k-018/actions", false)
	publish(disp, "display", "budare/k-017/m-02/action", false) // read-only
	publish(disp, "display", "budare/k-017/m-02/cook", false)
	publish(m1, "m-01", "budare/k-017/m-01/cook", true)
	publish(m1, "m-01", "budare/k-017/m-01/event", true)
	publish(m1, "m-01", "budare/k-017/m-02/cook", false) // another machine
	publish(m1, "m-01", "budare/k-017/m-01/action", false)
	publish(m1, "m-01", "budare/k-018/m-01/cook", false) // another kitchen
	deliver(agent, "agent", "budare/k-017/m-02/cook", true)
	deliver(agent, "agent", "budare/k-018/m-02/cook", false)
	deliver(disp, "display", "budare/k-017/m-03/action", true)
	deliver(disp, "display", "budare/k-018/m-03/action", false)
	deliver(m1, "m-01", "budare/k-017/m-01/action", true)
	deliver(m1, "m-01", "budare/k-017/m-02/action", false)

	deadline := time.Now().Add(10 * time.Second)
	for _, c := range checks {
		if !c.allowed {
			continue
		}
		for {
			if c.who.got(c.topic, c.payload) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("allowed: %s, but nothing arrived\n%s", c.name, b.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Everything allowed arrived; anything refused would have by now.
	time.Sleep(300 * time.Millisecond)
	for _, c := range checks {
		if ok := c.who.got(c.topic, c.payload); ok != c.allowed {
			t.Errorf("%s: delivered %v, want %v", c.name, ok, c.allowed)
		}
	}
}

// TestShippedConfSurvivesKill9: with budare.conf's autosave settings, the
// messages the broker acknowledged to a machine for the agent's persistent
// session, and the session itself, survive the broker being killed with
// SIGKILL 100 ms after the last acknowledgement (no shutdown save; with the
// former autosave_interval 30 all 300 were lost).
func TestShippedConfSurvivesKill9(t *testing.T) {
	users := map[string]string{"budare-agent": "pw-budare-agent", "m-01": "pw-m-01"}
	b := testenv.Mosquitto(t, testenv.MosquittoOptions{ConfigFile: "mosquitto/budare.conf",
		ACLFile: "mosquitto/budare.acl", Users: users})
	const n = 300
	var mu sync.Mutex
	got := map[string]bool{}
	connect := func(id, user string, clean bool) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(b.URL).SetClientID(id).SetUsername(user).SetPassword(users[user]).
			SetCleanSession(clean).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
				mu.Lock()
				got[string(m.Payload())] = true
				mu.Unlock()
			})
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("%s connect: %v\n%s", id, tok.Error(), b.Log())
		}
		return c
	}
	agent := connect("budare-agent-k-017", "budare-agent", false)
	if tok := agent.Subscribe("budare/k-017/+/cook", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	agent.Disconnect(100)
	m1 := connect("m-01", "m-01", true)
	for i := range n {
		if tok := m1.Publish("budare/k-017/m-01/cook", 1, false, fmt.Sprint(i)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	// Mosquitto acknowledges before it saves: the save follows within the
	// same turn of its loop, milliseconds later.
	time.Sleep(100 * time.Millisecond)
	b.Kill()
	m1.Disconnect(0)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	agent = connect("budare-agent-k-017", "budare-agent", false)
	defer agent.Disconnect(100)
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after kill -9 the agent received %d of %d acknowledged messages\n%s", k, n, b.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
