package action

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/golden"
)

// goldenDay is the day of testdata/day.json; testdata/action.json is the
// payload of its first action and testdata/summary.json its summary. The
// dashboard's tests read the same files.
func goldenDay() *Day {
	at := time.Date(2026, 11, 26, 6, 0, 3, 0, time.UTC)
	acts := []Action{
		{V: Version, Date: "2026-11-26", Kitchen: "k-001", Machine: "m-01", Level: LevelService, Risk: 0.62,
			ByArepa: map[string]float64{"domino": 0.62, "reina-pepiada": 0.31}, Reasons: []string{"plate_temp_c drifting down over 5 days"},
			ModelRelease: 12, DataDays: 7, DecidedAt: at},
		{V: Version, Date: "2026-11-26", Kitchen: "k-001", Machine: "m-02", Level: LevelNone, Risk: 0.04,
			ByArepa: map[string]float64{"domino": 0.04}, Reasons: []string{}, ModelRelease: 12, DataDays: 7, DecidedAt: at},
		{V: Version, Date: "2026-11-26", Kitchen: "k-001", Machine: "m-03", Level: LevelUnknown, Risk: 0,
			ByArepa: map[string]float64{}, Reasons: []string{"no cook records in the last 7 days"}, ModelRelease: 12, DataDays: 0, DecidedAt: at},
	}
	return &Day{V: Version, Date: "2026-11-26", Kitchen: "k-001", ModelRelease: 12, DecidedAt: at,
		Counts: map[string]int{LevelNone: 1, LevelInspect: 0, LevelService: 1, LevelStop: 0, LevelUnknown: 1}, Actions: acts}
}

func TestGolden(t *testing.T) {
	d := goldenDay()
	a, err := Encode(&d.Actions[0])
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "action.json"), a)
	var gotA Action
	if err := json.Unmarshal(golden.Read(t, filepath.Join("testdata", "action.json")), &gotA); err != nil || !reflect.DeepEqual(gotA, d.Actions[0]) {
		t.Errorf("decoded golden action = %+v, %v; want %+v", gotA, err, d.Actions[0])
	}

	b, err := EncodeDay(d)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "day.json"), b)
	gotD, err := DecodeDay(golden.Read(t, filepath.Join("testdata", "day.json")))
	if err != nil || !reflect.DeepEqual(gotD, d) {
		t.Errorf("DecodeDay(golden) = %+v, %v; want %+v", gotD, err, d)
	}

	s, _, err := MarshalSummary(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "summary.json"), s)
}

func TestLevelOrder(t *testing.T) {
	order := []string{LevelStop, LevelService, LevelInspect, LevelUnknown, LevelNone}
	for i := 1; i < len(order); i++ {
		if Urgency(order[i-1]) <= Urgency(order[i]) {
			t.Errorf("Urgency(%s) = %d is not above Urgency(%s) = %d", order[i-1], Urgency(order[i-1]), order[i], Urgency(order[i]))
		}
	}
	for _, l := range Levels {
		if !Known(l) {
			t.Errorf("Known(%q) = false", l)
		}
	}
	if Known("INSPECT") || Known("") || Urgency("explode") != Urgency(LevelUnknown) {
		t.Error("a level outside the contract is known or ranks apart from unknown")
	}
}

func TestDecodeDay(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"bare array", `[{"machine":"a","date":"2026-11-26","kitchen":"k"}]`, ""},
		{"BOM", "\ufeff {\"actions\":[]}", ""},
		{"object without actions", `{"date":"2026-11-26"}`, `no "actions" array`},
		{"not json", `hello`, "neither a JSON array nor an object"},
		{"empty", " \n", "empty"},
		{"truncated", `[{"machine":"a"`, "actions file:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDay([]byte(tc.in))
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("DecodeDay(%q) = %v, want %q", tc.in, err, tc.err)
			}
		})
	}
}

// FuzzDecodeDay: day files are read from the bucket; DecodeBriefs accepts
// every file DecodeDay accepts, with the same machines and levels.
func FuzzDecodeDay(f *testing.F) {
	f.Add([]byte(`{"v":1,"date":"2026-11-26","actions":[{"machine":"m-1","level":"stop","risk":0.9}]}`))
	f.Add([]byte(`[{"machine":"a","level":"none","model_release":3}]`))
	f.Add([]byte("\ufeff{\"actions\":null}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDay(b)
		briefs, berr := DecodeBriefs(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		if berr != nil || len(briefs) != len(d.Actions) {
			t.Fatalf("DecodeDay accepts %q (%d actions), DecodeBriefs: %d, %v", b, len(d.Actions), len(briefs), berr)
		}
		for i, a := range d.Actions {
			if briefs[i] != (Brief{a.Machine, a.Level, a.ModelRelease}) {
				t.Fatalf("action %d: %+v, brief %+v", i, a, briefs[i])
			}
		}
	})
}
