package window

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"
)

func encodeLines(t testing.TB, lines ...string) Window {
	t.Helper()
	enc, err := NewEncoder(gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if err := enc.Line([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := enc.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWindowIsDeterministicAndVerifiable(t *testing.T) {
	lines := []string{
		`{"machine":"m-01","type":"cook","ts":"2026-11-26T07:31:02.12Z","seq":1,"arepa":"domino","metrics":{"plate_temp_c":231.5}}`,
		`{"machine":"m-01","type":"event","ts":"2026-11-26T07:32:00Z","seq":2,"kind":"failure","code":"HEATER_OPEN"}`,
	}
	a := encodeLines(t, lines...)
	time.Sleep(1100 * time.Millisecond) // a header mtime would differ now
	b := encodeLines(t, lines...)
	if !bytes.Equal(a.Data, b.Data) || a.SHA256 != b.SHA256 {
		t.Fatal("same lines encoded to different bytes")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Data))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Fatalf("gzip header carries mtime %v / name %q", zr.ModTime, zr.Name)
	}
	if a.Records != 2 {
		t.Fatalf("records %d", a.Records)
	}
	got, err := Decode(a.Data, a.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0]) != lines[0] || string(got[1]) != lines[1] {
		t.Fatalf("decoded %q", got)
	}
	bad := bytes.Clone(a.Data)
	bad[len(bad)/2] ^= 0xff
	if _, err := Decode(bad, a.SHA256); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("corrupted window: %v", err)
	}
	if _, err := Decode([]byte("plain"), ""); err == nil {
		t.Fatal("non-gzip window decoded")
	}
}

func TestNewEncoderRefusesABadLevel(t *testing.T) {
	if _, err := NewEncoder(42); err == nil {
		t.Fatal("gzip level 42 accepted")
	}
}
