package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/budare/budare/internal/record"
)

// bbolt page header: id uint64, flags uint16, count uint16, overflow uint32.
const (
	pageBranch   = 0x01
	pageLeaf     = 0x02
	pageFreelist = 0x10
)

// damageFixture writes a closed store of machines x perMachine records
// and returns its path and page size.
func damageFixture(t *testing.T, machines, perMachine int) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for m := 0; m < machines; m++ {
		var b Batch
		for i := 0; i < perMachine; i++ {
			b.Records = append(b.Records, cook(fmt.Sprintf("m-%d", m), t0.Add(time.Duration(i)*time.Minute), int64(i)))
		}
		if _, err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
	}
	ps := s.DB().Info().PageSize
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, ps
}

// pagesOf returns the ids of the pages whose header flags are flag.
func pagesOf(t *testing.T, path string, pageSize int, flag uint16) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for id := 2; (id+1)*pageSize <= len(b); id++ {
		p := b[id*pageSize:]
		if binary.LittleEndian.Uint64(p) == uint64(id) && binary.LittleEndian.Uint16(p[8:]) == flag {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no page with flags %#x in %s", flag, path)
	}
	return ids
}

// currentFreelist returns the free list page the newest meta page names.
func currentFreelist(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(binary.LittleEndian.Uint32(b[24:]))
	m0, m1 := b[16:], b[ps+16:]
	m := m0
	// meta: magic, version, page size, flags (4 each), root bucket (16),
	// freelist pgid, high water mark, txid (8 each).
	if binary.LittleEndian.Uint64(m1[48:]) > binary.LittleEndian.Uint64(m0[48:]) {
		m = m1
	}
	return int(binary.LittleEndian.Uint64(m[32:]))
}

// overwrite writes data at off in path.
func overwrite(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

func fill(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

// flipInRecord flips one byte inside the stored line of record seq of
// machine m-0 (found by its unique timestamp text).
func flipInRecord(t *testing.T, path string, seq int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute).Format(time.RFC3339Nano)
	needle := []byte(`{"machine":"m-0","type":"cook","ts":"` + ts)
	i := bytes.Index(b, needle)
	if i < 0 {
		t.Fatalf("record %d not found in the file", seq)
	}
	// A digit of the plate temperature: still valid JSON, a different value.
	j := i + bytes.Index(b[i:], []byte(`"plate_temp_c":23`)) + len(`"plate_temp_c":23`)
	overwrite(t, path, int64(j), []byte{b[j] ^ 0x01})
}

func TestDamagedStoreIsRecognisedAtOpen(t *testing.T) {
	const machines, per = 3, 3000
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, ps int)
	}{
		{"truncated to half", func(t *testing.T, path string, _ int) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"branch page overwritten with 0xff", func(t *testing.T, path string, ps int) {
			id := pagesOf(t, path, ps, pageBranch)[0]
			overwrite(t, path, int64(id*ps+16), fill(ps-16, 0xff))
		}},
		{"branch page zeroed", func(t *testing.T, path string, ps int) {
			id := pagesOf(t, path, ps, pageBranch)[0]
			overwrite(t, path, int64(id*ps), fill(ps, 0))
		}},
		{"leaf page overwritten with 0xff", func(t *testing.T, path string, ps int) {
			ids := pagesOf(t, path, ps, pageLeaf)
			id := ids[len(ids)/2]
			overwrite(t, path, int64(id*ps+16), fill(ps-16, 0xff))
		}},
		{"freelist page overwritten", func(t *testing.T, path string, ps int) {
			id := currentFreelist(t, path)
			overwrite(t, path, int64(id*ps+8), append([]byte{pageFreelist, 0, 0xff, 0xff}, fill(ps-12, 0x07)...))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, ps := damageFixture(t, machines, per)
			tt.damage(t, path, ps)
			s, err := Open(path, Options{Verify: true, Timeout: time.Second})
			if err == nil {
				s.Close()
				t.Fatal("Open(Verify) of a damaged store succeeded")
			}
			if !errors.Is(err, ErrDamaged) || strings.Contains(err.Error(), "\n") ||
				!strings.Contains(err.Error(), "store salvage") {
				t.Fatalf("Open: %v; want one line matching ErrDamaged that names store salvage", err)
			}

			// Salvage copies what is readable and says what was lost.
			out := filepath.Join(t.TempDir(), "salvaged.db")
			rep, err := Salvage(path, out, Options{Timeout: time.Second})
			if err != nil && rep == nil {
				t.Logf("salvage: %v", err) // both meta pages gone: nothing to copy
				return
			}
			if err != nil {
				t.Fatalf("salvage: %v", err)
			}
			if rep.Copied+rep.Lost != machines*per && !rep.LostUnknown {
				t.Errorf("salvage: copied %d, lost %d of %d, no machine unreadable: records unaccounted", rep.Copied, rep.Lost, machines*per)
			}
			if rep.Copied > machines*per {
				t.Errorf("salvage copied %d > %d stored", rep.Copied, machines*per)
			}
			s, err = Open(out, Options{Verify: true})
			if err != nil {
				t.Fatalf("salvaged store does not open: %v", err)
			}
			defer s.Close()
			st, _ := s.Stats()
			if int(st.Records) != rep.Copied {
				t.Errorf("salvaged store holds %d records, report says %d", st.Records, rep.Copied)
			}
			t.Logf("copied %d, lost %d, bad %d, unreadable %v, problems %q", rep.Copied, rep.Lost, rep.BadLines, rep.Unreadable, rep.Problems)
		})
	}
}

func TestFlippedByteInRecordIsSkipped(t *testing.T) {
	path, _ := damageFixture(t, 2, 50)
	flipInRecord(t, path, 7)

	s, err := Open(path, Options{Verify: true})
	if err != nil {
		t.Fatalf("a single bad record must not stop the store: %v", err)
	}
	var seqs []int64
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if err := s.Scan("m-0", from, from.Add(24*time.Hour), func(r record.Record) error {
		seqs = append(seqs, r.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 49 || slices.Contains(seqs, 7) {
		t.Fatalf("scan gave %d records (with seq 7: %v); want 49 without the damaged one", len(seqs), slices.Contains(seqs, 7))
	}
	n := 0
	if err := s.RawDay("2026-11-20", func(_ string, line []byte) error {
		if bytes.IndexByte(line, 0) >= 0 {
			t.Errorf("RawDay handed out a checksum trailer: %q", line)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 99 {
		t.Errorf("RawDay gave %d lines, want 99", n)
	}
	if st, _ := s.Stats(); st.BadLines != 2 {
		t.Errorf("stats count %d bad lines, want 2 (seen by Scan and RawDay)", st.BadLines)
	}
	s.Close()

	rep, err := Check(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.BadLines != 1 || rep.BadByMachine["m-0"] != 1 || rep.Records != 99 || rep.Damaged() || rep.OK() {
		t.Fatalf("check: %+v; want 1 bad line of m-0, 99 records, not damaged", rep)
	}
	out := filepath.Join(t.TempDir(), "new.db")
	srep, err := Salvage(path, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if srep.Copied != 99 || srep.BadLines != 1 || srep.Lost != 1 || srep.LostByDay["2026-11-20"] != 1 {
		t.Fatalf("salvage: %+v; want 99 copied, 1 lost on 2026-11-20", srep)
	}
	rep, err = Check(out, time.Second)
	if err != nil || !rep.OK() || rep.Records != 99 || rep.Unchecked != 0 {
		t.Fatalf("check of the salvaged store: %+v, %v", rep, err)
	}
}

func TestLegacyLinesWithoutChecksumStillRead(t *testing.T) {
	path, _ := damageFixture(t, 1, 10)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the store as an agent before checksums left it: lines without
	// a trailer and no line_crc mark. One legacy line is damaged at its end.
	err = s.db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bRecords).Bucket([]byte("m-0"))
		var keys, vals [][]byte
		if err := mb.ForEach(func(k, v []byte) error {
			keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v[:len(v)-trailerLen]))
			return nil
		}); err != nil {
			return err
		}
		vals[3] = append(vals[3][:len(vals[3])-1], 'x')
		for i := range keys {
			if err := mb.Put(keys[i], vals[i]); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Delete(kLineCRC)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.strict {
		t.Fatal("a store with records and no line_crc mark opened strict")
	}
	n := 0
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if err := s.Scan("m-0", from, from.Add(time.Hour), func(record.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 9 {
		t.Fatalf("read %d legacy records, want 9 (the one not ending like JSON skipped)", n)
	}
	// New lines in the upgraded store carry checksums.
	if _, err := s.Commit(&Batch{Records: []record.Record{cook("m-0", from.Add(time.Hour), 99)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rep, err := Check(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchecked != 9 || rep.Records != 10 || rep.BadLines != 1 {
		t.Fatalf("check: %+v; want 9 unchecked legacy lines, 10 records, 1 bad", rep)
	}
}
