package record

import (
	"bytes"
	"strconv"
	"time"
)

// The fast decoders: a scanner for the JSON subset machines and window
// lines use in practice (plain ASCII strings, plain numbers, no escapes),
// shared by the agent's ingest (FastPayloadLine) and the readers of stored
// and window lines (FastWindowLine, DecodeLine: the agent's decision, the
// trainer). Each answers only when the reference decoder (Decode,
// encoding/json) would give exactly the same result, and otherwise says no
// so the caller takes the reference path; fuzz tests check both against the
// reference.

// PayloadLine is the window line FastPayloadLine wrote for a payload, with
// the fields the agent's store files it by.
type PayloadLine struct {
	TS   time.Time
	Seq  int64
	JSON []byte
}

// FastPayloadLine decodes the common case of a payload — a well-formed v1 object
// with plain ASCII strings, plain decimal numbers and no surprises — and
// writes its window line straight from the payload's bytes: no metrics map,
// no float parsing or formatting. That is several times cheaper than
// Decode followed by AppendLine, which remain the reference
// and the only judge of bad input.
//
// ok is true only when Decode would accept the payload and
// AppendLine would write exactly l.JSON for it (FuzzFastLine checks
// both); on anything unusual (escapes, non-ASCII, unknown or repeated keys,
// nulls, exponents, more than 15 digits, any validation failure) ok is false
// and the caller takes the reference path, which also classifies the error.
// The line is appended to buf; the grown buf is returned.
func FastPayloadLine(machine, typ string, p []byte, now time.Time, buf []byte) (l PayloadLine, out []byte, ok bool) {
	if len(p) > MaxPayload || (typ != TypeCook && typ != TypeEvent) || !plain(machine) {
		return l, buf, false
	}
	s := scanner{p: p}
	var (
		seen                        fields
		v, seq                      int64
		ts, arepa, kind, code, note []byte
		textClass                   uint8
		m                           metrics
	)
	for first := true; ; first = false {
		key, end, ok := s.member(first)
		if !ok {
			return l, buf, false
		}
		if end {
			break
		}
		var f fields
		// string(key) == "..." compares without allocating.
		switch {
		case string(key) == "v":
			f = fV
			v, ok = s.uint()
		case string(key) == "ts":
			f = fTS
			ts, ok = s.raw()
		case string(key) == "seq":
			f = fSeq
			seq, ok = s.uint()
		case string(key) == "arepa":
			f = fArepa
			arepa, ok = s.raw()
		case string(key) == "metrics":
			f = fMetrics
			ok = s.metrics(&m)
		case string(key) == "kind":
			f = fKind
			kind, ok = s.raw()
		case string(key) == "code":
			f = fCode
			code, ok = s.raw()
			textClass |= s.class
		case string(key) == "note":
			f = fNote
			note, ok = s.raw()
			textClass |= s.class
		default:
			return l, buf, false
		}
		if !ok || !seen.once(f) {
			return l, buf, false
		}
	}
	if !s.end() || seen&(fV|fTS|fSeq) != fV|fTS|fSeq || v != 1 {
		return l, buf, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts)) // no allocation: does not escape
	if err != nil {
		return l, buf, false
	}
	t = t.UTC()
	if t.After(now.Add(MaxFuture)) || t.Year() < 2000 {
		return l, buf, false
	}
	if typ == TypeCook {
		if seen&(fArepa|fMetrics) != fArepa|fMetrics || !fastName(arepa) ||
			m.class&(notName|notPlain) != 0 || !m.sort() {
			return l, buf, false
		}
	} else {
		// Decode keeps no metrics of an event, but a malformed metrics
		// object is still an error it reports.
		switch {
		case seen&fKind == 0,
			string(kind) != KindFailure && string(kind) != KindFault && string(kind) != KindMaintenance,
			textClass&notPlain != 0:
			return l, buf, false
		}
	}

	// The line, in json.Marshal(Record)'s field order.
	start := len(buf)
	b := append(buf, `{"machine":"`...)
	b = append(b, machine...)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	b = append(b, `","ts":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	if typ == TypeCook {
		b = append(b, `,"arepa":"`...)
		b = append(b, arepa...)
		b = append(b, '"')
		if m.n > 0 {
			b = append(b, `,"metrics":{`...)
			for i, kv := range m.kv[:m.n] {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = append(b, kv.k...)
				b = append(b, `":`...)
				b = append(b, kv.v...)
			}
			b = append(b, '}')
		}
	} else {
		b = append(b, `,"kind":"`...)
		b = append(b, kind...)
		b = append(b, '"')
		for _, f := range [...]struct {
			name string
			v    []byte
		}{{`,"code":"`, code}, {`,"note":"`, note}} {
			if len(f.v) > 0 {
				b = append(b, f.name...)
				b = append(b, f.v...)
				b = append(b, '"')
			}
		}
	}
	b = append(b, '}')
	return PayloadLine{TS: t, Seq: seq, JSON: b[start:len(b):len(b)]}, b, true
}

// Character classes of the bytes in a plain string, as scanner.raw records
// them.
const (
	notName  = 1 << iota // not allowed in a metric name (record's rule): space / + #
	notPlain             // escaped by encoding/json: < > &
)

// plain reports whether s is written as itself inside a JSON string by
// encoding/json: printable ASCII without the characters it escapes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// fastName mirrors ValidName: ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ without "..".
func fastName(s []byte) bool {
	if len(s) == 0 || len(s) > NameMaxLen {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' && i > 0:
			if s[i-1] == '.' {
				return false
			}
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// plainName mirrors the metric name rule (validMetric) for a plain string
// of the given class.
func plainName(s []byte, class uint8) bool {
	return len(s) > 0 && len(s) <= 128 && class&notName == 0
}

// maxMetrics bounds the metrics FastPayloadLine handles; more take the reference
// path.
const maxMetrics = 16

// metrics holds a metrics object's names and canonical decimal values as
// slices of the payload.
type metrics struct {
	kv    [maxMetrics]struct{ k, v []byte }
	n     int
	class uint8 // of all the names
}

// sort orders the metrics by name, as encoding/json orders map keys, and
// reports false on a repeated or too long name.
func (m *metrics) sort() bool {
	kv := m.kv[:m.n]
	for i := range kv {
		if !plainName(kv[i].k, 0) {
			return false
		}
		for j := i; j > 0; j-- {
			c := bytes.Compare(kv[j-1].k, kv[j].k)
			if c == 0 {
				return false
			}
			if c < 0 {
				break
			}
			kv[j-1], kv[j] = kv[j], kv[j-1]
		}
	}
	return true
}

// scanner reads the JSON subset the fast decoders handle.
type scanner struct {
	p     []byte
	i     int
	class uint8 // of the last string raw read
}

// ws skips whitespace. The stored lines have none, so the common case is
// one comparison, inlined.
func (s *scanner) ws() {
	if s.i < len(s.p) && s.p[s.i] <= ' ' {
		s.skipWS()
	}
}

func (s *scanner) skipWS() {
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
// bytes inside the payload; s.class gets its character classes.
func (s *scanner) raw() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	// In locals, not through s: the loop is most of the decoders' time.
	p, start := s.p, s.i
	var class uint8
	for i := start; i < len(p); i++ {
		c := p[i]
		// Letters and most punctuation, then digits, first: few comparisons
		// for most bytes.
		if c > '>' && c < 0x7f && c != '\\' || c >= '0' && c <= ';' {
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			s.class = class
			return p[start:i], true
		case c < 0x20, c >= 0x7f, c == '\\':
			return nil, false
		case c == ' ', c == '/', c == '+', c == '#':
			class |= notName
		case c == '<', c == '>', c == '&':
			class |= notPlain
		}
	}
	return nil, false
}

// number returns the next JSON number token, checked against the grammar.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	n := NumberLen(s.p[s.i:])
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

// metrics reads a metrics object into m: the names, with their character
// classes, and the values as encoding/json writes them (see canonical);
// false when m is full or a value is not that simple.
func (s *scanner) metrics(m *metrics) bool {
	for first := true; ; first = false {
		k, tok, end, ok := s.numberMember(first)
		if !ok || end {
			return ok
		}
		v, ok := canonical(tok)
		if !ok || m.n == maxMetrics {
			return false
		}
		m.class |= s.class
		m.kv[m.n].k, m.kv[m.n].v = k, v
		m.n++
	}
}

// numberMember is member for an object of numbers (a metrics object): the
// next member's name and number token.
func (s *scanner) numberMember(first bool) (name, tok []byte, end, ok bool) {
	name, end, ok = s.member(first)
	if ok && !end {
		tok, ok = s.number()
	}
	return name, tok, end, ok
}

// member reads an object's '{' (first) or the ',' after a member, then the
// next member's name and the colon after it; or the object's '}' (end
// true). ok is false on anything else.
func (s *scanner) member(first bool) (name []byte, end, ok bool) {
	if first && !s.byte('{') {
		return nil, false, false
	}
	s.ws()
	if s.i == len(s.p) {
		return nil, false, false
	}
	switch c := s.p[s.i]; {
	case c == '}':
		s.i++
		return nil, true, true
	case c == ',' && !first:
		s.i++
	case c != '"' || !first:
		return nil, false, false
	}
	name, ok = s.raw()
	return name, false, ok && s.byte(':')
}

// fields is a set of the known members of a payload or a window line, for
// refusing a repeated one.
type fields uint16

const (
	fMachine fields = 1 << iota
	fType
	fV
	fTS
	fSeq
	fArepa
	fMetrics
	fKind
	fCode
	fNote
)

// once adds f to the set, reporting false if it was there already.
func (seen *fields) once(f fields) bool {
	if *seen&f != 0 {
		return false
	}
	*seen |= f
	return true
}

// canonical returns the JSON number tok (grammar already checked) as
// encoding/json writes the float64 it parses to, when that is tok itself
// less trailing fraction zeros: a plain decimal (no exponent) of at most 15
// significant digits, which float64 holds and shortest formatting gives
// back digit for digit, at least 1e-6 in magnitude (smaller ones are written
// with an exponent), and not negative zero (written "-0").
func canonical(tok []byte) ([]byte, bool) {
	digits, nonzero, dot := 0, false, -1
	for i, c := range tok {
		switch {
		case c >= '0' && c <= '9':
			digits++
			nonzero = nonzero || c != '0'
		case c == '.':
			dot = i
		case c == '-' && i == 0:
		default: // exponent
			return nil, false
		}
	}
	if digits > 15 {
		return nil, false
	}
	if dot >= 0 {
		// Trailing fraction zeros, then a bare dot, are not written.
		for tok[len(tok)-1] == '0' {
			tok = tok[:len(tok)-1]
		}
		if tok[len(tok)-1] == '.' {
			tok = tok[:len(tok)-1]
		}
	}
	if !nonzero {
		return tok, tok[0] != '-' // "0"; "-0" is negative zero
	}
	// Integer part "0": the first significant digit must be within six
	// places of the dot.
	mag := tok
	if mag[0] == '-' {
		mag = mag[1:]
	}
	if mag[0] == '0' && !within6(mag[2:]) {
		return nil, false
	}
	return tok, true
}

// within6 reports whether frac has a nonzero digit among its first six.
func within6(frac []byte) bool {
	for i := 0; i < len(frac) && i < 6; i++ {
		if frac[i] != '0' {
			return true
		}
	}
	return false
}
