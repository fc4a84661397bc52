package ingest

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/budare/budare/internal/record"
)

// fastDecode decodes the common case of a payload — a well-formed v1 object
// with plain ASCII strings and no surprises — several times faster than
// record.Decode, which is the reference and the only judge of bad input.
// ok is true only when record.Decode would return exactly this record and no
// error (FuzzFastDecode checks it); on anything unusual (escapes, non-ASCII,
// unknown or repeated keys, nulls, odd numbers, any validation failure) ok is
// false and the caller runs record.Decode, which also classifies the error.
//
// names, when not nil, interns metric names and arepa types: a kitchen has a
// handful of each, and allocating them afresh for every message is a
// measurable share of the agent's CPU.
func fastDecode(machine, typ string, p []byte, now time.Time, names *interner) (r record.Record, ok bool) {
	if len(p) > record.MaxPayload || (typ != record.TypeCook && typ != record.TypeEvent) {
		return r, false
	}
	s := scanner{p: p, names: names}
	if !s.byte('{') {
		return r, false
	}
	var (
		seen                        uint16
		v, seq                      int64
		ts, arepa, kind, code, note string
		metrics                     map[string]float64
	)
	const (
		fV = 1 << iota
		fTS
		fSeq
		fArepa
		fMetrics
		fKind
		fCode
		fNote
	)
	for first := true; ; first = false {
		if first && s.byte('}') {
			break
		}
		key, ok := s.raw()
		if !ok || !s.byte(':') {
			return r, false
		}
		var f uint16
		// string(key) == "..." compares without allocating.
		switch {
		case string(key) == "v":
			f = fV
			v, ok = s.uint()
		case string(key) == "ts":
			f = fTS
			ts, ok = s.str()
		case string(key) == "seq":
			f = fSeq
			seq, ok = s.uint()
		case string(key) == "arepa":
			f = fArepa
			arepa, ok = s.name()
		case string(key) == "metrics":
			f = fMetrics
			metrics, ok = s.metrics()
		case string(key) == "kind":
			f = fKind
			kind, ok = s.name()
		case string(key) == "code":
			f = fCode
			code, ok = s.str()
		case string(key) == "note":
			f = fNote
			note, ok = s.str()
		default:
			return r, false
		}
		if !ok || seen&f != 0 {
			return r, false
		}
		seen |= f
		if s.byte(',') {
			continue
		}
		if s.byte('}') {
			break
		}
		return r, false
	}
	if !s.end() || seen&(fV|fTS|fSeq) != fV|fTS|fSeq || v != 1 {
		return r, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return r, false
	}
	t = t.UTC()
	if t.After(now.Add(record.MaxFuture)) || t.Year() < 2000 {
		return r, false
	}
	r = record.Record{Machine: machine, Type: typ, TS: t, Seq: seq}
	if typ == record.TypeCook {
		if seen&fArepa == 0 || seen&fMetrics == 0 || !validName(arepa) {
			return record.Record{}, false
		}
		for k := range metrics {
			if !validName(k) {
				return record.Record{}, false
			}
		}
		r.Arepa, r.Metrics = arepa, metrics
		return r, true
	}
	if seen&fKind == 0 || (kind != record.KindFailure && kind != record.KindFault && kind != record.KindMaintenance) {
		return record.Record{}, false
	}
	if seen&fMetrics != 0 && metrics == nil {
		return record.Record{}, false
	}
	r.Kind, r.Code, r.Note = kind, code, note
	return r, true
}

// validName mirrors record's name rule for the ASCII strings fastDecode
// accepts.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x21, c == 0x7f, c == '/', c == '+', c == '#', c == '"', c == '\\':
			return false
		}
	}
	return true
}

// scanner reads the JSON subset fastDecode handles.
type scanner struct {
	p     []byte
	i     int
	names *interner
}

// interner hands out one string per distinct name, up to a bound.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

const internMax = 4096

func newInterner() *interner { return &interner{m: make(map[string]string)} }

func (in *interner) get(b []byte) string {
	if in == nil {
		return string(b)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.m[string(b)]; ok { // lookup does not allocate
		return s
	}
	s := string(b)
	if len(in.m) < internMax {
		in.m[s] = s
	}
	return s
}

func (s *scanner) ws() {
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c (after whitespace) if it is next.
func (s *scanner) byte(c byte) bool {
	s.ws()
	if s.i < len(s.p) && s.p[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.p)
}

// raw reads a string of printable ASCII without escapes, returning its
// bytes inside the payload.
func (s *scanner) raw() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.p) {
		c := s.p[s.i]
		if c == '"' {
			v := s.p[start:s.i]
			s.i++
			return v, true
		}
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return nil, false
		}
		s.i++
	}
	return nil, false
}

func (s *scanner) str() (string, bool) {
	b, ok := s.raw()
	return string(b), ok
}

// name reads a string that repeats across messages (interned).
func (s *scanner) name() (string, bool) {
	b, ok := s.raw()
	if !ok {
		return "", false
	}
	return s.names.get(b), true
}

// number returns the next JSON number token, checked against the grammar.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	n := record.NumberLen(s.p[s.i:])
	if n == 0 {
		return nil, false
	}
	tok := s.p[s.i : s.i+n]
	s.i += n
	return tok, true
}

// uint reads a non-negative integer of at most 18 digits (no overflow).
func (s *scanner) uint() (int64, bool) {
	tok, ok := s.number()
	if !ok || len(tok) == 0 || len(tok) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// metrics reads an object of finite numbers with distinct plain keys.
func (s *scanner) metrics() (map[string]float64, bool) {
	if !s.byte('{') {
		return nil, false
	}
	m := make(map[string]float64, 8)
	if s.byte('}') {
		return m, true
	}
	for {
		k, ok := s.name()
		if !ok || !s.byte(':') {
			return nil, false
		}
		tok, ok := s.number()
		if !ok {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(tok), 64) // no allocation: does not escape
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = f
		if s.byte(',') {
			continue
		}
		if s.byte('}') {
			return m, true
		}
		return nil, false
	}
}
