package record

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/budare/budare/internal/golden"
)

// goldenRecords are the records of the golden files: name → record. Each
// has <name>.payload.json (its MQTT payload) and <name>.line.json (its
// stored and window line, json.Marshal of the Record, no newline). The
// agent's store and the trainer's tests read the same files.
func goldenRecords() map[string]Record {
	ts := time.Date(2026, 11, 26, 7, 31, 2, 120_000_000, time.UTC)
	return map[string]Record{
		"cook": {Machine: "m-03", Type: TypeCook, TS: ts, Seq: 18231, Arepa: "reina-pepiada",
			Metrics: map[string]float64{"plate_temp_c": 231.5, "cook_time_s": 412, "vibration_mm_s": 1.4}},
		"event": {Machine: "m-03", Type: TypeEvent, TS: ts.Add(time.Minute), Seq: 18232, Kind: KindFailure,
			Code: "HEATER_OPEN", Note: "no heat <plate> & \"cold\""},
	}
}

func TestGolden(t *testing.T) {
	for name, want := range goldenRecords() {
		t.Run(name, func(t *testing.T) {
			pay, err := Payload(want)
			if err != nil {
				t.Fatal(err)
			}
			payPath := filepath.Join("testdata", name+".payload.json")
			golden.Check(t, payPath, pay)
			got, err := Decode(want.Machine, want.Type, golden.Read(t, payPath), want.TS)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(golden payload) = %+v, %v; want %+v", got, err, want)
			}

			line, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			linePath := filepath.Join("testdata", name+".line.json")
			golden.Check(t, linePath, line)
			golden.Check(t, linePath, AppendLine(nil, &want))
			gl := golden.Read(t, linePath)
			var ref Record
			if err := json.Unmarshal(gl, &ref); err != nil || !reflect.DeepEqual(ref, want) {
				t.Errorf("json.Unmarshal(golden line) = %+v, %v; want %+v", ref, err, want)
			}
			var names Names
			fast, ok := FastWindowLine(gl, &names)
			if !ok {
				// The fast decoder may decline a line (the trainer then uses
				// encoding/json); it must never decode it differently.
				t.Logf("FastWindowLine declined the golden %s line", name)
			} else if !reflect.DeepEqual(fast, want) {
				t.Errorf("FastWindowLine(golden line) = %+v, want %+v", fast, want)
			}
		})
	}
}
