package store

import (
	"testing"
	"time"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/golden/contract"
)

// TestStoredLinesGolden: records committed to the store come back as
// internal/record's golden lines, byte for byte, the lines the uploader
// puts in a window.
func TestStoredLinesGolden(t *testing.T) {
	st := openTest(t, time.UTC)
	recs := contract.Records(t)
	if _, err := st.Commit(&Batch{Records: recs}); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := st.RawDay(recs[0].TS.UTC().Format(time.DateOnly), func(_ string, line []byte) error {
		got = append(got, string(line))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	names := []string{"cook", "event"}
	if len(got) != len(names) {
		t.Fatalf("stored %d lines, want %d", len(got), len(names))
	}
	for i, n := range names {
		if want := golden.Read(t, golden.Contract(t, "record", n+".line.json")); got[i] != string(want) {
			t.Errorf("stored %s line %s\nwant %s", n, got[i], want)
		}
	}
}
