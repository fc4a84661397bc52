package ingest

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/budare/budare/internal/mqttconn"
	"github.com/budare/budare/internal/record"
)

// Filters are the kitchen's input subscriptions, both at QoS 1.
func Filters(kitchen string) map[string]byte { return record.InputFilters(kitchen) }

// ClientOptions configure the MQTT client.
type ClientOptions struct {
	Broker   string // tcp://host:port, ssl://host:port
	ClientID string // fixed: it names the persistent session
	Username string
	Password string
	// TLS configures ssl:// and wss:// brokers (config.MQTTTLS); nil: the
	// system's CAs and no client certificate.
	TLS     *tls.Config
	Kitchen string
	// KeepAlive is the MQTT keepalive; default 30s.
	KeepAlive time.Duration
	Log       *slog.Logger
	Health    HealthReporter
	Metrics   *Metrics
	// LogEvery bounds how often failed connection attempts are logged; default 1m.
	LogEvery time.Duration
}

// MQTTHealthName is the subsystem name the connection reports its health under.
const MQTTHealthName = "mqtt"

// Client is the agent's connection to the kitchen broker: it receives the
// input topics into a handler and publishes the agent's own messages.
type Client struct {
	c         mqtt.Client
	opt       ClientOptions
	connected chan struct{}
	connOnce  sync.Once
	closed    atomic.Bool

	mu          sync.Mutex
	lastFailLog time.Time
	lastReason  string
	// lastExplained is lastReason explained (mqttconn.Explain).
	lastExplained error
	failures      int
}

// NewClient prepares a client that hands every message on the input topics
// to handle. Nothing is sent until Start.
//
// Pitfalls handled here: with a persistent session the broker starts sending
// queued messages right after CONNACK, before any SUBSCRIBE of ours is
// answered, so handle is installed as the default publish handler (no
// per-subscription handlers at all) and catches them too. Auto-ack is off:
// the Ingester acknowledges after its commit. Order matters is on: one
// router goroutine calls handle in arrival order, and handle's blocking is
// the backpressure towards the broker.
func NewClient(opt ClientOptions, handle func(Message)) (*Client, error) {
	if opt.KeepAlive <= 0 {
		opt.KeepAlive = 30 * time.Second
	}
	if opt.LogEvery <= 0 {
		opt.LogEvery = time.Minute
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Metrics == nil {
		opt.Metrics, _ = NewMetrics(nil)
	}
	if opt.ClientID == "" {
		return nil, fmt.Errorf("mqtt: a fixed client id is required for a persistent session")
	}
	cl := &Client{opt: opt, connected: make(chan struct{})}
	o := mqtt.NewClientOptions().
		AddBroker(opt.Broker).
		SetClientID(opt.ClientID).
		SetUsername(opt.Username).
		SetPassword(opt.Password).
		SetCleanSession(false).
		SetResumeSubs(true).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetKeepAlive(opt.KeepAlive).
		SetPingTimeout(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { handle(m) }).
		SetStore(outboundStore{mqtt.NewMemoryStore()}).
		SetOnConnectHandler(cl.onConnect).
		SetConnectionLostHandler(cl.onLost).
		SetConnectionNotificationHandler(cl.onNotification)
	var scheme string // lower case, as paho and dialBuffered see it
	if u, err := url.Parse(opt.Broker); err == nil {
		scheme = u.Scheme
	}
	useTLS, dialed := dialedScheme(scheme)
	tc := opt.TLS
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if useTLS || scheme == "wss" {
		o.SetTLSConfig(tc)
	}
	if dialed {
		o.SetCustomOpenConnectionFn(dialBuffered(tc))
	}
	cl.c = mqtt.NewClient(o)
	return cl, nil
}

// Start connects in the background; the client keeps retrying and
// reconnecting until Close.
func (cl *Client) Start() { cl.c.Connect() }

// Connected is closed once the client has connected and subscribed for the
// first time.
func (cl *Client) Connected() <-chan struct{} { return cl.connected }

// IsConnected reports whether the connection is up now.
func (cl *Client) IsConnected() bool { return cl.c.IsConnectionOpen() }

// Publish sends payload at QoS 1 and waits for the broker's PUBACK or ctx.
func (cl *Client) Publish(ctx context.Context, topic string, retained bool, payload []byte) error {
	if cl.closed.Load() {
		return ErrStopped
	}
	t := cl.c.Publish(topic, 1, retained, payload)
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("mqtt publish %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt publish %s: %w", topic, ctx.Err())
	}
}

// Close disconnects, giving in-flight acknowledgements quiesce to go out.
// The session stays on the broker, which keeps queueing for the agent.
func (cl *Client) Close(quiesce time.Duration) {
	if cl.closed.Swap(true) {
		return
	}
	cl.c.Disconnect(uint(quiesce / time.Millisecond))
	cl.opt.Metrics.connected.Set(0)
}

func (cl *Client) onConnect(c mqtt.Client) {
	cl.opt.Metrics.connected.Set(1)
	cl.opt.Metrics.connects.Inc()
	cl.mu.Lock()
	cl.failures, cl.lastFailLog, cl.lastReason, cl.lastExplained = 0, time.Time{}, "", nil
	cl.mu.Unlock()
	// Subscribing again on every connection is harmless with a persistent
	// session and repairs one the broker lost (e.g. persistence off).
	filters := Filters(cl.opt.Kitchen)
	var err error
	for attempt := 0; attempt < 5 && !cl.closed.Load(); attempt++ {
		if err = cl.subscribe(c, filters); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		cl.opt.Log.Error("mqtt: subscription failed; no records are received until it works (check the broker's ACL for this user)", "err", err)
		cl.setHealth(err)
		return
	}
	cl.opt.Log.Info("mqtt: connected and subscribed", "broker", cl.opt.Broker, "client_id", cl.opt.ClientID)
	cl.setHealth(nil)
	cl.connOnce.Do(func() { close(cl.connected) })
}

func (cl *Client) subscribe(c mqtt.Client, filters map[string]byte) error {
	t := c.SubscribeMultiple(filters, nil) // nil: messages go to the default handler
	if !t.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("subscribe: no SUBACK within 10s")
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if st, ok := t.(*mqtt.SubscribeToken); ok {
		for f, q := range st.Result() {
			if q == 0x80 {
				return fmt.Errorf("broker refused the subscription to %s", f)
			}
		}
	}
	return nil
}

func (cl *Client) onLost(_ mqtt.Client, err error) {
	cl.opt.Metrics.connected.Set(0)
	cl.opt.Log.Warn("mqtt: connection lost; reconnecting (unacknowledged messages are redelivered)", "err", err)
	cl.setHealth(fmt.Errorf("connection lost: %w", err))
}

func (cl *Client) onNotification(_ mqtt.Client, n mqtt.ConnectionNotification) {
	f, ok := n.(mqtt.ConnectionNotificationFailed)
	if !ok {
		return
	}
	cl.mu.Lock()
	cl.failures++
	// Logged when the cause changes, and at most every LogEvery otherwise.
	changed := f.Reason == nil || cl.lastReason != f.Reason.Error()
	logNow := changed || cl.lastFailLog.IsZero() || time.Since(cl.lastFailLog) >= cl.opt.LogEvery
	if logNow {
		cl.lastFailLog = time.Now()
		if f.Reason != nil {
			cl.lastReason = f.Reason.Error()
		}
	}
	n2 := cl.failures
	explained := cl.lastExplained
	cl.mu.Unlock()
	if logNow || explained == nil {
		// The explanation may probe the broker's port: only when logging;
		// /healthz shows the last one meanwhile.
		explained = mqttconn.Explain(context.Background(), cl.opt.Broker, f.Reason)
		cl.mu.Lock()
		cl.lastExplained = explained
		cl.mu.Unlock()
	}
	if logNow {
		cl.opt.Log.Error("mqtt: cannot connect to the kitchen broker; retrying", "broker", cl.opt.Broker, "failed_attempts", n2, "err", explained)
	}
	cl.setHealth(fmt.Errorf("cannot connect to %s: %w", cl.opt.Broker, explained))
}

func (cl *Client) setHealth(err error) {
	if cl.opt.Health != nil {
		cl.opt.Health.Set(MQTTHealthName, err)
	}
}

// outboundStore keeps only outbound packets. paho stores every inbound QoS 1
// message until its PUBACK, to hand it to the application again after a
// reconnect; the broker redelivers every unacknowledged message of a
// persistent session anyway (MQTT 3.1.1, 4.4), and the store deduplicates,
// so the inbound copies cost a map entry and a formatted key per message
// (about 5% of the agent's CPU) and buy nothing.
type outboundStore struct{ mqtt.Store }

func (s outboundStore) Put(key string, p packets.ControlPacket) {
	if strings.HasPrefix(key, "i.") {
		return
	}
	s.Store.Put(key, p)
}

// Del skips the store's lock for the inbound keys Put never stored (paho
// deletes one at every PUBACK).
func (s outboundStore) Del(key string) {
	if strings.HasPrefix(key, "i.") {
		return
	}
	s.Store.Del(key)
}
