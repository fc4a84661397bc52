package upload

import (
	"bufio"
	"bytes"
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
	"strings"
	"time"
)

// ObjectKey is where a kitchen's local day is stored.
func ObjectKey(kitchen, day string) string {
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

// encoder builds a window line by line. The gzip header carries no name and
// no modification time, and the level is fixed, so the same lines always give
// the same bytes: uploading a day twice yields the same object.
type encoder struct {
	buf   bytes.Buffer
	zw    *gzip.Writer
	raw   hash.Hash
	n     int
	multi io.Writer
}

func newEncoder() *encoder {
	e := &encoder{raw: sha256.New()}
	// NewWriterLevel only fails for an invalid level.
	e.zw, _ = gzip.NewWriterLevel(&e.buf, gzip.BestCompression)
	e.zw.Header = gzip.Header{OS: 255} // no ModTime, no Name
	e.multi = io.MultiWriter(e.zw, e.raw)
	return e
}

func (e *encoder) line(b []byte) error {
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

func (e *encoder) finish() (Window, error) {
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

// lineKey identifies a record: (machine, ts, seq), as in the store.
type lineKey struct {
	Machine string
	TS      int64 // unix ns
	Seq     int64
}

func compareKeys(a, b lineKey) int {
	if c := strings.Compare(a.Machine, b.Machine); c != 0 {
		return c
	}
	if a.TS != b.TS {
		if a.TS < b.TS {
			return -1
		}
		return 1
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

func keyOf(line []byte) (lineKey, error) {
	var r struct {
		Machine string    `json:"machine"`
		TS      time.Time `json:"ts"`
		Seq     *int64    `json:"seq"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return lineKey{}, fmt.Errorf("window line is not a record: %w", err)
	}
	if r.Machine == "" || r.TS.IsZero() || r.Seq == nil {
		return lineKey{}, errors.New("window line lacks machine, ts or seq")
	}
	return lineKey{r.Machine, r.TS.UnixNano(), *r.Seq}, nil
}

// DecodeWindow verifies a downloaded window against its SHA-256 (hex, of the
// gzip bytes; skipped when empty) and returns its lines.
func DecodeWindow(data []byte, wantSHA256 string) ([][]byte, error) {
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

// mergeLines returns the union of two sets of window lines, one line per
// (machine, ts, seq), in the store's order (machine name, then time, then
// seq), so a merged window is byte-identical to the one an unpruned store
// would have produced.
func mergeLines(remote, local [][]byte) ([][]byte, error) {
	type kl struct {
		k lineKey
		l []byte
	}
	seen := make(map[lineKey]bool, len(remote)+len(local))
	all := make([]kl, 0, len(remote)+len(local))
	for _, set := range [][][]byte{local, remote} {
		for _, l := range set {
			k, err := keyOf(l)
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
	slices.SortFunc(all, func(a, b kl) int { return compareKeys(a.k, b.k) })
	out := make([][]byte, len(all))
	for i := range all {
		out[i] = all[i].l
	}
	return out, nil
}
