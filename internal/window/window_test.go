package window

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/golden"
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
	got, err := Merge(remote, local)
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
	if _, err := Merge([][]byte{[]byte(`{"machine":"m-01"}`)}, nil); err == nil {
		t.Fatal("merged a line without ts and seq")
	}
}

// The golden window: testdata/window.ndjson holds its lines (the agent's
// stored lines of internal/record/testdata), window.ndjson.gz the bytes the
// Encoder makes of them at gzip.BestCompression (the agent's level), and
// window.meta.json the object metadata of kitchen k-001, day 2026-11-26.
// The uploader's and the trainer's tests read the same files.
const goldenKitchen, goldenDay = "k-001", "2026-11-26"

func TestGolden(t *testing.T) {
	linesPath := filepath.Join("testdata", "window.ndjson")
	var b []byte
	for _, n := range []string{"cook", "event"} {
		b = append(b, golden.Read(t, golden.Contract(t, "record", n+".line.json"))...)
		b = append(b, '\n')
	}
	golden.Check(t, linesPath, b)
	lines := bytes.SplitAfter(golden.Read(t, linesPath), []byte("\n"))
	var want []string
	for _, l := range lines {
		if len(bytes.TrimSpace(l)) > 0 {
			want = append(want, string(bytes.TrimSuffix(l, []byte("\n"))))
		}
	}
	w := encodeLines(t, want...)
	golden.Check(t, filepath.Join("testdata", "window.ndjson.gz"), w.Data)
	meta, err := json.MarshalIndent(w.Meta(goldenKitchen, goldenDay), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "window.meta.json"), append(meta, '\n'))

	var gotMeta map[string]string
	if err := json.Unmarshal(golden.Read(t, filepath.Join("testdata", "window.meta.json")), &gotMeta); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(golden.Read(t, filepath.Join("testdata", "window.ndjson.gz")), gotMeta[MetaSHA256])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || gotMeta[MetaRecords] != strconv.Itoa(len(want)) {
		t.Fatalf("Decode(golden) = %d lines, metadata says %s; want %d", len(got), gotMeta[MetaRecords], len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("line %d: %s, want %s", i+1, got[i], want[i])
		}
	}
}
