package record

import (
	"reflect"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	ts := time.Date(2026, 11, 26, 7, 31, 2, 120_000_000, time.UTC)
	tests := []Record{
		{Machine: "m-03", Type: TypeCook, TS: ts, Seq: 18231, Arepa: "reina-pepiada",
			Metrics: map[string]float64{"plate_temp_c": 231.5, "cook_time_s": 412, "vibration_mm_s": 1.4}},
		{Machine: "m-03", Type: TypeEvent, TS: ts, Seq: 18232, Kind: KindFailure, Code: "HEATER_OPEN", Note: "no heat"},
		{Machine: "m-04", Type: TypeEvent, TS: ts, Seq: 0, Kind: KindMaintenance},
	}
	for _, want := range tests {
		t.Run(want.Type+"-"+want.Machine, func(t *testing.T) {
			p, err := Payload(want)
			if err != nil {
				t.Fatal(err)
			}
			machine, typ, err := ParseTopic("k-1", Topic("k-1", want))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(machine, typ, p, ts)
			if err != nil {
				t.Fatalf("decode %s: %v", p, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	if _, err := Payload(Record{Type: "other"}); err == nil {
		t.Fatal("a record of unknown type encoded without error")
	}
}
