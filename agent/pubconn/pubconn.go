// Package pubconn is the agent's publishing MQTT connection: the one that
// sends the morning's retained actions and holds the agent's status —
// "online" on every (re)connection, the retained "offline" last will when it
// dies, "offline" again on a clean stop. It keeps to the broker's packet
// limit and tells a publish the broker refused (ErrTooLarge, ErrDropped)
// from one to retry. Its TLS configuration is config.MQTTTLS, the same as
// ingest's connection, and its failures are explained by mqttconn.Explain.
package pubconn

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/budare/budare/internal/mqttconn"
	"github.com/budare/budare/internal/record"
)

// copyingStore keeps its own copy of each outbound packet. paho's resume
// after a reconnect sets the DUP flag on the stored packet while the same
// object may still be queued for sending by Publish, a data race in paho
// itself (eclipse-paho/paho.mqtt.golang#703); a private copy avoids it.
//
// It also lists nothing to resume: paho resends stored packets after every
// reconnection, even with a clean session, so a packet the broker drops the
// connection on (one over its max_packet_size) would be resent, and the
// agent's last will fired, on every reconnection forever. A publish whose
// connection is lost returns ErrDropped instead, and the morning service
// republishes what the broker has not acknowledged.
type copyingStore struct{ mqtt.Store }

func (s copyingStore) All() []string { return nil }

func (s copyingStore) Put(key string, p packets.ControlPacket) {
	var buf bytes.Buffer
	if err := p.Write(&buf); err == nil {
		if c, err := packets.ReadPacket(&buf); err == nil {
			p = c
		}
	}
	s.Store.Put(key, p)
}

// The connection is separate from ingest's persistent subscriber session
// (whose acknowledgements are manual and ordered): client id
// "<client_id>-pub", clean session. With AgentStatus
// set, the agent's last will (status "offline", retained) is on this
// connection and every (re)connection publishes status "online"; on a clean
// stop Close publishes "offline" itself, since a clean disconnect does not
// fire the will. `budare-agent decide` connects without AgentStatus, as
// "<client_id>-decide", so running it by hand never marks the agent offline.

// Options configure the connection.
type Options struct {
	Broker   string // tcp://host:port
	ClientID string // the connection's client id, e.g. "<client_id>-pub"
	Username string
	Password string
	// TLS configures an ssl:// broker (config.MQTTTLS, the same as
	// ingest's); nil: the system's CAs and no client certificate.
	TLS     *tls.Config
	Kitchen string
	Version string
	// AgentStatus: hold the agent's last will and publish its online status.
	AgentStatus bool
	// Release returns the installed model release for the status payload.
	Release func() int64
	// OnConnect runs (in its own goroutine) after every (re)connection,
	// once the online status is published: a good moment to publish
	// anything still pending.
	OnConnect func()
	Logger    *slog.Logger
	// PublishTimeout bounds the wait for the broker's PUBACK (default 10s).
	PublishTimeout time.Duration
	// MaxPacket is the broker's max_packet_size (default DefaultMaxPacket).
	// A larger PUBLISH is refused here: Mosquitto answers one by dropping
	// the connection, which fires the agent's last will.
	MaxPacket int
}

// DefaultMaxPacket is packaging/mosquitto/budare.conf's max_packet_size.
const DefaultMaxPacket = 256 << 10

// ErrTooLarge is a publish refused because its packet would exceed the
// broker's max_packet_size.
var ErrTooLarge = errors.New("larger than the broker's max_packet_size")

// ErrDropped is a publish during which the broker dropped the connection:
// what Mosquitto does with a packet over its max_packet_size (or an ACL
// denial under some settings).
var ErrDropped = errors.New("the broker dropped the connection during the publish")

// PacketSize is the size of an MQTT 3.1.1 QoS 1 PUBLISH of topic and
// payload: fixed header (type byte and up to 4 length bytes), topic length
// and topic, packet id, payload.
func PacketSize(topic string, payload int) int {
	rest := 2 + len(topic) + 2 + payload
	n := 1
	for l := rest; l >= 128; l /= 128 {
		n++
	}
	return 1 + n + rest
}

// MaxPayload is the largest payload on topic that fits maxPacket.
func MaxPayload(topic string, maxPacket int) int {
	return maxPacket - PacketSize(topic, 0) - 3 // a longer length field
}

// AgentStatus is the payload of budare/<kitchen>/agent/status.
type AgentStatus struct {
	State        string    `json:"state"` // online | offline
	Version      string    `json:"version"`
	ModelRelease int64     `json:"model_release"`
	Since        time.Time `json:"since,omitzero"`
}

// Conn publishes actions and the agent status.
type Conn struct {
	opt    Options
	client mqtt.Client
	log    *slog.Logger

	mu    sync.Mutex
	since time.Time
	lost  chan struct{} // closed when the current connection is lost
}

// New prepares the connection; Start connects it.
func New(opt Options) (*Conn, error) {
	if opt.PublishTimeout <= 0 {
		opt.PublishTimeout = 10 * time.Second
	}
	if opt.MaxPacket <= 0 {
		opt.MaxPacket = DefaultMaxPacket
	}
	if opt.Release == nil {
		opt.Release = func() int64 { return 0 }
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	m := &Conn{opt: opt, log: opt.Logger.With("component", "mqtt-pub"), lost: make(chan struct{})}
	o := mqtt.NewClientOptions().
		AddBroker(opt.Broker).
		SetClientID(opt.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).
		SetStore(copyingStore{mqtt.NewMemoryStore()})
	if opt.Username != "" {
		o.SetUsername(opt.Username)
		o.SetPassword(opt.Password)
	}
	if opt.TLS != nil {
		o.SetTLSConfig(opt.TLS)
	}
	var lastReason string // touched only by paho's connecting goroutine
	o.SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
		f, ok := n.(mqtt.ConnectionNotificationFailed)
		if !ok || f.Reason == nil || f.Reason.Error() == lastReason {
			return // each distinct cause once; ingest's connection logs the rest
		}
		lastReason = f.Reason.Error()
		m.log.Error("MQTT publisher cannot connect; retrying", "broker", opt.Broker,
			"err", mqttconn.Explain(context.Background(), opt.Broker, f.Reason))
	})
	if opt.AgentStatus {
		will, _ := json.Marshal(AgentStatus{State: "offline", Version: opt.Version, ModelRelease: opt.Release()})
		o.SetBinaryWill(record.StatusTopic(opt.Kitchen), will, 1, true)
	}
	o.SetOnConnectHandler(func(mqtt.Client) {
		go func() {
			m.mu.Lock()
			m.since = time.Now().UTC()
			m.mu.Unlock()
			if opt.AgentStatus {
				ctx, cancel := context.WithTimeout(context.Background(), opt.PublishTimeout)
				if err := m.PublishStatus(ctx); err != nil {
					m.log.Warn("publish agent status", "err", err)
				}
				cancel()
			}
			if opt.OnConnect != nil {
				opt.OnConnect()
			}
		}()
	})
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		m.mu.Lock()
		close(m.lost)
		m.lost = make(chan struct{})
		m.mu.Unlock()
		m.log.Warn("MQTT publisher connection lost; reconnecting", "err", err)
	})
	m.client = mqtt.NewClient(o)
	return m, nil
}

// Start connects in the background. With ConnectRetry the token completes
// only once connected; it is not waited for, so a broker that is down does
// not block the agent.
func (m *Conn) Start() { m.client.Connect() }

// IsConnected reports whether the connection is up.
func (m *Conn) IsConnected() bool { return m.client.IsConnectionOpen() }

// WaitConnected waits until the publisher is connected or ctx ends.
func (m *Conn) WaitConnected(ctx context.Context) error {
	for !m.client.IsConnectionOpen() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("MQTT broker %s: not connected: %w", m.opt.Broker, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// Publish sends one QoS 1 message and waits for the broker's PUBACK. A
// message over MaxPacket is not sent (ErrTooLarge); a connection lost
// while waiting is ErrDropped.
func (m *Conn) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	if n := PacketSize(topic, len(payload)); n > m.opt.MaxPacket {
		return fmt.Errorf("publish %s: a %d-byte packet is %w (mqtt.max_packet_size %d)", topic, n, ErrTooLarge, m.opt.MaxPacket)
	}
	if !m.client.IsConnectionOpen() {
		return fmt.Errorf("MQTT broker %s: not connected", m.opt.Broker)
	}
	m.mu.Lock()
	lost := m.lost
	m.mu.Unlock()
	tok := m.client.Publish(topic, 1, retained, payload)
	t := time.NewTimer(m.opt.PublishTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		return nil
	case <-lost:
		return fmt.Errorf("publish %s (%d bytes): %w", topic, len(payload), ErrDropped)
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("publish %s: no PUBACK within %s", topic, m.opt.PublishTimeout)
	}
}

// PublishStatus publishes the online status (retained), e.g. after a new
// model release is installed.
func (m *Conn) PublishStatus(ctx context.Context) error {
	m.mu.Lock()
	since := m.since
	m.mu.Unlock()
	b, _ := json.Marshal(AgentStatus{State: "online", Version: m.opt.Version, ModelRelease: m.opt.Release(), Since: since})
	return m.Publish(ctx, record.StatusTopic(m.opt.Kitchen), b, true)
}

// Close publishes the offline status (a clean disconnect does not send the
// will) when it holds the agent status, and disconnects.
func (m *Conn) Close() error {
	var err error
	if m.opt.AgentStatus && m.client.IsConnectionOpen() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		b, _ := json.Marshal(AgentStatus{State: "offline", Version: m.opt.Version, ModelRelease: m.opt.Release(), Since: time.Now().UTC()})
		err = m.Publish(ctx, record.StatusTopic(m.opt.Kitchen), b, true)
		cancel()
	}
	m.client.Disconnect(500)
	if err != nil {
		return errors.Join(errors.New("publish offline status"), err)
	}
	return nil
}
