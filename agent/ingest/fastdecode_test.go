package ingest

import (
	"maps"
	"testing"
	"time"

	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/record"
)

// FuzzFastDecode checks fastDecode against the reference decoder: whenever
// the fast path answers, record.Decode accepts the payload and returns the
// same record. The corpus (testdata/fuzz/FuzzFastDecode) starts from
// record's FuzzDecode corpus.
func FuzzFastDecode(f *testing.F) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, m := range mqttpub.Stream("k-017", 2, 100, now.Add(-time.Hour))[98:] {
		f.Add(m.Topic, m.Payload)
	}
	names := newInterner()
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		machine, typ, err := record.ParseTopic("k-017", topic)
		if err != nil {
			machine, typ = "m-00", record.TypeCook
		}
		fast, ok := fastDecode(machine, typ, payload, now, names)
		ref, rerr := record.Decode(machine, typ, payload, now)
		if !ok {
			return // the caller falls back to record.Decode
		}
		if rerr != nil {
			t.Fatalf("fast path accepted what record.Decode rejects (%v): %q", rerr, payload)
		}
		if !fast.TS.Equal(ref.TS) || fast.TS.Location() != ref.TS.Location() || fast.Machine != ref.Machine ||
			fast.Type != ref.Type || fast.Seq != ref.Seq || fast.Arepa != ref.Arepa || fast.Kind != ref.Kind ||
			fast.Code != ref.Code || fast.Note != ref.Note || !maps.Equal(fast.Metrics, ref.Metrics) ||
			(fast.Metrics == nil) != (ref.Metrics == nil) {
			t.Fatalf("fast path differs from record.Decode on %q:\nfast %+v\nref  %+v", payload, fast, ref)
		}
	})
}

// The realistic stream must take the fast path, or the benchmark measures
// the slow one.
func TestFastDecodeTakesRealisticPayloads(t *testing.T) {
	now := time.Now()
	for _, m := range mqttpub.Stream("k-017", 3, 300, now.Add(-time.Hour)) {
		machine, typ, err := record.ParseTopic("k-017", m.Topic)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastDecode(machine, typ, m.Payload, now, nil); !ok {
			t.Fatalf("fast path refused %s %s", m.Topic, m.Payload)
		}
	}
}
