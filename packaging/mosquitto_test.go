package packaging_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/internal/testenv"
)

// confValues reads a mosquitto.conf into key -> values.
func confValues(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		m[k] = append(m[k], strings.TrimSpace(v))
	}
	return m
}

func TestMosquittoConfSettings(t *testing.T) {
	c := confValues(t, "mosquitto/budare.conf")
	for k, want := range map[string]string{
		"persistence":           "true",
		"allow_anonymous":       "false",
		"max_queued_bytes":      "0",
		"per_listener_settings": "true",
	} {
		if got := strings.Join(c[k], ","); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
	// A day offline for a large kitchen: 40 machines x 300 cycles, with a
	// wide margin for events and bursts.
	if n, err := strconv.Atoi(strings.Join(c["max_queued_messages"], "")); err != nil || n < 100000 {
		t.Errorf("max_queued_messages %v: want at least 100000", c["max_queued_messages"])
	}
	for _, k := range []string{"persistence_location", "password_file", "acl_file", "autosave_interval", "listener"} {
		if len(c[k]) == 0 {
			t.Errorf("%s is not set", k)
		}
	}
}

// broker runs Mosquitto with packaging/mosquitto/budare.conf, changed only
// where a test must: its port, and paths into dir.
type broker struct {
	t    *testing.T
	bin  string
	conf string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startBroker(t *testing.T) *broker {
	t.Helper()
	bin := os.Getenv("BUDARE_MOSQUITTO_BIN")
	if bin == "" {
		bin = "/usr/sbin/mosquitto"
	}
	pw, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		pw = "/usr/bin/mosquitto_passwd"
	}
	for _, b := range []string{bin, pw} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("%s is missing (run bash .ci/setup.sh): %v", b, err)
		}
	}
	dir := t.TempDir()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("mosquitto/budare.conf")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		k, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "listener":
			line = fmt.Sprintf("listener %d 127.0.0.1", port)
		case "persistence_location":
			line = "persistence_location " + dir + "/"
		case "password_file":
			line = "password_file " + filepath.Join(dir, "passwd")
		case "acl_file":
			line = "acl_file " + filepath.Join(dir, "acl")
		}
		out = append(out, line)
	}
	if os.Geteuid() == 0 {
		// As root Mosquitto switches to user mosquitto, which cannot read
		// the test's private directory.
		out = append(out, "user root")
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	acl, err := os.ReadFile("mosquitto/budare.acl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acl"), acl, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, user := range []string{"budare-agent", "m-01", "m-02"} {
		args := []string{"-b", filepath.Join(dir, "passwd"), user, "pw-" + user}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(pw, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
	}
	b := &broker{t: t, bin: bin, conf: conf, port: port, log: filepath.Join(dir, "log")}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *broker) start() {
	b.t.Helper()
	logf, err := os.OpenFile(b.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		b.t.Fatal(err)
	}
	defer logf.Close()
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(b.cmd, b.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", b.port))
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-b.done:
			b.t.Fatalf("mosquitto exited at start:\n%s", b.tail())
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto not listening after 10s:\n%s", b.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the broker with SIGTERM, on which it saves its persistence file.
func (b *broker) stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd = nil
}

func (b *broker) tail() string {
	data, _ := os.ReadFile(b.log)
	return string(data)
}

func (b *broker) client(id, user string, clean bool, onMsg mqtt.MessageHandler) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", b.port)).
		SetClientID(id).SetCleanSession(clean).SetAutoReconnect(false).
		SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	if user != "" {
		o.SetUsername(user).SetPassword("pw-" + user)
	}
	if onMsg != nil {
		o.SetDefaultPublishHandler(onMsg)
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect %s: timeout", id)
	}
	return c, tok.Error()
}

// TestMosquittoConfKeepsADayOffline runs the sample config for real: the
// agent's persistent session keeps more messages than Mosquitto's default
// queue while the agent is away, across a broker restart, and the ACL keeps
// a machine from publishing as another and strangers out.
func TestMosquittoConfKeepsADayOffline(t *testing.T) {
	b := startBroker(t)
	const n = 3000 // the default max_queued_messages is 1000
	const agentID = "budare-agent-k-017"

	agent, err := b.client(agentID, "budare-agent", false, nil)
	if err != nil {
		t.Fatalf("agent: %v\n%s", err, b.tail())
	}
	if tok := agent.Subscribe("budare/k-017/+/cook", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	agent.Disconnect(100)

	if _, err := b.client("stranger", "", true, nil); err == nil {
		t.Error("an anonymous client connected")
	}
	m1, err := b.client("m-01", "m-01", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		tok := m1.Publish("budare/k-017/m-01/cook", 1, false, strconv.Itoa(i))
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	// Denied by the ACL: m-01 may not speak for m-02.
	m1.Publish("budare/k-017/m-02/cook", 1, false, "spoofed").WaitTimeout(5 * time.Second)
	m1.Disconnect(100)

	b.stop()
	b.start()

	var mu sync.Mutex
	got := map[string]int{}
	all := make(chan struct{})
	agent, err = b.client(agentID, "budare-agent", false, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		defer mu.Unlock()
		got[m.Topic()+" "+string(m.Payload())]++
		if len(got) == n {
			close(all)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Disconnect(100)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-all:
	case <-ctx.Done():
	}
	time.Sleep(200 * time.Millisecond) // let a stray spoofed message show up
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Errorf("after the restart the agent received %d of %d queued messages\n%s", len(got), n, b.tail())
	}
	for i := range n {
		if got[fmt.Sprintf("budare/k-017/m-01/cook %d", i)] == 0 {
			t.Errorf("message %d lost", i)
			break
		}
	}
	if got["budare/k-017/m-02/cook spoofed"] != 0 {
		t.Error("m-01 published on m-02's topic")
	}
}
