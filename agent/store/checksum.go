package store

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"sync/atomic"
)

// Every stored record line is followed by a trailer: a NUL byte, which JSON
// text never contains, then the CRC-32C of the line, big-endian. bbolt keeps
// no checksums of its own, so without it a byte flipped on disk would be
// read back as a (different) record, or fail a decision on that line.
//
// Stores written before the trailer existed hold lines without one. A
// store created with trailers has kLineCRC set in meta, and there a line
// without a valid trailer is always bad; in an older store a line without a
// trailer is accepted if it still ends like JSON, until retention removes
// it (new lines get trailers from the first commit after the upgrade).
const trailerLen = 5

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var kLineCRC = []byte("line_crc")

// errBadLine marks a stored line whose checksum does not match.
var errBadLine = errors.New("stored line fails its checksum")

// appendTrailer appends line's checksum trailer to b (which ends with line).
func appendTrailer(b, line []byte) []byte {
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(line, crcTable))
}

// checkLine returns the line inside a stored value, or errBadLine. strict
// refuses lines without a trailer (stores created with trailers).
func checkLine(v []byte, strict bool) ([]byte, error) {
	n := len(v)
	if n > trailerLen && v[n-trailerLen] == 0 {
		line := v[:n-trailerLen]
		if crc32.Checksum(line, crcTable) == binary.BigEndian.Uint32(v[n-4:]) {
			return line, nil
		}
		return nil, errBadLine
	}
	if !strict && n > 0 && v[0] == '{' && v[n-1] == '}' {
		return v, nil
	}
	return nil, errBadLine
}

// badLines counts and reports lines that failed their checksum. A bad line
// is skipped by every reader: what it held is lost locally, and the
// uploaded window (or the broker's redelivery) is where it can come back.
type badLines struct {
	n   atomic.Uint64
	log *slog.Logger
}

// seen counts one bad line; the first few are logged with where they are.
func (b *badLines) seen(machine string, key []byte) {
	n := b.n.Add(1)
	if b.log != nil && (n <= 10 || n&(n-1) == 0) {
		b.log.Error("stored record fails its checksum; skipped (run `budare-agent store check`)",
			"machine", machine, "key", key, "bad_lines_seen", n)
	}
}
