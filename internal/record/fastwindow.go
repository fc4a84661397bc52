package record

import (
	"strconv"
)

// Names keeps one copy of the strings that recur on every window line
// (machines, arepa types, metric names, event kinds and codes), so decoding
// a window allocates them once instead of once a line. The zero value is
// ready; it is not safe for concurrent use.
type Names struct {
	m map[string]string
}

// maxNames bounds a Names: past it, strings are allocated as usual, so a
// window of odd codes cannot grow it without limit.
const maxNames = 1 << 14

func (n *Names) get(b []byte) string {
	if s, ok := n.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if n.m == nil {
		n.m = map[string]string{}
	}
	if len(n.m) < maxNames {
		n.m[s] = s
	}
	return s
}

// FastWindowLine decodes the common case of a window line (a record as
// json.Marshal writes it: plain ASCII strings without escapes, known keys
// once each, plain numbers, at most maxMetrics metrics). ok is true only when
// json.Unmarshal into a Record would give exactly r (FuzzFastWindowLine
// checks it); on anything else ok is false and the caller takes
// encoding/json, which also reports the error. It does not check that r is
// a sensible record (a machine, a known type): callers do, on both paths.
func FastWindowLine(line []byte, names *Names) (r Record, ok bool) {
	s := scanner{p: line}
	if !s.byte('{') {
		return r, false
	}
	const (
		fMachine = 1 << iota
		fType
		fTS
		fSeq
		fArepa
		fMetrics
		fKind
		fCode
		fNote
	)
	var (
		seen uint16
		m    metrics
	)
	str := func(dst *string) bool {
		v, ok := s.raw()
		if ok {
			*dst = names.get(v)
		}
		return ok
	}
	for first := true; ; first = false {
		if first && s.byte('}') {
			break
		}
		key, ok := s.raw()
		if !ok || !s.byte(':') {
			return r, false
		}
		var f uint16
		switch string(key) {
		case "machine":
			f, ok = fMachine, str(&r.Machine)
		case "type":
			f, ok = fType, str(&r.Type)
		case "ts":
			f = fTS
			s.ws()
			from := s.i
			if _, ok = s.raw(); ok {
				// The very method encoding/json calls, on the quoted string.
				ok = r.TS.UnmarshalJSON(s.p[from:s.i]) == nil
			}
		case "seq":
			f = fSeq
			var tok []byte
			if tok, ok = s.number(); ok {
				var err error
				r.Seq, err = strconv.ParseInt(string(tok), 10, 64)
				ok = err == nil
			}
		case "arepa":
			f, ok = fArepa, str(&r.Arepa)
		case "metrics":
			f, ok = fMetrics, s.floats(&m)
		case "kind":
			f, ok = fKind, str(&r.Kind)
		case "code":
			f, ok = fCode, str(&r.Code)
		case "note":
			f, ok = fNote, str(&r.Note)
		default:
			return Record{}, false
		}
		if !ok || seen&f != 0 {
			return Record{}, false
		}
		seen |= f
		if s.byte(',') {
			continue
		}
		if s.byte('}') {
			break
		}
		return Record{}, false
	}
	if !s.end() {
		return Record{}, false
	}
	if seen&fMetrics != 0 {
		r.Metrics = make(map[string]float64, m.n)
		for _, kv := range m.kv[:m.n] {
			v, err := strconv.ParseFloat(string(kv.v), 64)
			if err != nil {
				return Record{}, false // out of range: encoding/json refuses it
			}
			r.Metrics[names.get(kv.k)] = v
		}
		if len(r.Metrics) != m.n {
			return Record{}, false // a repeated name: encoding/json keeps the last
		}
	}
	return r, true
}

// floats reads an object of numbers into m, keeping the tokens as written.
func (s *scanner) floats(m *metrics) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		k, ok := s.raw()
		if !ok || !s.byte(':') || m.n == maxMetrics {
			return false
		}
		tok, ok := s.number()
		if !ok {
			return false
		}
		m.kv[m.n].k, m.kv[m.n].v = k, tok
		m.n++
		if s.byte(',') {
			continue
		}
		return s.byte('}')
	}
}
