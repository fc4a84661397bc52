package record

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzNow is the receive time the fuzz target decodes at, fixed so that
// findings reproduce.
var fuzzNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// FuzzDecode feeds arbitrary topics and payloads through ParseTopic and
// Decode, as the agent does with every MQTT message. The seed corpus lives
// in testdata/fuzz/FuzzDecode (run `make fuzz` to search further).
//
// Properties: nothing panics; every rejection carries one of the known
// reasons; every accepted record satisfies the contract (finite metrics,
// not too far in the future, right fields for its type) and survives the
// window round trip (json.Marshal then json.Unmarshal) unchanged.
func FuzzDecode(f *testing.F) {
	f.Add("budare/k-017/m-03/cook", []byte(`{"v":1,"ts":"2026-11-26T07:31:02.120Z","seq":18231,"arepa":"reina-pepiada","metrics":{"plate_temp_c":231.5,"cook_time_s":412}}`))
	f.Add("budare/k-017/m-03/event", []byte(`{"v":1,"ts":"2026-11-26T07:31:02.120Z","seq":18232,"kind":"failure","code":"HEATER_OPEN","note":"smoke"}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		machine, typ, err := ParseTopic("k-017", topic)
		if err != nil {
			if ReasonOf(err) != ReasonTopic {
				t.Fatalf("ParseTopic(%q) error %v has reason %q, want %q", topic, err, ReasonOf(err), ReasonTopic)
			}
			// Still decode the payload as a cook record: Decode must hold up alone.
			machine, typ = "m-00", TypeCook
		}
		r, err := Decode(machine, typ, payload, fuzzNow)
		if err != nil {
			if !slices.Contains(Reasons, ReasonOf(err)) {
				t.Fatalf("rejection %v has unknown reason %q", err, ReasonOf(err))
			}
			if err.Error() == "" {
				t.Fatal("empty rejection message")
			}
			return
		}
		if len(payload) > MaxPayload {
			t.Fatalf("accepted a %d-byte payload", len(payload))
		}
		if !utf8.Valid(payload) {
			t.Fatalf("accepted a payload that is not UTF-8: %q", payload)
		}
		if err := ValidName(r.Machine); err != nil && machine != "m-00" {
			t.Fatalf("accepted machine %q: %v", r.Machine, err)
		}
		if r.Machine != machine || r.Type != typ || r.Seq < 0 {
			t.Fatalf("record %+v does not match machine %q type %q", r, machine, typ)
		}
		if r.TS.After(fuzzNow.Add(MaxFuture)) || r.TS.Location() != time.UTC {
			t.Fatalf("accepted ts %v", r.TS)
		}
		switch r.Type {
		case TypeCook:
			if err := ValidName(r.Arepa); err != nil {
				t.Fatalf("accepted arepa %q: %v", r.Arepa, err)
			}
			if r.Metrics == nil || r.Kind != "" {
				t.Fatalf("cook record %+v lacks arepa/metrics or has event fields", r)
			}
			for k, v := range r.Metrics {
				if math.IsNaN(v) || math.IsInf(v, 0) || k == "" {
					t.Fatalf("accepted metric %q=%v", k, v)
				}
			}
		case TypeEvent:
			if r.Kind != KindFailure && r.Kind != KindFault && r.Kind != KindMaintenance {
				t.Fatalf("accepted event kind %q", r.Kind)
			}
		}
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted record does not marshal: %v", err)
		}
		var back Record
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("window line %s does not unmarshal: %v", line, err)
		}
		if !back.TS.Equal(r.TS) || back.Machine != r.Machine || back.Type != r.Type || back.Seq != r.Seq ||
			back.Arepa != r.Arepa || back.Kind != r.Kind || back.Code != r.Code || back.Note != r.Note ||
			len(back.Metrics) != len(r.Metrics) {
			t.Fatalf("window round trip changed the record:\n%+v\n%+v", r, back)
		}
		for k, v := range r.Metrics {
			if back.Metrics[k] != v {
				t.Fatalf("metric %q: %v became %v", k, v, back.Metrics[k])
			}
		}
	})
}
