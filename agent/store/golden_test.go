package store

import (
	"encoding/json"
	"testing"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/record"
)

// TestAppendLineGolden: the store writes internal/record's golden lines
// byte for byte.
func TestAppendLineGolden(t *testing.T) {
	for _, n := range []string{"cook", "event"} {
		want := golden.Read(t, golden.Contract(t, "record", n+".line.json"))
		var r record.Record
		if err := json.Unmarshal(want, &r); err != nil {
			t.Fatal(err)
		}
		if got := AppendLine(nil, &r); string(got) != string(want) {
			t.Errorf("%s: AppendLine = %s\nwant %s", n, got, want)
		}
	}
}
