package morning

import (
	"bytes"
	"context"
	"testing"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/record"
)

// TestGoldenDay pins what the service sends against internal/action's golden
// files, the same files the dashboard's tests read: the first machine's
// retained action, the kitchen summary and the day file in the bucket.
func TestGoldenDay(t *testing.T) {
	day, err := action.DecodeDay(golden.Read(t, golden.Contract(t, "action", "day.json")))
	if err != nil {
		t.Fatal(err)
	}
	loc := decidetest.Location(t, "UTC")
	st := decidetest.OpenStore(t, t.TempDir(), loc)
	pub := &recPub{}
	var uploaded []byte
	put := func(_ context.Context, key string, data []byte, _ map[string]string) error {
		if want := action.Key(day.Kitchen, day.Date); key != want {
			t.Errorf("uploaded %s, want %s", key, want)
		}
		uploaded = append([]byte(nil), data...)
		return nil
	}
	s := newService(t, st, loc, nil, pub, put)
	s.ensureMetrics()
	doc := &dayDoc{Day: day, Published: map[string]bool{}}
	if err := st.PutState(StateDays, day.Date, doc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.publishDay(ctx, day.Date, doc); err != nil {
		t.Fatal(err)
	}
	if s.uploadPending(ctx) {
		t.Error("the day is still pending upload")
	}
	got := map[string][]byte{}
	for _, m := range pub.msgs {
		got[m.topic] = m.payload
	}
	for topic, file := range map[string]string{
		record.ActionTopic(day.Kitchen, day.Actions[0].Machine): "action.json",
		record.SummaryTopic(day.Kitchen):                        "summary.json",
	} {
		if want := golden.Read(t, golden.Contract(t, "action", file)); !bytes.Equal(got[topic], want) {
			t.Errorf("%s:\n%s\nwant (%s):\n%s", topic, got[topic], file, want)
		}
	}
	if want := golden.Read(t, golden.Contract(t, "action", "day.json")); !bytes.Equal(uploaded, want) {
		t.Errorf("uploaded day:\n%s\nwant:\n%s", uploaded, want)
	}
}
