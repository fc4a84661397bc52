package upload

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// TestWindowGolden: the records of internal/window's golden window, stored
// and uploaded by this agent, give the golden bytes and checksums, and the
// golden window merged with the store's lines is the same window. The
// trainer's tests read the same file.
func TestWindowGolden(t *testing.T) {
	var recs []record.Record
	for _, n := range []string{"cook", "event"} {
		var r record.Record
		if err := json.Unmarshal(golden.Read(t, golden.Contract(t, "record", n+".line.json")), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	var meta map[string]string
	if err := json.Unmarshal(golden.Read(t, golden.Contract(t, "window", "window.meta.json")), &meta); err != nil {
		t.Fatal(err)
	}
	data := golden.Read(t, golden.Contract(t, "window", "window.ndjson.gz"))
	const day = "2026-11-26"

	h := newHarnessOn(t, time.UTC, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), nil, objstore.NewMem())
	h.commit(recs)
	s := h.service(7)
	w, err := s.localWindow(day)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Data, data) {
		t.Fatalf("uploaded window differs from the golden one:\n got %x\nwant %x", w.Data, data)
	}
	got := w.Meta(meta[window.MetaKitchen], day)
	for k, v := range meta {
		if got[k] != v {
			t.Errorf("metadata %s = %q, golden %q", k, got[k], v)
		}
	}

	remote, err := window.Decode(data, meta[window.MetaSHA256])
	if err != nil {
		t.Fatal(err)
	}
	merged, err := window.Merge(remote, remote[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(merged) != len(recs) {
		t.Fatalf("merge of the golden window with its own first line: %d lines, want %d", len(merged), len(recs))
	}
}
