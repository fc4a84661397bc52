package upload

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func encodeLines(t testing.TB, lines ...string) Window {
	t.Helper()
	enc := newEncoder()
	for _, l := range lines {
		if err := enc.line([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := enc.finish()
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
	got, err := DecodeWindow(a.Data, a.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0]) != lines[0] || string(got[1]) != lines[1] {
		t.Fatalf("decoded %q", got)
	}
	bad := bytes.Clone(a.Data)
	bad[len(bad)/2] ^= 0xff
	if _, err := DecodeWindow(bad, a.SHA256); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("corrupted window: %v", err)
	}
	if _, err := DecodeWindow([]byte("plain"), ""); err == nil {
		t.Fatal("non-gzip window decoded")
	}
}

func TestMergeIsAUnionInStoreOrder(t *testing.T) {
	line := func(m, ts string, seq int) []byte {
		b, _ := json.Marshal(map[string]any{"machine": m, "type": "cook", "ts": ts, "seq": seq})
		return b
	}
	remote := [][]byte{line("m-01", "2026-11-26T08:00:00Z", 1), line("m-02", "2026-11-26T07:00:00Z", 5)}
	local := [][]byte{
		line("m-02", "2026-11-26T07:00:00Z", 5), // already remote
		line("m-01", "2026-11-26T08:00:00Z", 0), // same ts, lower seq (machine rebooted)
		line("m-01", "2026-11-26T06:00:00Z", 9),
		line("m-10", "2026-11-26T01:00:00Z", 1),
	}
	got, err := mergeLines(remote, local)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{local[2], local[1], remote[0], remote[1], local[3]}
	if len(got) != len(want) {
		t.Fatalf("merged %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("line %d: %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := mergeLines([][]byte{[]byte(`{"machine":"m-01"}`)}, nil); err == nil {
		t.Fatal("merged a line without ts and seq")
	}
}

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	s := &Service{cfg: Config{MinBackoff: time.Second, MaxBackoff: 60 * time.Second}}
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, 60 * time.Second},
		{50, 30 * time.Second, 60 * time.Second},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := s.backoff(tc.n)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.n, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("backoff(%d) has no jitter: %d distinct values in 50", tc.n, len(seen))
		}
	}
}

// FuzzDecodeWindow: a downloaded window is outside input; decoding and
// merging it must never panic.
func FuzzDecodeWindow(f *testing.F) {
	w := encodeLines(f, `{"machine":"m-01","type":"cook","ts":"2026-11-26T07:31:02.12Z","seq":1}`)
	f.Add(w.Data)
	f.Add([]byte("not gzip"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := DecodeWindow(data, "")
		if err != nil {
			return
		}
		merged, err := mergeLines(lines, nil)
		if err != nil {
			return
		}
		if len(merged) > len(lines) {
			t.Fatalf("merge grew %d lines to %d", len(lines), len(merged))
		}
	})
}
