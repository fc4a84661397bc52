package upload

import (
	"bytes"
	"testing"
	"time"

	"github.com/budare/budare/internal/golden/contract"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/window"
)

// TestWindowGolden: the records of internal/window's golden window, stored
// and uploaded by this agent, give the golden bytes and metadata, and the
// golden window merged with the store's lines is the same window. The
// trainer's tests read the same file.
func TestWindowGolden(t *testing.T) {
	recs := contract.Records(t)
	data, meta := contract.Window(t)
	day := meta[window.MetaDay]

	h := newHarnessOn(t, time.UTC, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), nil, objstore.NewMem())
	h.commit(recs)
	w, err := h.service(7).localWindow(day)
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
