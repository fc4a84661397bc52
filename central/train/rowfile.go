package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// rowFile is one row file's content: one type's rows from a rows shard's
// kitchens, as the kitchens gave them (one part each, in kitchen order), so
// neither stage copies them into one layout: the fit stage lays the parts
// out under the type's Spec as a single run does (buildRowSet).
type rowFile struct {
	Run, Arepa, Shard string
	Parts             []*typeRows
}

func (f *rowFile) rows() int {
	n := 0
	for _, p := range f.Parts {
		n += p.n()
	}
	return n
}

// rowFileMagic starts every row file. The file's integrity is its SHA-256
// in the rows manifest, checked before it is decoded.
const rowFileMagic = "budare-rows v2\n"

// A row file is, after the magic, little-endian and uvarint-counted:
//
//	run, arepa, shard  strings
//	parts              count, then per part:
//	  metrics          strings
//	  rows n, champion dim
//	  X                n*dim float64 (dim = rowSpec(metrics).Len())
//	  Day              n int32
//	  Y                n bytes, 0 or 1
//	  machines         strings, then n indexes into them
//	  ChampRow         n int32, when the champion dim is set
//	  Champ            count, then that many float64
//
// Floats are their IEEE bits, so a vector comes back bit for bit; the same
// rows always give the same bytes.

// encodeRowFile returns f's bytes.
func encodeRowFile(f *rowFile) []byte {
	w := rowWriter{b: make([]byte, 0, f.size())}
	w.b = append(w.b, rowFileMagic...)
	w.str(f.Run)
	w.str(f.Arepa)
	w.str(f.Shard)
	w.uint(len(f.Parts))
	for _, p := range f.Parts {
		w.part(p)
	}
	return w.b
}

// size is about the encoded size: enough to allocate once.
func (f *rowFile) size() int {
	n := len(rowFileMagic) + 64
	for _, p := range f.Parts {
		n += 64 + 8*len(p.X) + 8*len(p.Champ) + 10*p.n()
		for _, m := range p.Metrics {
			n += len(m) + 2
		}
	}
	return n
}

type rowWriter struct{ b []byte }

func (w *rowWriter) uint(v int) { w.b = binary.AppendUvarint(w.b, uint64(v)) }

func (w *rowWriter) str(s string) {
	w.uint(len(s))
	w.b = append(w.b, s...)
}

func (w *rowWriter) floats(v []float64) {
	for _, x := range v {
		w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(x))
	}
}

func (w *rowWriter) int32s(v []int32) {
	for _, x := range v {
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(x))
	}
}

func (w *rowWriter) part(p *typeRows) {
	w.uint(len(p.Metrics))
	for _, m := range p.Metrics {
		w.str(m)
	}
	w.uint(p.n())
	w.uint(p.ChampDim)
	w.floats(p.X)
	w.int32s(p.Day)
	for _, y := range p.Y {
		if y {
			w.b = append(w.b, 1)
		} else {
			w.b = append(w.b, 0)
		}
	}
	// A machine has many rows: its name is written once.
	var names []string
	index := map[string]int{}
	idx := make([]int, p.n())
	for i, m := range p.Machine {
		k, ok := index[m]
		if !ok {
			k = len(names)
			index[m] = k
			names = append(names, m)
		}
		idx[i] = k
	}
	w.uint(len(names))
	for _, m := range names {
		w.str(m)
	}
	for _, k := range idx {
		w.uint(k)
	}
	if p.ChampDim > 0 {
		w.int32s(p.ChampRow)
		w.uint(len(p.Champ))
		w.floats(p.Champ)
	}
}

var errRowFile = errors.New("row file: truncated or damaged")

// rowReader reads a row file; the first error sticks and every later read
// gives zero values.
type rowReader struct {
	b   []byte
	err error
}

func (r *rowReader) fail() { r.err, r.b = errRowFile, nil }

// count reads a count of items of at least size bytes each, refusing one
// the rest of the file cannot hold.
func (r *rowReader) count(size int) int {
	v, k := binary.Uvarint(r.b)
	if k <= 0 || v > uint64(len(r.b)-k)/uint64(max(size, 1)) {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return int(v)
}

// value reads a number that is not a count, refusing one above limit.
func (r *rowReader) value(limit int) int {
	v, k := binary.Uvarint(r.b)
	if k <= 0 || v > uint64(limit) {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return int(v)
}

func (r *rowReader) take(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *rowReader) str() string { return string(r.take(r.count(1))) }

func (r *rowReader) floats(n int) []float64 {
	b := r.take(8 * n)
	if b == nil {
		return nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

func (r *rowReader) int32s(n int) []int32 {
	b := r.take(4 * n)
	if b == nil {
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func (r *rowReader) part() *typeRows {
	p := &typeRows{}
	p.Metrics = make([]string, r.count(1))
	for i := range p.Metrics {
		p.Metrics[i] = r.str()
	}
	dim := rowSpec(p.Metrics, 0).Len()
	n := r.count(1 + 4 + 8*dim)
	p.ChampDim = r.value(1 << 20)
	p.X = r.floats(n * dim)
	p.Day = r.int32s(n)
	p.Y = make([]bool, n)
	for i, c := range r.take(n) {
		if c > 1 {
			r.fail()
		}
		p.Y[i] = c == 1
	}
	names := make([]string, r.count(1))
	for i := range names {
		names[i] = r.str()
	}
	if n > 0 && len(names) == 0 {
		r.fail()
		return p
	}
	p.Machine = make([]string, n)
	for i := range p.Machine {
		p.Machine[i] = names[r.value(len(names)-1)]
	}
	if p.ChampDim > 0 {
		p.ChampRow = r.int32s(n)
		p.Champ = r.floats(r.count(8))
		for _, c := range p.ChampRow {
			if c >= 0 && (int(c)+1)*p.ChampDim > len(p.Champ) {
				r.fail()
				break
			}
		}
	}
	return p
}

// decodeRowFile reads a row file.
func decodeRowFile(data []byte) (*rowFile, error) {
	if len(data) < len(rowFileMagic) || string(data[:len(rowFileMagic)]) != rowFileMagic {
		return nil, errors.New("not a budare row file (v2)")
	}
	r := &rowReader{b: data[len(rowFileMagic):]}
	f := &rowFile{Run: r.str(), Arepa: r.str(), Shard: r.str()}
	f.Parts = make([]*typeRows, r.count(8))
	for i := range f.Parts {
		f.Parts[i] = r.part()
	}
	if r.err == nil && len(r.b) != 0 {
		return nil, fmt.Errorf("row file: %d bytes after the rows", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return f, nil
}
