package ingest

import (
	"time"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// fastLine is record.FastPayloadLine filed as a store line: the common case
// of a payload decoded and written as its window line straight from the
// payload's bytes, several times cheaper than record.Decode followed by
// record.AppendLine, which remain the reference and the only judge of bad
// input. ok false means: take the reference path. The line is appended to
// buf; the grown buf is returned.
func fastLine(machine, typ string, p []byte, now time.Time, buf []byte) (store.Line, []byte, bool) {
	l, out, ok := record.FastPayloadLine(machine, typ, p, now, buf)
	if !ok {
		return store.Line{}, out, false
	}
	return store.Line{Machine: machine, TS: l.TS, Seq: l.Seq, JSON: l.JSON}, out, true
}
