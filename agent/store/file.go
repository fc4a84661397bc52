package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkFile looks at what bbolt reads at open before it can be trusted to
// read it: the meta pages, the file's length and the free list. bbolt
// sizes the free list from its page header, so a damaged one makes it
// allocate exabytes, a fatal error no recover catches. Offsets follow
// bbolt's file format (page header: id u64, flags u16, count u16,
// overflow u32; meta: magic, version, page size, flags u32, root bucket
// {pgid, sequence u64}, freelist u64, high water mark u64, txid u64,
// checksum u64 = FNV-64a of the fields before it).
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt creates it, or reports why it cannot
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	var metas []meta
	m0, ok := readMeta(f, 0)
	if ok {
		metas = append(metas, m0)
	}
	ps := int64(os.Getpagesize())
	if ok {
		ps = int64(m0.pageSize)
	}
	if m1, ok := readMeta(f, ps); ok {
		metas = append(metas, m1)
	}
	if len(metas) == 0 {
		return nil // bbolt says "invalid database"
	}
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	ps = int64(m.pageSize)
	if need := int64(m.hwm) * ps; fi.Size() < need {
		return damagedError(path, fmt.Errorf("file is %d bytes but its pages need %d: truncated", fi.Size(), need))
	}
	const noFreelist = ^uint64(0)
	if m.freelist == noFreelist {
		return nil
	}
	if m.freelist < 2 || m.freelist >= m.hwm {
		return damagedError(path, fmt.Errorf("free list page %d outside the file's %d pages", m.freelist, m.hwm))
	}
	hdr := make([]byte, 24)
	if _, err := f.ReadAt(hdr, int64(m.freelist)*ps); err != nil && !errors.Is(err, io.EOF) {
		return damagedError(path, fmt.Errorf("read free list: %w", err))
	}
	id, flags := binary.LittleEndian.Uint64(hdr), binary.LittleEndian.Uint16(hdr[8:])
	count, overflow := uint64(binary.LittleEndian.Uint16(hdr[10:])), uint64(binary.LittleEndian.Uint32(hdr[12:]))
	room := (overflow+1)*uint64(ps) - 16
	if count == 0xFFFF { // the real count is the first element
		count = binary.LittleEndian.Uint64(hdr[16:])
		room -= 8
	}
	if id != m.freelist || flags != 0x10 || m.freelist+overflow >= m.hwm || count > room/8 {
		return damagedError(path, fmt.Errorf("free list page %d is damaged (id %d, flags %#x, %d entries, %d overflow pages)",
			m.freelist, id, flags, count, overflow))
	}
	return nil
}

type meta struct {
	pageSize            uint32
	freelist, hwm, txid uint64
}

func readMeta(f *os.File, off int64) (meta, bool) {
	b := make([]byte, 16+64)
	if _, err := f.ReadAt(b, off); err != nil {
		return meta{}, false
	}
	b = b[16:]
	h := fnv.New64a()
	h.Write(b[:56])
	const magic, version = 0xED0CDAED, 2
	if binary.LittleEndian.Uint32(b) != magic || binary.LittleEndian.Uint32(b[4:]) != version ||
		h.Sum64() != binary.LittleEndian.Uint64(b[56:]) {
		return meta{}, false
	}
	m := meta{pageSize: binary.LittleEndian.Uint32(b[8:]), freelist: binary.LittleEndian.Uint64(b[32:]),
		hwm: binary.LittleEndian.Uint64(b[40:]), txid: binary.LittleEndian.Uint64(b[48:])}
	return m, m.pageSize >= 512
}

// rawLines calls fn with every record line found in the leaf pages of the
// file, read as plain bytes without bbolt: the salvage of last resort for
// records whose tree is damaged or lies past a truncated end. A line counts
// only if its checksum matches (or, without one, it decodes to a record
// whose key matches); lines of freed pages are older copies of records,
// and the new store's commit drops the duplicates.
func rawLines(path string, pageSize int, fn func(key, line []byte) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return rawLinesIn(b, pageSize, fn)
}

// rawLinesIn is rawLines over the file's bytes b.
func rawLinesIn(b []byte, pageSize int, fn func(key, line []byte) error) error {
	if pageSize < 64 {
		return fmt.Errorf("page size %d", pageSize)
	}
	for off := 2 * pageSize; off+16 <= len(b); off += pageSize {
		p := b[off:min(off+pageSize, len(b))]
		if binary.LittleEndian.Uint16(p[8:]) != 0x02 { // leaf
			continue
		}
		count := int(binary.LittleEndian.Uint16(p[10:]))
		for i := 0; i < count; i++ {
			e := 16 + 16*i
			if e+16 > len(p) {
				break
			}
			flags := binary.LittleEndian.Uint32(p[e:])
			pos, ksize, vsize := int(binary.LittleEndian.Uint32(p[e+4:])), int(binary.LittleEndian.Uint32(p[e+8:])), int(binary.LittleEndian.Uint32(p[e+12:]))
			start := e + pos
			if flags != 0 || ksize != 16 || vsize <= trailerLen || start < 0 || start+ksize+vsize > len(p) {
				continue
			}
			k, v := p[start:start+ksize], p[start+ksize:start+ksize+vsize]
			if err := fn(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}
