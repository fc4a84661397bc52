package record

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		tok, want string
		ok        bool
	}{
		{"231.5", "231.5", true},
		{"221.0", "221", true},
		{"2.10", "2.1", true},
		{"0", "0", true},
		{"0.00", "0", true},
		{"-0", "", false},
		{"-0.0", "", false},
		{"-12.5", "-12.5", true},
		{"0.000001", "0.000001", true},
		{"0.0000001", "", false}, // json writes 1e-7
		{"-0.0000009", "", false},
		{"1e3", "", false},
		{"123456789012345", "123456789012345", true},
		{"1234567890123456", "", false}, // 16 digits: float64 may not keep them
	} {
		got, ok := canonical([]byte(c.tok))
		if ok != c.ok || (ok && string(got) != c.want) {
			t.Errorf("canonical(%q) = %q, %v; want %q, %v", c.tok, got, ok, c.want, c.ok)
		}
	}
}

// FuzzFastWindowLine checks the trainer's fast window-line decoder against
// encoding/json, the reference: whenever the fast path answers, json.Unmarshal
// accepts the line and gives the very same record. The corpus is in
// testdata/fuzz/FuzzFastWindowLine.
func FuzzFastWindowLine(f *testing.F) {
	f.Add([]byte(`{"machine":"m-03","type":"cook","ts":"2026-11-26T07:31:02.12Z","seq":18231,"arepa":"reina-pepiada","metrics":{"cook_time_s":412,"plate_temp_c":231.5}}`))
	f.Add([]byte(`{"machine":"m-03","type":"event","ts":"2026-11-26T07:31:02-04:00","seq":2,"kind":"failure","code":"HEATER_OPEN","note":"smoke & <fire>"}`))
	f.Add([]byte(` { "machine" : "m" , "type":"cook","ts":"2026-11-26T07:31:02Z","seq":-0,"metrics":{},"arepa":""} `))
	f.Add([]byte(`{"machine":"m","type":"cook","ts":"2026-11-26T07:31:02Z","seq":1,"metrics":{"a":1e400}}`))
	f.Add([]byte(`{"machine":"m","type":"cook","ts":"2026-11-26T07:31:02Z","seq":1,"metrics":{"a":1,"a":2}}`))
	f.Add([]byte(`{"Machine":"m","seq":1.5,"metrics":null}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var names Names
		got, ok := FastWindowLine(line, &names)
		if !ok {
			return // the caller takes encoding/json
		}
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("fast path accepted what encoding/json rejects (%v): %q", err, line)
		}
		if !got.TS.Equal(want.TS) || got.TS.String() != want.TS.String() {
			t.Fatalf("ts %v, encoding/json %v: %q", got.TS, want.TS, line)
		}
		got.TS, want.TS = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path differs on %q:\nfast %#v\nref  %#v", line, got, want)
		}
		// A second decode with the names now known gives the same record.
		again, ok := FastWindowLine(line, &names)
		again.TS = time.Time{}
		if !ok || !reflect.DeepEqual(again, want) {
			t.Fatalf("second decode differs on %q: %#v", line, again)
		}
	})
}

// FuzzDecodeLine holds DecodeLine, fast path and fallback together, to
// encoding/json on every input: the same error or the same record, also
// with the names of earlier lines shared. The corpus (testdata/fuzz/
// FuzzDecodeLine) was the agent's decision reader's, FuzzStoredRecord.
func FuzzDecodeLine(f *testing.F) {
	for _, r := range []Record{
		{Machine: "m-03", Type: TypeCook, TS: time.Date(2026, 11, 26, 7, 31, 2, 120e6, time.UTC), Seq: 18231,
			Arepa: "reina-pepiada", Metrics: map[string]float64{"plate_temp_c": 231.5, "cook_time_s": 412, "vibration_mm_s": 1.4e-3}},
		{Machine: "m-03", Type: TypeEvent, TS: time.Date(2026, 11, 26, 7, 32, 0, 0, time.UTC), Seq: 18232,
			Kind: KindFailure, Code: "HEATER_OPEN", Note: "smoke \"a lot\" – ñ"},
		{Machine: "m", Type: TypeCook, TS: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Arepa: "x", Metrics: map[string]float64{}},
	} {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"machine":"m","metrics":{"a":1},"metrics":{"b":2}}`))
	f.Add([]byte(`{"Machine":"m","ts":"2026-11-26T07:31:02+01:00"}`))
	f.Add([]byte(`{"seq":01,"metrics":{"a":1.}}`))
	f.Add([]byte(`{"machine":"m","seq":1}x`))
	var names Names
	f.Fuzz(func(t *testing.T, line []byte) {
		var want Record
		werr := json.Unmarshal(line, &want)
		for _, n := range []*Names{nil, &names, &names} {
			got, err := DecodeLine(line, n)
			if (err == nil) != (werr == nil) {
				t.Fatalf("%q: DecodeLine error %v, encoding/json %v", line, err, werr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: DecodeLine %#v, encoding/json %#v", line, got, want)
			}
		}
	})
}

// Window lines as the agent and the simulator write them must take the fast
// path, or the trainer pays for encoding/json.
func TestFastWindowLineTakesWindowLines(t *testing.T) {
	ts := time.Date(2026, 11, 26, 7, 31, 2, 120_000_000, time.UTC)
	var names Names
	for _, r := range []Record{
		{Machine: "m-03", Type: TypeCook, TS: ts, Seq: 1, Arepa: "reina-pepiada", Metrics: map[string]float64{"plate_temp_c": 231.5, "vib": 1e-7, "n": -3}},
		{Machine: "m-03", Type: TypeEvent, TS: ts, Seq: 2, Kind: KindFault, Code: "E1", Note: "door"},
		{Machine: "m-03", Type: TypeEvent, TS: ts, Seq: 3, Kind: KindFailure},
		{Machine: "m-03", Type: TypeCook, TS: ts, Seq: 4, Arepa: "domino", Metrics: manyMetrics(2 * maxMetrics)},
	} {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := FastWindowLine(line, &names)
		if !ok {
			t.Fatalf("fast path refused %s", line)
		}
		if !got.TS.Equal(r.TS) {
			t.Fatalf("ts %v, want %v", got.TS, r.TS)
		}
		got.TS, r.TS = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("decoded %#v, want %#v", got, r)
		}
	}
}

// manyMetrics returns n metrics: more than a payload's fast path takes,
// which a window line's must still take.
func manyMetrics(n int) map[string]float64 {
	m := make(map[string]float64, n)
	for i := range n {
		m[fmt.Sprintf("sensor_%02d", i)] = float64(i) / 4
	}
	return m
}

// BenchmarkWindowLine compares the fast decoder with encoding/json on a
// typical cook line.
func BenchmarkWindowLine(b *testing.B) {
	line := []byte(`{"machine":"m-03","type":"cook","ts":"2026-11-26T07:31:02.12Z","seq":18231,"arepa":"reina-pepiada","metrics":{"cook_time_s":412,"current_a":11.93,"plate_temp_c":231.5,"vibration_mm_s":2.118}}`)
	b.Run("fast", func(b *testing.B) {
		var names Names
		for range b.N {
			if _, ok := FastWindowLine(line, &names); !ok {
				b.Fatal("slow path")
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for range b.N {
			var r Record
			if err := json.Unmarshal(line, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzValidName: the fast path's name rule and ValidName, the
// documented grammar, agree on every string.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"m-01", "reina-pepiada", "a..b", "-a", "a.", "A_b.c-9", "maíz", "m\u202e1", "m\u00a01",
		"k\u2215", "", "0123456789012345678901234567890123456789012345678901234567890123", "a b", "a/b", "a+b", "a#b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast := fastName([]byte(s))
		err := ValidName(s)
		if fast != (err == nil) {
			t.Fatalf("%q: fast path says %v, ValidName says %v", s, fast, err)
		}
	})
}
