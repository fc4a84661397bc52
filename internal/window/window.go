// Package window is the daily window format that travels from the agents
// to the trainer: windows/<kitchen>/<yyyy-mm-dd>.ndjson.gz, one record per
// line (a JSON record.Record), a deterministic gzip stream, and its checksums
// in the object's metadata. The agent's uploader and the simulator write it
// with the same Encoder, so the two can never drift apart.
package window

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Key is where a kitchen's local day is stored.
func Key(kitchen, day string) string {
	return "windows/" + kitchen + "/" + day + ".ndjson.gz"
}

// Object metadata keys (sent as X-Amz-Meta-<key>).
const (
	// MetaSHA256 is the SHA-256 of the object's bytes, i.e. of the gzip
	// stream; a reader verifies a download against it before decompressing.
	MetaSHA256 = "Sha256"
	// MetaContentSHA256 is the SHA-256 of the uncompressed NDJSON content.
	MetaContentSHA256 = "Ndjson-Sha256"
	// MetaRecords is the number of lines (records) in the window.
	MetaRecords = "Records"
	MetaKitchen = "Kitchen"
	MetaDay     = "Day"
)

// Window is one encoded daily window.
type Window struct {
	Data          []byte // gzip stream, deterministic
	SHA256        string // hex SHA-256 of Data
	ContentSHA256 string // hex SHA-256 of the uncompressed NDJSON
	MD5           string // hex MD5 of Data: a single-part upload's ETag
	Records       int
}

// Encoder builds a window line by line. The gzip header carries no name and
// no modification time, so the same lines at the same level always give the
// same bytes: uploading a day twice yields the same object.
type Encoder struct {
	buf   bytes.Buffer
	zw    *gzip.Writer
	raw   hash.Hash
	n     int
	multi io.Writer
}

// NewEncoder starts a window compressed at gzip level (the agent uses
// gzip.BestCompression; the simulator, writing millions of records,
// gzip.BestSpeed).
func NewEncoder(level int) (*Encoder, error) {
	e := &Encoder{raw: sha256.New()}
	zw, err := gzip.NewWriterLevel(&e.buf, level)
	if err != nil {
		return nil, fmt.Errorf("window gzip level %d: %w", level, err)
	}
	e.zw = zw
	e.zw.Header = gzip.Header{OS: 255} // no ModTime, no Name
	e.multi = io.MultiWriter(e.zw, e.raw)
	return e, nil
}

// Line appends one record line (a trailing newline is optional; blank lines
// are skipped).
func (e *Encoder) Line(b []byte) error {
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return nil
	}
	if _, err := e.multi.Write(b); err != nil {
		return err
	}
	if _, err := e.multi.Write([]byte{'\n'}); err != nil {
		return err
	}
	e.n++
	return nil
}

// Finish closes the gzip stream and returns the window with its checksums.
func (e *Encoder) Finish() (Window, error) {
	if err := e.zw.Close(); err != nil {
		return Window{}, fmt.Errorf("gzip window: %w", err)
	}
	data := e.buf.Bytes()
	sum := sha256.Sum256(data)
	m := md5.Sum(data)
	return Window{
		Data:          data,
		SHA256:        hex.EncodeToString(sum[:]),
		ContentSHA256: hex.EncodeToString(e.raw.Sum(nil)),
		MD5:           hex.EncodeToString(m[:]),
		Records:       e.n,
	}, nil
}

// Decode verifies a downloaded window against its SHA-256 (hex, of the
// gzip bytes; skipped when empty) and returns its lines.
func Decode(data []byte, wantSHA256 string) ([][]byte, error) {
	if wantSHA256 != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, wantSHA256) {
			return nil, fmt.Errorf("window checksum mismatch: sha256 %s, metadata says %s", got, wantSHA256)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("window is not gzip: %w", err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read window: %w", err)
	}
	return lines, nil
}
