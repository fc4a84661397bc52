package simulate

import (
	"context"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/testenv"
)

// TestPublishToRealMosquitto checks that a kitchen published over MQTT is
// exactly the kitchen Generate simulates: every record of the last days,
// each a valid v1 payload on its machine's topic.
func TestPublishToRealMosquitto(t *testing.T) {
	broker := testenv.Mosquitto(t)
	cfg := small()
	const kitchen, days = "k-002", 3

	want := map[string]record.Record{}
	dayN := 0
	if _, err := Generate(context.Background(), cfg, func(k Kitchen, day string, recs []record.Record) error {
		if k.Name != kitchen {
			return nil
		}
		if dayN++; dayN > cfg.Days-days {
			for _, r := range recs {
				want[r.Machine+"/"+r.TS.Format(time.RFC3339Nano)] = r
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string]record.Record{}
	var bad []error
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("display"))
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("budare/"+kitchen+"/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		defer mu.Unlock()
		machine, typ, err := record.ParseTopic(kitchen, m.Topic())
		if err == nil {
			var r record.Record
			if r, err = record.Decode(machine, typ, m.Payload(), time.Now()); err == nil {
				got[r.Machine+"/"+r.TS.Format(time.RFC3339Nano)] = r
				return
			}
		}
		bad = append(bad, err)
	})
	if tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Publish(ctx, cfg, broker.URL, kitchen, days, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Days != days || st.Messages != len(want) {
		t.Fatalf("published %+v, want %d days and %d messages", st, days, len(want))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got) + len(bad)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d published payloads do not decode, first: %v", len(bad), bad[0])
	}
	if len(got) != len(want) {
		t.Fatalf("received %d records, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; g.Seq != w.Seq || g.Type != w.Type || g.Arepa != w.Arepa || g.Kind != w.Kind {
			t.Fatalf("record %s: got %+v, want %+v", k, g, w)
		}
	}

	if _, err := Publish(ctx, cfg, broker.URL, "k-999", 1, 0); err == nil {
		t.Fatal("publishing an unknown kitchen succeeded")
	}
}

// With a speed the last day is replayed in time: it takes its span of
// simulated time divided by the speed, at least, while the days before it
// (the backlog) go out at once.
func TestPublishPacesTheLiveDay(t *testing.T) {
	broker := testenv.Mosquitto(t)
	cfg := small()
	const kitchen = "k-001"
	var first, last time.Time
	dayN := 0
	if _, err := Generate(context.Background(), cfg, func(k Kitchen, _ string, recs []record.Record) error {
		if k.Name != kitchen {
			return nil
		}
		if dayN++; dayN == cfg.Days {
			for _, r := range recs {
				if first.IsZero() || r.TS.Before(first) {
					first = r.TS
				}
				if r.TS.After(last) {
					last = r.TS
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	span := last.Sub(first)
	speed := float64(span) / float64(1500*time.Millisecond) // the live day in 1.5 s
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	st, err := Publish(ctx, cfg, broker.URL, kitchen, 3, speed)
	if err != nil {
		t.Fatal(err)
	}
	// The pacer sends what is due within its 100 ms step ahead.
	if took := time.Since(start); took < 1300*time.Millisecond {
		t.Errorf("publishing at x%.0f took %s, want at least the live day's %s / speed = 1.5s", speed, took, span)
	}
	if st.Days != 3 {
		t.Errorf("published %d days, want 3", st.Days)
	}
}
