package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"testing"

	"github.com/budare/budare/internal/record"
)

// legacyFailure is the ground truth of a failure as it was before the field
// scenario: the classic pin hashes only these fields, so new truth fields may
// be added without touching the pin.
type legacyFailure struct {
	Kitchen  string `json:"kitchen"`
	Machine  string `json:"machine"`
	Mode     string `json:"mode"`
	Onset    string `json:"onset"`
	Day      string `json:"day"`
	Code     string `json:"code"`
	Repaired string `json:"repaired"`
}

// classicDigest hashes what the classic scenario emits for cfg: every
// record's window line (the encoding EncodeWindow uses, before gzip, so a Go
// upgrade that changes gzip output does not break the pin) with its kitchen
// and day, then the ground truth in its pre-field-scenario shape.
func classicDigest(t *testing.T, cfg Config) (records, truth string) {
	t.Helper()
	h := sha256.New()
	truthData, err := Generate(context.Background(), cfg, func(k Kitchen, day string, recs []record.Record) error {
		h.Write([]byte(k.Name + " " + day + "\n"))
		return encodeLines(h, recs)
	})
	if err != nil {
		t.Fatal(err)
	}
	legacy := struct {
		Seed     uint64          `json:"seed"`
		First    string          `json:"first_day"`
		Last     string          `json:"last_day"`
		Types    []string        `json:"types"`
		Kitchens []Kitchen       `json:"kitchens"`
		Failures []legacyFailure `json:"failures"`
		Faults   int             `json:"faults"`
		Cooks    int64           `json:"cooks"`
	}{truthData.Seed, truthData.First, truthData.Last, truthData.Types, truthData.Kitchens, nil, truthData.Faults, truthData.Cooks}
	for _, f := range truthData.Failures {
		legacy.Failures = append(legacy.Failures, legacyFailure{f.Kitchen, f.Machine, f.Mode, f.Onset, f.Day, f.Code, f.Repaired})
	}
	tj, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	ts := sha256.Sum256(tj)
	return hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(ts[:])
}

func encodeLines(h hash.Hash, recs []record.Record) error {
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestClassicPinned proves the classic scenario is byte for byte what it was
// before the field scenario existed: other packages' tests are tuned to it.
// The hashes were computed on the code before the Scenario field was added.
func TestClassicPinned(t *testing.T) {
	tests := []struct {
		name           string
		cfg            func() Config
		records, truth string
	}{
		{"small", small,
			"2dc60fd46ba0242fba9066faaf49f933b378f1ab76a46fd309dc27bd8b08a6ec",
			"f6f51f4a886563b34cf624b8891a6ee0f1bd77806b0a4503df3e267fdcbe38cc"},
		{"mtbf 12, 6 types", func() Config {
			c := Defaults()
			c.Seed, c.Kitchens, c.Machines, c.Days, c.Types, c.MeanDaysBetweenFailures = 9, 2, 5, 50, 6, 12
			return c
		},
			"d58d9c13065ebd85a8a3a0878cac919c3b4f172b6a7273629ddd1d2d1524a18a",
			"b5bffa48cf1ba760d4f7146b3cf3587912c756916a2e60507899fc22d80a66dc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, truth := classicDigest(t, tt.cfg())
			if recs != tt.records || truth != tt.truth {
				t.Fatalf("classic output changed:\nrecords %s want %s\ntruth   %s want %s", recs, tt.records, truth, tt.truth)
			}
		})
	}
}
