// Package contract reads the golden files of the contract packages as the
// values they hold, for the tests of the programs on either side of each
// contract (the agent writes, central reads). Test-only.
package contract

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// Records returns the records of internal/record's golden lines (cook,
// then event), decoded with encoding/json, the reference decoder.
func Records(t testing.TB) []record.Record {
	t.Helper()
	var out []record.Record
	for _, n := range []string{"cook", "event"} {
		var r record.Record
		if err := json.Unmarshal(golden.Read(t, golden.Contract(t, "record", n+".line.json")), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// Window returns internal/window's golden window: its bytes and the object
// metadata it is stored with (kitchen, day, checksums, record count).
func Window(t testing.TB) (data []byte, meta map[string]string) {
	t.Helper()
	if err := json.Unmarshal(golden.Read(t, golden.Contract(t, "window", "window.meta.json")), &meta); err != nil {
		t.Fatal(err)
	}
	return golden.Read(t, golden.Contract(t, "window", "window.ndjson.gz")), meta
}

// Release returns the directory of internal/release's golden bucket (a
// published release 1, readable with objstore.NewDir) and the public key
// its manifest is signed with.
func Release(t testing.TB) (dir string, pub ed25519.PublicKey) {
	t.Helper()
	pub, err := release.ParsePublicKey(golden.Read(t, golden.Contract(t, "release", "release.pub")))
	if err != nil {
		t.Fatal(err)
	}
	return golden.Contract(t, "release", "bucket"), pub
}
