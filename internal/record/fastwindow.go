package record

import (
	"encoding/json"
	"strconv"
)

// Names keeps one copy of the strings that recur on every window line
// (machines, arepa types, metric names, event kinds and codes), so decoding
// a window allocates them once instead of once a line. The zero value is
// ready; it is not safe for concurrent use. A nil *Names shares nothing.
type Names struct {
	m map[string]string
}

// maxNames bounds a Names: past it, strings are allocated as usual, so a
// window of odd codes cannot grow it without limit.
const maxNames = 1 << 14

func (n *Names) get(b []byte) string {
	if n == nil {
		return string(b)
	}
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
// once each, plain numbers). ok is true only when json.Unmarshal into a
// Record would give exactly r (FuzzFastWindowLine checks it); on anything
// else ok is false and the caller takes encoding/json, which also reports
// the error (DecodeLine does both). It does not check that r is a sensible
// record (a machine, a known type): callers do, on both paths.
func FastWindowLine(line []byte, names *Names) (r Record, ok bool) {
	s := scanner{p: line}
	var seen fields
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return Record{}, false
		}
		if end {
			break
		}
		var f fields
		switch string(key) {
		case "machine":
			f, ok = fMachine, s.str(names, &r.Machine)
		case "type":
			f, ok = fType, s.str(names, &r.Type)
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
			f, ok = fArepa, s.str(names, &r.Arepa)
		case "metrics":
			f, ok = fMetrics, s.floats(names, &r.Metrics)
		case "kind":
			f, ok = fKind, s.str(names, &r.Kind)
		case "code":
			f, ok = fCode, s.str(names, &r.Code)
		case "note":
			f, ok = fNote, s.str(names, &r.Note)
		default:
			return Record{}, false
		}
		if !ok || !seen.once(f) {
			return Record{}, false
		}
	}
	if !s.end() {
		return Record{}, false
	}
	return r, true
}

// DecodeLine decodes a window line — what the agent's store keeps for a
// record and what windows carry, json.Marshal of a Record — with
// FastWindowLine, or with encoding/json, the reference, which also explains
// a bad line, when the fast path declines. Either way the result is what
// json.Unmarshal gives (FuzzDecodeLine checks it). names shares the
// recurring strings across calls; nil shares nothing.
func DecodeLine(line []byte, names *Names) (Record, error) {
	if r, ok := FastWindowLine(line, names); ok {
		return r, nil
	}
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, err
	}
	return r, nil
}

// str reads a plain string into dst, sharing it through names.
func (s *scanner) str(names *Names, dst *string) bool {
	v, ok := s.raw()
	if ok {
		*dst = names.get(v)
	}
	return ok
}

// floats reads a metrics object into a new *dst, sharing names. A repeated
// name keeps its last value, as in encoding/json.
func (s *scanner) floats(names *Names, dst *map[string]float64) bool {
	m := make(map[string]float64, 8)
	*dst = m
	for first := true; ; first = false {
		k, tok, end, ok := s.numberMember(first)
		if !ok || end {
			return ok
		}
		v, err := strconv.ParseFloat(string(tok), 64)
		if err != nil {
			return false // out of range: encoding/json refuses it
		}
		m[names.get(k)] = v
	}
}
