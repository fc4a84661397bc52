// Package mqttpub generates realistic machine messages and publishes them
// to a broker as the kitchen machines do: for the ingest tests, the ingest
// benchmark and `budare-central simulate --mqtt`.
package mqttpub

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/budare/budare/internal/record"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Msg is one message to publish.
type Msg struct {
	Topic   string
	Payload []byte
	Machine string
	Seq     int64
}

var arepas = []string{"reina-pepiada", "domino", "pabellon", "catira", "llanera"}

// CookPayload is a v1 cook payload of realistic size (~250 bytes), like the
// example in the design.
func CookPayload(seq int64, ts time.Time) []byte {
	b := make([]byte, 0, 320)
	b = append(b, `{"v":1,"ts":"`...)
	b = ts.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"arepa":"`...)
	b = append(b, arepas[seq%int64(len(arepas))]...)
	b = fmt.Appendf(b, `","metrics":{"plate_temp_c":%.1f,"cook_time_s":%d,"energy_wh":%.1f,"motor_current_a":%.2f,"vibration_mm_s":%.2f,"door_cycles":%d,"ambient_temp_c":%.1f,"heater_duty_pct":%.1f}}`,
		220+float64(seq%150)/10, 380+seq%60, 35+float64(seq%70)/10, 2+float64(seq%30)/100, 1.2+float64(seq%40)/100, 1+seq%3, 24+float64(seq%50)/10, 60+float64(seq%300)/10)
	return b
}

// EventPayload is a v1 event payload.
func EventPayload(seq int64, ts time.Time, kind string) []byte {
	return fmt.Appendf(nil, `{"v":1,"ts":"%s","seq":%d,"kind":%q,"code":"HEATER_OPEN","note":"technician visit"}`,
		ts.UTC().Format("2006-01-02T15:04:05.000Z07:00"), seq, kind)
}

// Stream returns n messages spread round-robin over machines m-00..m-<k-1>,
// each machine's seq counting from 0 and its timestamps a second apart from
// start. Every 50th message of a machine is an event.
func Stream(kitchen string, machines, n int, start time.Time) []Msg {
	out := make([]Msg, 0, n)
	for i := range n {
		m := i % machines
		seq := int64(i / machines)
		machine := fmt.Sprintf("m-%02d", m)
		ts := start.Add(time.Duration(seq)*time.Second + time.Duration(m)*time.Millisecond)
		msg := Msg{Machine: machine, Seq: seq}
		if seq%50 == 49 {
			msg.Topic = record.Topic(kitchen, record.Record{Machine: machine, Type: record.TypeEvent})
			msg.Payload = EventPayload(seq, ts, "maintenance")
		} else {
			msg.Topic = record.Topic(kitchen, record.Record{Machine: machine, Type: record.TypeCook})
			msg.Payload = CookPayload(seq, ts)
		}
		out = append(out, msg)
	}
	return out
}

// Publisher publishes at QoS 1 with up to Window messages awaiting PUBACK.
type Publisher struct {
	c      mqtt.Client
	window int
}

// NewPublisher connects a publisher with a clean session.
func NewPublisher(ctx context.Context, broker, clientID string, window int) (*Publisher, error) {
	if window <= 0 {
		window = 500
	}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second)
	c := mqtt.NewClient(o)
	if err := wait(ctx, c.Connect()); err != nil {
		return nil, fmt.Errorf("publisher connect %s: %w", broker, err)
	}
	return &Publisher{c: c, window: window}, nil
}

// Publish sends msgs in order and returns once the broker acknowledged all.
func (p *Publisher) Publish(ctx context.Context, msgs []Msg) error {
	tokens := make([]mqtt.Token, 0, p.window)
	flush := func() error {
		for _, t := range tokens {
			if err := wait(ctx, t); err != nil {
				return fmt.Errorf("publish: %w", err)
			}
		}
		tokens = tokens[:0]
		return nil
	}
	for _, m := range msgs {
		tokens = append(tokens, p.c.Publish(m.Topic, 1, false, m.Payload))
		if len(tokens) == p.window {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Raw publishes one payload on one topic and waits for the PUBACK.
func (p *Publisher) Raw(ctx context.Context, topic string, payload []byte) error {
	return wait(ctx, p.c.Publish(topic, 1, false, payload))
}

// Close disconnects.
func (p *Publisher) Close() { p.c.Disconnect(100) }

// Subscribe creates (or refreshes) a persistent session subscribed to the
// kitchen's input topics at QoS 1 and disconnects, so the broker queues for
// clientID from now on, as it does for an agent that is down.
func Subscribe(ctx context.Context, broker, clientID, kitchen string) error {
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(false).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("subscribe connect: %w", err)
	}
	defer c.Disconnect(100)
	return wait(ctx, c.SubscribeMultiple(record.InputFilters(kitchen), nil))
}

func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
