package store

import (
	"testing"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/golden/contract"
)

// TestAppendLineGolden: the store writes internal/record's golden lines
// byte for byte.
func TestAppendLineGolden(t *testing.T) {
	for i, r := range contract.Records(t) {
		name := []string{"cook", "event"}[i]
		want := golden.Read(t, golden.Contract(t, "record", name+".line.json"))
		if got := AppendLine(nil, &r); string(got) != string(want) {
			t.Errorf("%s: AppendLine = %s\nwant %s", name, got, want)
		}
	}
}
