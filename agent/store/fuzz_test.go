package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/internal/record"
)

// Stored bytes are outside input once the disk damages them: the readers of
// a line, of the file's meta and free list pages, and of raw leaf pages
// must never panic, and a line passing its checksum is the line written.
func FuzzCheckLine(f *testing.F) {
	line := []byte(`{"machine":"m-1","type":"cook","ts":"2026-11-20T08:00:00Z","seq":1}`)
	f.Add(appendTrailer(append([]byte(nil), line...), line), true)
	f.Add(line, false)
	f.Add([]byte{0, 0, 0, 0, 0}, true)
	f.Add([]byte("}"), false)
	f.Fuzz(func(t *testing.T, v []byte, strict bool) {
		got, err := checkLine(v, strict)
		if err != nil {
			return
		}
		if len(got) != len(v) && !bytes.Equal(appendTrailer(append([]byte(nil), got...), got), v) {
			t.Fatalf("accepted %q with a trailer that does not match", v)
		}
		if len(got) == len(v) && (strict || got[0] != '{' || got[len(got)-1] != '}') {
			t.Fatalf("accepted %q without a trailer (strict %v)", v, strict)
		}
	})
}

func FuzzRawLines(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	s, err := Open(path, Options{})
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if _, err := s.Commit(&Batch{Records: []record.Record{cook("m-1", t0, 1), cook("m-2", t0, 2)}}); err != nil {
		f.Fatal(err)
	}
	ps := s.DB().Info().PageSize
	s.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, ps)
	f.Add(seed[:len(seed)/2], ps)
	f.Add([]byte{}, 4096)
	f.Fuzz(func(t *testing.T, b []byte, pageSize int) {
		_ = rawLinesIn(b, pageSize, func(k, v []byte) error {
			if len(k) != 16 {
				t.Fatalf("key of %d bytes", len(k))
			}
			return nil
		})
		// checkFile reads the same bytes as a file.
		p := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = checkFile(p)
	})
}
