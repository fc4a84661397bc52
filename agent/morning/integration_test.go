package morning

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/budare/budare/agent/decide"
	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/agent/pubconn"
	"github.com/budare/budare/agent/store"
	centralcfg "github.com/budare/budare/central/config"
	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/testenv"
)

// display is an MQTT client like a machine's display: it subscribes and
// collects what it receives.
type display struct {
	c    mqtt.Client
	mu   sync.Mutex
	msgs map[string][]mqtt.Message
}

func newDisplay(t *testing.T, broker, id string, filters ...string) *display {
	t.Helper()
	return newDisplayOpts(t, broker, id, nil, filters...)
}

type mqttOptions = mqtt.ClientOptions

// newDisplayOpts is newDisplay with set changing the client's options.
func newDisplayOpts(t *testing.T, broker, id string, set func(*mqttOptions), filters ...string) *display {
	t.Helper()
	d := &display{msgs: map[string][]mqtt.Message{}}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true)
	if set != nil {
		set(o)
	}
	d.c = mqtt.NewClient(o)
	if tok := d.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("display connect: %v", tok.Error())
	}
	t.Cleanup(func() { d.c.Disconnect(100) })
	for _, f := range filters {
		tok := d.c.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) {
			d.mu.Lock()
			d.msgs[m.Topic()] = append(d.msgs[m.Topic()], m)
			d.mu.Unlock()
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", f, tok.Error())
		}
	}
	return d
}

func (d *display) snapshot() map[string][]mqtt.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]mqtt.Message{}
	for k, v := range d.msgs {
		out[k] = append([]mqtt.Message(nil), v...)
	}
	return out
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

// TestEndToEnd: the central trainer publishes a release trained on
// simulated kitchens into a real MinIO; the agent pulls it, decides, and a
// display that subscribes afterwards to a real Mosquitto gets every
// machine's retained action; a restart does not publish again; tampered,
// rolled-back, expired and foreign releases are refused with the last
// known-good kept.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	broker := testenv.Mosquitto(t)
	mio := testenv.MinIO(t)
	credDir := t.TempDir()
	ak, sk, err := mio.WriteCredentials(credDir)
	if err != nil {
		t.Fatal(err)
	}
	noTLS := false
	os3, err := objstore.New(objstore.Config{Endpoint: mio.Endpoint, AccessKeyFile: ak, SecretKeyFile: sk, TLS: &noTLS}, "")
	if err != nil {
		t.Fatal(err)
	}
	// MinIO answers its liveness probe a moment before it serves S3
	// ("Server not initialized yet"): retry briefly.
	for i := 0; ; i++ {
		err := os3.EnsureBucket(ctx)
		if err == nil {
			break
		}
		if i == 100 {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	bucket := os3

	// Central: simulated windows, one training run, a signed release.
	sim := simulate.Config{Seed: 7, Kitchens: 2, Machines: 8, Types: 3, MenuSize: 2, Days: 42, End: "2026-11-25",
		Phases: 1, CooksPerDay: 24, MeanDaysBetweenFailures: 20}
	truth, err := simulate.Write(ctx, sim, bucket, 2)
	if err != nil {
		t.Fatal(err)
	}
	ccfg, err := centralcfg.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	out, err := train.Run(ctx, train.Options{Bucket: bucket, Types: simulate.TypeNames(sim.Types), Phase: 1,
		Date: "2026-11-26", Train: ccfg.Train, Public: pub})
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	man, err := (&train.Publisher{Bucket: bucket, Key: priv, Expiry: 30 * 24 * time.Hour}).Publish(ctx, []*train.Outcome{out})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	t.Logf("trainer published release %d with %v", man.Release, man.Arepas())

	// The agent's kitchen: the same simulated records, ingested locally.
	k := truth.Kitchens[0]
	loc := decidetest.Location(t, k.Timezone)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	day := "2026-11-26"
	_, err = simulate.Generate(ctx, sim, func(kk simulate.Kitchen, d string, recs []record.Record) error {
		if kk.Name != k.Name || d < "2026-11-15" {
			return nil
		}
		_, err := st.Commit(&store.Batch{Records: append([]record.Record(nil), recs...)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	syncer, err := modelsync.New(modelsync.Options{Dir: filepath.Join(dir, "models"), PublicKey: pub, Source: os3, State: st,
		Wanted: func(context.Context) ([]string, error) { return decide.CookedArepas(st, day, loc) }})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := syncer.Sync(ctx); err != nil || !o.Installed || o.Release != man.Release {
		t.Fatalf("sync = %+v, %v; want release %d", o, err, man.Release)
	}
	cooked, _ := decide.CookedArepas(st, day, loc)
	if got := syncer.Current().Arepas(); strings.Join(got, ",") != strings.Join(cooked, ",") {
		t.Fatalf("installed %v, want the kitchen's types %v", got, cooked)
	}

	startAgent := func(id string) (*Service, *pubconn.Conn) {
		mq, err := pubconn.New(pubconn.Options{Broker: broker.URL, ClientID: id, Kitchen: k.Name, Version: "test",
			AgentStatus: true, Release: func() int64 { return syncer.Current().Number }})
		if err != nil {
			t.Fatal(err)
		}
		mq.Start()
		if err := mq.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		svc := &Service{Decider: &decide.Decider{Kitchen: k.Name, Location: loc, Records: st, Models: syncer.Current,
			Thresholds: decide.Thresholds{Service: 0.7, Stop: 0.9}},
			State: st, Pub: mq, StartOfDay: 5*time.Hour + 30*time.Minute, UnseenClearDays: 14,
			Put: func(ctx context.Context, key string, data []byte, meta map[string]string) error {
				err := os3.Put(ctx, key, data, meta)
				return err
			}}
		return svc, mq
	}
	svc, mq := startAgent("agent-pub")
	decideAt := time.Date(2026, 11, 26, 5, 30, 0, 0, loc)
	svc.Tick(ctx, decideAt)
	stored, err := svc.Stored(day)
	if err != nil || stored == nil {
		t.Fatalf("no decision stored: %v", err)
	}
	if len(stored.Actions) != sim.Machines {
		t.Fatalf("%d actions, want one per machine (%d)", len(stored.Actions), sim.Machines)
	}
	scored := 0
	for _, a := range stored.Actions {
		if a.Level != decide.LevelUnknown {
			scored++
		}
		t.Logf("%s %s risk %.3f %v %q", a.Machine, a.Level, a.Risk, a.ByArepa, a.Reasons)
	}
	if scored == 0 {
		t.Fatal("every machine unknown: the trainer's models did not score the agent's features")
	}

	// A display subscribing afterwards gets every retained action.
	disp := newDisplay(t, broker.URL, "display-1", "budare/"+k.Name+"/+/action", record.SummaryTopic(k.Name), record.StatusTopic(k.Name))
	waitFor(t, "retained actions", func() bool {
		s := disp.snapshot()
		return len(s) == sim.Machines+2
	})
	for _, want := range stored.Actions {
		msgs := disp.snapshot()[record.ActionTopic(k.Name, want.Machine)]
		if len(msgs) != 1 || !msgs[0].Retained() || msgs[0].Qos() != 1 {
			t.Fatalf("%s: %d messages, want one retained at QoS 1", want.Machine, len(msgs))
		}
		var got decide.Action
		if err := json.Unmarshal(msgs[0].Payload(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Level != want.Level || got.Date != day || got.ModelRelease != man.Release {
			t.Fatalf("%s: display got %+v, want %+v", want.Machine, got, want)
		}
	}
	var status pubconn.AgentStatus
	if err := json.Unmarshal(disp.snapshot()[record.StatusTopic(k.Name)][0].Payload(), &status); err != nil ||
		status.State != "online" || status.ModelRelease != man.Release {
		t.Fatalf("status %+v (%v), want online with release %d", status, err, man.Release)
	}
	if _, err := os3.Stat(ctx, action.Key(k.Name, day)); err != nil {
		t.Fatalf("actions not uploaded: %v", err)
	}

	// Restart after the decision: nothing is published again.
	if err := mq.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline status", func() bool {
		m := disp.snapshot()[record.StatusTopic(k.Name)]
		return len(m) >= 2 && strings.Contains(string(m[len(m)-1].Payload()), `"offline"`)
	})
	before := disp.snapshot()
	svc2, mq2 := startAgent("agent-pub")
	defer mq2.Close()
	svc2.Tick(ctx, decideAt.Add(2*time.Hour))
	waitFor(t, "online status after restart", func() bool {
		m := disp.snapshot()[record.StatusTopic(k.Name)]
		return strings.Contains(string(m[len(m)-1].Payload()), `"online"`)
	})
	time.Sleep(300 * time.Millisecond) // let anything wrongly published arrive
	after := disp.snapshot()
	for topic, msgs := range after {
		if strings.HasSuffix(topic, "/action") || topic == record.SummaryTopic(k.Name) {
			if len(msgs) != len(before[topic]) {
				t.Fatalf("%s published again after restart", topic)
			}
		}
	}

	// Refusals against the real store, each keeping the last known-good.
	good := man.Release
	arepa := syncer.Current().Arepas()[0]
	put := func(ctx context.Context, key string, data []byte) error {
		err := os3.Put(ctx, key, data, nil)
		return err
	}
	// New model files (not the installed ones, which the agent would
	// reuse from disk without downloading).
	bias := 0.0
	models := func() map[string]*model.Model {
		bias += 0.1
		return map[string]*model.Model{arepa: mst.Model(arepa, bias)}
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name, reason string
		publish      func(n int64)
	}{
		{"tampered model file", "hash", func(n int64) {
			r, err := mst.Publish(ctx, put, mst.Options{Release: n, Models: models(), Key: priv})
			if err != nil {
				t.Fatal(err)
			}
			key := release.ModelKey(arepa, n)
			// Same size, one byte different: only the SHA-256 can tell.
			b := []byte(strings.Replace(string(r.Files[key]), `"v": 1,`, `"v": 2,`, 1))
			if len(b) != len(r.Files[key]) || string(b) == string(r.Files[key]) {
				t.Fatal("tampering failed")
			}
			if err := put(ctx, key, b); err != nil {
				t.Fatal(err)
			}
		}},
		{"tampered manifest", "signature", func(n int64) {
			r, err := mst.Publish(ctx, put, mst.Options{Release: n, Models: models(), Key: priv})
			if err != nil {
				t.Fatal(err)
			}
			// Still valid JSON, but not the bytes that were signed.
			b := []byte(strings.TrimSuffix(string(r.ManifestRaw), "}\n") + " }\n")
			if err := put(ctx, release.ManifestKey(n), b); err != nil {
				t.Fatal(err)
			}
		}},
		{"expired manifest", "expired", func(n int64) {
			if _, err := mst.Publish(ctx, put, mst.Options{Release: n, Models: models(), Key: priv,
				Created: time.Now().Add(-72 * time.Hour), Expires: time.Now().Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"signed by another key", "signature", func(n int64) {
			if _, err := mst.Publish(ctx, put, mst.Options{Release: n, Models: models(), Key: otherPriv}); err != nil {
				t.Fatal(err)
			}
		}},
		{"lower release", "rollback", func(int64) {
			if err := put(ctx, release.CurrentKey, release.FormatCurrent(good-1)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	n := good
	for _, c := range cases {
		if c.reason == "rollback" {
			// First accept a newer good release, then point back below it.
			n++
			if _, err := mst.Publish(ctx, put, mst.Options{Release: n, Models: models(), Key: priv}); err != nil {
				t.Fatal(err)
			}
			if o, err := syncer.Sync(ctx); err != nil || o.Release != n {
				t.Fatalf("good release %d: %+v %v", n, o, err)
			}
			good = n
		}
		n++
		c.publish(n)
		_, err := syncer.Sync(ctx)
		if !modelsync.IsRejection(err) || release.Reason(err) != c.reason {
			t.Fatalf("%s: sync = %v, want a %s rejection", c.name, err, c.reason)
		}
		if cur := syncer.Current(); cur.Number != good {
			t.Fatalf("%s: current %d, want last known-good %d", c.name, cur.Number, good)
		}
	}
	if st := syncer.Status(); st.Rejections["signature"] != 2 || st.Rejections["hash"] != 1 ||
		st.Rejections["expired"] != 1 || st.Rejections["rollback"] != 1 {
		t.Fatalf("rejections %v", st.Rejections)
	}
}
