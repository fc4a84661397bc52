package record

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzAppendLine checks that the store's window line encoder writes exactly
// what json.Marshal writes for any record Decode can produce.
func FuzzAppendLine(f *testing.F) {
	f.Add("m-03", true, int64(1764142262120000000), int64(18231), "reina-pepiada", "plate_temp_c", 231.5, "", "", "")
	f.Add("m-<03>", false, int64(1764142262000000001), int64(0), "", "x", 1e-7, "failure", "HEATER_OPEN", "smoke & \"fire\"\n")
	f.Add("máquina", true, int64(946684800000000000), int64(math.MaxInt64), "dominó", "é", 1e21, "", "", "\u2028\xff")
	f.Add("m", true, int64(1764142262120000000), int64(5), "a", "neg", -0.000001, "", "", "")
	f.Fuzz(func(t *testing.T, machine string, cook bool, ns, seq int64, arepa, metric string, v float64, kind, code, note string) {
		if math.IsNaN(v) || math.IsInf(v, 0) || seq < 0 {
			return // Decode never accepts these
		}
		r := Record{Machine: machine, TS: time.Unix(0, ns).UTC(), Seq: seq}
		if r.TS.Year() < 2000 || r.TS.Year() > 9999 {
			return
		}
		if cook {
			r.Type, r.Arepa = TypeCook, arepa
			r.Metrics = map[string]float64{metric: v, metric + "_b": -v, "z": v / 3, "a": float64(seq)}
		} else {
			r.Type, r.Kind, r.Code, r.Note = TypeEvent, kind, code, note
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendLine(nil, &r); !bytes.Equal(got, want) {
			t.Fatalf("AppendLine:\n got %s\nwant %s", got, want)
		}
	})
}
