package decide

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

// FuzzStoredRecord holds the fast stored-record reader to encoding/json:
// whatever it accepts must decode identically with json.Unmarshal, and
// decode (fast or slow) must agree with json.Unmarshal on every input.
func FuzzStoredRecord(f *testing.F) {
	seeds := []record.Record{
		{Machine: "m-03", Type: record.TypeCook, TS: time.Date(2026, 11, 26, 7, 31, 2, 120e6, time.UTC), Seq: 18231,
			Arepa: "reina-pepiada", Metrics: map[string]float64{"plate_temp_c": 231.5, "cook_time_s": 412, "vibration_mm_s": 1.4e-3}},
		{Machine: "m-03", Type: record.TypeEvent, TS: time.Date(2026, 11, 26, 7, 32, 0, 0, time.UTC), Seq: 18232,
			Kind: record.KindFailure, Code: "HEATER_OPEN", Note: "smoke \"a lot\" – ñ"},
		{Machine: "m", Type: record.TypeCook, TS: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Seq: 0, Arepa: "x", Metrics: map[string]float64{}},
	}
	for _, r := range seeds {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Add([]byte(`{"machine":"m","metrics":{"a":1},"metrics":{"b":2}}`))
	f.Add([]byte(`{"Machine":"m","ts":"2026-11-26T07:31:02+01:00"}`))
	f.Add([]byte(`{"seq":01,"metrics":{"a":1.}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in interner
		fast, ferr := in.fast(b)
		var want record.Record
		jerr := json.Unmarshal(b, &want)
		if ferr == nil {
			if jerr != nil {
				t.Fatalf("fast accepted %q, encoding/json refused: %v", b, jerr)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("%q: fast %+v, encoding/json %+v", b, fast, want)
			}
		}
		got, err := in.decode(b)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("%q: decode error %v, encoding/json %v", b, err, jerr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decode %+v, encoding/json %+v", b, got, want)
		}
	})
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "-0": true, "1.5": true, "1e5": true, "1E-5": true, "-12.5e+3": true,
		"01": false, "1.": false, ".5": false, "+1": false, "1e": false, "-": false, "": false, "1.5.5": false} {
		if got := validNumber([]byte(s)); got != want {
			t.Errorf("validNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
