package train

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/budare/budare/internal/golden/contract"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// TestReadWindowGolden: the trainer reads internal/window's golden window
// (the one the agent's uploader is tested to write) into the records of
// internal/record's golden lines, and refuses it when its bytes no longer
// match the Sha256 of its metadata.
func TestReadWindowGolden(t *testing.T) {
	ctx := context.Background()
	want := contract.Records(t)
	data, meta := contract.Window(t)
	kitchen, day := meta[window.MetaKitchen], meta[window.MetaDay]

	b := objstore.NewMem()
	if err := b.Put(ctx, window.Key(kitchen, day), data, meta); err != nil {
		t.Fatal(err)
	}
	var got []record.Record
	found, bad, err := ReadWindow(ctx, b, kitchen, day, func(r *record.Record) { got = append(got, *r) })
	if err != nil || !found || bad != 0 {
		t.Fatalf("ReadWindow = found %v, bad %d, %v", found, bad, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadWindow records:\n got %+v\nwant %+v", got, want)
	}

	// The same bytes with one changed: the trainer must not read them.
	broken := bytes.Clone(data)
	broken[len(broken)-5] ^= 0x01
	if err := b.Put(ctx, window.Key(kitchen, day), broken, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadWindow(ctx, b, kitchen, day, func(*record.Record) {}); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("ReadWindow of a window not matching its Sha256: %v", err)
	}
}
