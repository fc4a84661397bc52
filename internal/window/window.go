// Package window is the daily window format that travels from the agents
// to the trainer: windows/<kitchen>/<yyyy-mm-dd>.ndjson.gz, one record per
// line (a JSON record.Record), a deterministic gzip stream, and its checksums
// in the object's metadata. The agent's uploader and the simulator write it
// with the same Encoder, so the two can never drift apart; the trainer reads
// it with Each (verified, streaming) and the uploader merges a remote window
// with its store's lines with Merge.
package window

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
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

// Meta is the object metadata a window is stored with: its checksums and
// record count, and the kitchen and day when given (the simulator leaves
// them out).
func (w Window) Meta(kitchen, day string) map[string]string {
	m := map[string]string{
		MetaSHA256:        w.SHA256,
		MetaContentSHA256: w.ContentSHA256,
		MetaRecords:       strconv.Itoa(w.Records),
	}
	if kitchen != "" {
		m[MetaKitchen] = kitchen
	}
	if day != "" {
		m[MetaDay] = day
	}
	return m
}

// MaxLine is the longest line a reader accepts.
const MaxLine = 4 << 20

// Check verifies a downloaded window against its SHA-256 (hex, of the gzip
// bytes, as in MetaSHA256); an empty wantSHA256 checks nothing.
func Check(data []byte, wantSHA256 string) error {
	if wantSHA256 == "" {
		return nil
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, wantSHA256) {
		return fmt.Errorf("window checksum mismatch: sha256 %s, metadata says %s", got, wantSHA256)
	}
	return nil
}

// Each verifies data with Check, then calls fn for every line that is not
// blank, with its number in the file (from 1, blank lines counted). line is
// only valid during the call: the reader reuses its buffer, so reading a
// window allocates nothing per line. An error from fn stops the reading and
// is returned as it is.
func Each(data []byte, wantSHA256 string, fn func(n int, line []byte) error) error {
	if err := Check(data, wantSHA256); err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("window is not gzip: %w", err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read window: %w", err)
	}
	return nil
}

// Decode verifies a downloaded window against its SHA-256 (hex, of the
// gzip bytes; skipped when empty) and returns its lines.
func Decode(data []byte, wantSHA256 string) ([][]byte, error) {
	var lines [][]byte
	err := Each(data, wantSHA256, func(_ int, line []byte) error {
		lines = append(lines, bytes.Clone(line))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lines, nil
}

// RecordID identifies a record in a window: (machine, ts, seq), as the
// agent's store keys it.
type RecordID struct {
	Machine string
	TS      int64 // unix ns
	Seq     int64
}

// Compare orders IDs as the store and a window do: machine name, then
// time, then seq.
func (a RecordID) Compare(b RecordID) int {
	return cmp.Or(cmp.Compare(a.Machine, b.Machine), cmp.Compare(a.TS, b.TS), cmp.Compare(a.Seq, b.Seq))
}

// IDOf reads the identity of a window line.
func IDOf(line []byte) (RecordID, error) {
	var r struct {
		Machine string    `json:"machine"`
		TS      time.Time `json:"ts"`
		Seq     *int64    `json:"seq"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return RecordID{}, fmt.Errorf("window line is not a record: %w", err)
	}
	if r.Machine == "" || r.TS.IsZero() || r.Seq == nil {
		return RecordID{}, errors.New("window line lacks machine, ts or seq")
	}
	return RecordID{r.Machine, r.TS.UnixNano(), *r.Seq}, nil
}

// Merge returns the union of two sets of window lines, one line per
// RecordID (local's where both have it), in the store's order, so a merged
// window is byte-identical to the one an unpruned store would have produced.
func Merge(remote, local [][]byte) ([][]byte, error) {
	type kl struct {
		k RecordID
		l []byte
	}
	seen := make(map[RecordID]bool, len(remote)+len(local))
	all := make([]kl, 0, len(remote)+len(local))
	for _, set := range [][][]byte{local, remote} {
		for _, l := range set {
			k, err := IDOf(l)
			if err != nil {
				return nil, err
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			all = append(all, kl{k, l})
		}
	}
	slices.SortFunc(all, func(a, b kl) int { return a.k.Compare(b.k) })
	out := make([][]byte, len(all))
	for i := range all {
		out[i] = all[i].l
	}
	return out, nil
}
