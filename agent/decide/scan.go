package decide

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/record"
)

// The decision reads every machine's last 8 days, ~150,000 records in a
// busy kitchen. encoding/json spends most of the decision's time decoding
// them, so stored records are read with a decoder specialised for the one
// shape the store writes (json.Marshal of record.Record). Anything it does
// not recognise (escapes, unknown fields, other layouts) goes to
// encoding/json instead, so the result is always what json.Unmarshal gives.

// rawScanner is implemented by stores that can hand out the stored bytes.
type rawScanner interface {
	scanRaw(machine string, from, to time.Time, fn func(line []byte) error) error
}

// StoreRecords adapts *store.Store to Records with the fast record reader.
type StoreRecords struct{ *store.Store }

func (s StoreRecords) scanRaw(machine string, from, to time.Time, fn func([]byte) error) error {
	return s.ScanLines(machine, from, to, fn)
}

// scanRecords reads machine's records with from <= ts < to, in time order.
func scanRecords(src Records, machine string, from, to time.Time, fn func(record.Record) error) error {
	rs, ok := src.(rawScanner)
	if !ok {
		return src.Scan(machine, from, to, fn)
	}
	var in interner
	return rs.scanRaw(machine, from, to, func(line []byte) error {
		r, err := in.decode(line)
		if err != nil {
			return fmt.Errorf("decode stored record of %s: %w", machine, err)
		}
		return fn(r)
	})
}

// interner shares the strings that repeat across records (metric names,
// arepa types, kinds) instead of allocating each again.
type interner struct{ m map[string]string }

func (in *interner) str(b []byte) string {
	if s, ok := in.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if in.m == nil {
		in.m = map[string]string{}
	}
	if len(in.m) > 4096 { // a flood of odd names must not grow without bound
		return string(b)
	}
	s := string(b)
	in.m[s] = s
	return s
}

var errSlow = errors.New("not the common shape")

// decode returns the record of one stored line.
func (in *interner) decode(line []byte) (record.Record, error) {
	r, err := in.fast(line)
	if err == nil {
		return r, nil
	}
	var slow record.Record
	if err := json.Unmarshal(line, &slow); err != nil {
		return record.Record{}, err
	}
	return slow, nil
}

// fast parses {"k":v,...} where string values have no escapes and numbers
// are plain. It returns errSlow for anything else.
func (in *interner) fast(b []byte) (record.Record, error) {
	var r record.Record
	p := parser{b: b}
	if !p.byte('{') {
		return r, errSlow
	}
	if p.peek() == '}' {
		return r, errSlow
	}
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return r, errSlow
		}
		switch string(key) {
		case "machine":
			v, ok := p.str()
			if !ok {
				return r, errSlow
			}
			r.Machine = in.str(v)
		case "type":
			v, ok := p.str()
			if !ok {
				return r, errSlow
			}
			r.Type = in.str(v)
		case "ts":
			v, ok := p.str()
			if !ok {
				return r, errSlow
			}
			// The same strict RFC 3339 parser encoding/json uses.
			if err := r.TS.UnmarshalText(v); err != nil {
				return r, errSlow
			}
		case "seq":
			v, ok := p.num()
			if !ok {
				return r, errSlow
			}
			// unsafe.String: the bytes outlive the call and are not retained
			// (an error, which would keep them, takes the slow path).
			n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(v), len(v)), 10, 64)
			if err != nil {
				return r, errSlow
			}
			r.Seq = n
		case "arepa", "kind", "code", "note":
			v, ok := p.str()
			if !ok {
				return r, errSlow
			}
			switch string(key) {
			case "arepa":
				r.Arepa = in.str(v)
			case "kind":
				r.Kind = in.str(v)
			case "code":
				r.Code = in.str(v)
			case "note":
				r.Note = string(v)
			}
		case "metrics":
			// A repeated "metrics" merges in encoding/json; leave it to it.
			if r.Metrics != nil || !p.byte('{') {
				return r, errSlow
			}
			r.Metrics = make(map[string]float64, 8)
			if p.peek() == '}' {
				p.i++
			} else {
				for {
					k, ok := p.str()
					if !ok || !p.byte(':') {
						return r, errSlow
					}
					v, ok := p.num()
					if !ok {
						return r, errSlow
					}
					f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), 64)
					if err != nil {
						return r, errSlow
					}
					r.Metrics[in.str(k)] = f
					if p.byte(',') {
						continue
					}
					if p.byte('}') {
						break
					}
					return r, errSlow
				}
			}
		default:
			return r, errSlow
		}
		if p.byte(',') {
			continue
		}
		if p.byte('}') && p.i == len(p.b) {
			return r, nil
		}
		return r, errSlow
	}
}

type parser struct {
	b []byte
	i int
}

func (p *parser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters.
func (p *parser) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			// Escapes and non-ASCII (which encoding/json validates and may
			// replace) take the slow path.
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// num reads a JSON number token.
func (p *parser) num() ([]byte, bool) {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return nil, false
	}
	v := p.b[start:p.i]
	// JSON forbids what ParseFloat accepts beyond the grammar ("1.", ".5",
	// "+1", leading zeros, "1e"): check the grammar strictly.
	if !validNumber(v) {
		return nil, false
	}
	return v, true
}

func validNumber(s []byte) bool {
	n := record.NumberLen(s)
	return n > 0 && n == len(s)
}
