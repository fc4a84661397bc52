package ingest

import (
	"bytes"
	"testing"
	"time"

	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/record"
)

// FuzzFastLine checks fastLine against the reference path: whenever the
// fast path answers, record.Decode accepts the payload and record.AppendLine
// writes the very same line for it. The corpus
// (testdata/fuzz/FuzzFastLine) starts from record's FuzzDecode corpus.
func FuzzFastLine(f *testing.F) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, m := range mqttpub.Stream("k-017", 2, 100, now.Add(-time.Hour))[98:] {
		f.Add(m.Topic, m.Payload)
	}
	f.Add("budare/k-017/m-01/cook", []byte(`{"v":1,"ts":"2026-11-26T11:00:00.50+02:00","seq":7,"arepa":"maíz","metrics":{"z":0.0000010,"a":-0.0,"m":1E5,"b":123456789012345.0,"c":-0.000001}}`))
	f.Add("budare/k-017/m&1/event", []byte(`{"seq":3,"v":1,"ts":"2026-11-26T11:00:00Z","kind":"fault","note":"","code":"E<1>","metrics":{"x":1}}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		machine, typ, err := record.ParseTopic("k-017", topic)
		if err != nil {
			machine, typ = "m-00", record.TypeCook
		}
		prefix := []byte("earlier lines")
		fast, buf, ok := fastLine(machine, typ, payload, now, bytes.Clone(prefix))
		ref, rerr := record.Decode(machine, typ, payload, now)
		if !ok {
			if !bytes.Equal(buf, prefix) {
				t.Fatalf("refusing fast path changed the buffer: %q", buf)
			}
			return // the caller takes the reference path
		}
		if rerr != nil {
			t.Fatalf("fast path accepted what record.Decode rejects (%v): %q", rerr, payload)
		}
		want := record.AppendLine(nil, &ref)
		if !bytes.Equal(fast.JSON, want) {
			t.Fatalf("fast line differs on %q:\nfast %s\nref  %s", payload, fast.JSON, want)
		}
		if !bytes.HasPrefix(buf, prefix) || !bytes.Equal(buf[len(prefix):], want) {
			t.Fatalf("buffer %q: want the earlier bytes then the line", buf)
		}
		if !fast.TS.Equal(ref.TS) || fast.TS.Location() != ref.TS.Location() || fast.Machine != ref.Machine || fast.Seq != ref.Seq {
			t.Fatalf("fast path files the line differently on %q: %+v, want %s %s %d", payload, fast, ref.Machine, ref.TS, ref.Seq)
		}
	})
}

// The realistic stream must take the fast path, or the benchmark measures
// the slow one.
func TestFastLineTakesRealisticPayloads(t *testing.T) {
	now := time.Now()
	for _, m := range mqttpub.Stream("k-017", 3, 300, now.Add(-time.Hour)) {
		machine, typ, err := record.ParseTopic("k-017", m.Topic)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := fastLine(machine, typ, m.Payload, now, nil); !ok {
			t.Fatalf("fast path refused %s %s", m.Topic, m.Payload)
		}
	}
}

// BenchmarkFastLine is the decoder's share of the agent's CPU per message.
func BenchmarkFastLine(b *testing.B) {
	now := time.Now()
	ms := mqttpub.Stream("k-017", 20, 1000, now.Add(-time.Hour))
	buf := make([]byte, 0, 1<<20)
	b.ResetTimer()
	for i := range b.N {
		m := ms[i%len(ms)]
		machine, typ, err := record.ParseTopic("k-017", m.Topic)
		if err != nil {
			b.Fatal(err)
		}
		if len(buf) > 1<<19 {
			buf = buf[:0]
		}
		var ok bool
		if _, buf, ok = fastLine(machine, typ, m.Payload, now, buf); !ok {
			b.Fatal("slow path")
		}
	}
}
