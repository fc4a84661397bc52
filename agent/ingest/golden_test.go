package ingest

import (
	"bytes"
	"testing"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/golden/contract"
	"github.com/budare/budare/internal/record"
)

// TestGoldenPayloads: the golden MQTT payloads of internal/record become
// exactly its golden stored lines, on the fast path and on the reference
// path alike — the lines the trainer's tests read back.
func TestGoldenPayloads(t *testing.T) {
	for i, name := range []string{"cook", "event"} {
		want := contract.Records(t)[i]
		payload := golden.Read(t, golden.Contract(t, "record", name+".payload.json"))
		line := golden.Read(t, golden.Contract(t, "record", name+".line.json"))

		l, _, ok := fastLine(want.Machine, want.Type, payload, want.TS, nil)
		switch {
		case !ok && name == "cook":
			t.Errorf("%s: the fast path refused a plain cook payload", name)
		case !ok:
			// The event's note has escapes: the fast path leaves it to the
			// reference, below; it must never write it differently.
		case !bytes.Equal(l.JSON, line) || l.Machine != want.Machine || l.Seq != want.Seq || !l.TS.Equal(want.TS):
			t.Errorf("%s: fast path gave %s (machine %q seq %d ts %s), want %s", name, l.JSON, l.Machine, l.Seq, l.TS, line)
		}

		r, err := record.Decode(want.Machine, want.Type, payload, want.TS)
		if err != nil {
			t.Fatalf("%s: reference decode: %v", name, err)
		}
		if got := record.AppendLine(nil, &r); !bytes.Equal(got, line) {
			t.Errorf("%s: reference path gave %s, want %s", name, got, line)
		}
	}
}
