package train

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

// cookArepa must never name a wrong type: it either finds the record's own
// arepa or gives up (and the line is decoded in full).
func TestCookArepa(t *testing.T) {
	ts := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	recs := []record.Record{
		{Machine: "m-1", Type: record.TypeCook, TS: ts, Seq: 1, Arepa: "reina-pepiada", Metrics: map[string]float64{"arepa": 1}},
		{Machine: `m"arepa":"x`, Type: record.TypeCook, TS: ts, Seq: 2, Arepa: "domino"},
		{Machine: "m-1", Type: record.TypeEvent, TS: ts, Seq: 3, Kind: record.KindFault, Note: `"type":"cook","arepa":"pelua"`},
		{Machine: "m-1", Type: record.TypeCook, TS: ts, Seq: 4, Arepa: `a\"b`},
		{Machine: "m-1", Type: record.TypeCook, TS: ts, Seq: 5, Arepa: "ñame"},
	}
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		a, ok := cookArepa(line)
		if !ok {
			continue
		}
		if r.Type != record.TypeCook || string(a) != r.Arepa {
			t.Fatalf("cookArepa(%s) = %q, record says %s/%q", line, a, r.Type, r.Arepa)
		}
	}
	if a, ok := cookArepa([]byte(`{"machine":"m","type":"cook","arepa":"domino","metrics":{}}`)); !ok || string(a) != "domino" {
		t.Fatalf("plain cook line: %q %v", a, ok)
	}
}

func FuzzCookArepa(f *testing.F) {
	f.Add([]byte(`{"machine":"m-03","type":"cook","ts":"2026-11-26T07:31:02.12Z","seq":1,"arepa":"reina-pepiada","metrics":{"plate_temp_c":231.5}}`))
	f.Add([]byte(`{"machine":"m-03","type":"event","ts":"2026-11-26T07:31:02.12Z","seq":2,"kind":"fault","note":"\"arepa\":\"x\""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		a, ok := cookArepa(line)
		if !ok {
			return
		}
		var r record.Record
		if json.Unmarshal(line, &r) != nil {
			return // not a record: the full decode rejects it too
		}
		// Duplicate keys make encoding/json keep the last; the window
		// format never repeats a key, so only judge lines without them.
		if r.Type == record.TypeCook && string(a) != r.Arepa && json.Valid(line) && countKey(line, "arepa") == 1 && countKey(line, "type") == 1 {
			t.Fatalf("cookArepa(%s) = %q, decoded arepa %q", line, a, r.Arepa)
		}
	})
}

// countKey counts top-level occurrences of a key.
func countKey(line []byte, key string) int {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil {
		return -1
	}
	dec := json.NewDecoder(bytesReader(line))
	n, depth := 0, 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
				expectKey = v == '{'
			} else {
				depth--
				expectKey = depth > 0
			}
			continue
		case string:
			if depth == 1 && expectKey && v == key {
				n++
			}
		}
		if depth == 1 {
			expectKey = !expectKey
		}
	}
}
