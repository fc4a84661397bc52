// Package record defines the cooking records that machines publish on MQTT and
// that travel, one JSON object per line, in the daily windows uploaded to the
// object store. It is the single decoder of outside input for both programs.
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record types, as in the MQTT topic suffix.
const (
	TypeCook  = "cook"
	TypeEvent = "event"
)

// Event kinds. Failures are what the models predict; faults and maintenance
// are inputs.
const (
	KindFailure     = "failure"
	KindFault       = "fault"
	KindMaintenance = "maintenance"
)

// MaxPayload is the largest MQTT payload accepted; larger ones are quarantined.
const MaxPayload = 64 << 10

// MaxFuture is how far ahead of the receiver's clock a timestamp may be.
const MaxFuture = 24 * time.Hour

// Record is one cook cycle or one event of one machine. Marshalled as JSON it
// is one line of a daily window (windows/<kitchen>/<day>.ndjson.gz).
type Record struct {
	Machine string             `json:"machine"`
	Type    string             `json:"type"` // TypeCook or TypeEvent
	TS      time.Time          `json:"ts"`
	Seq     int64              `json:"seq"`
	Arepa   string             `json:"arepa,omitempty"`   // cook only
	Metrics map[string]float64 `json:"metrics,omitempty"` // cook only
	Kind    string             `json:"kind,omitempty"`    // event only
	Code    string             `json:"code,omitempty"`    // event only
	Note    string             `json:"note,omitempty"`    // event only
}

// FailureRule says which events are failures: the label the models learn to
// predict and the backtest scores actions against. Faults are not failures by
// default: in the field most are transient and unrelated to breakdowns, so a
// label that counts them teaches the model noise.
type FailureRule struct {
	// Kinds are the event kinds that count (default: failure).
	Kinds []string `toml:"kinds" json:"kinds"`
	// Codes, when not empty, restrict them to these event codes.
	Codes []string `toml:"codes" json:"codes,omitempty"`
}

// DefaultFailureRule counts every event of kind failure.
func DefaultFailureRule() FailureRule { return FailureRule{Kinds: []string{KindFailure}} }

// OrDefault returns f, or the default rule when f names no kind.
func (f FailureRule) OrDefault() FailureRule {
	if len(f.Kinds) == 0 {
		d := DefaultFailureRule()
		d.Codes = f.Codes
		return d
	}
	return f
}

// Match reports whether r is a failure under the rule (an empty rule is the
// default one).
func (f FailureRule) Match(r *Record) bool {
	if r.Type != TypeEvent {
		return false
	}
	f = f.OrDefault()
	ok := false
	for _, k := range f.Kinds {
		ok = ok || r.Kind == k
	}
	if !ok || len(f.Codes) == 0 {
		return ok
	}
	for _, c := range f.Codes {
		if r.Code == c {
			return true
		}
	}
	return false
}

// IsFailure reports whether r is a failure under the default rule.
func (r *Record) IsFailure() bool { return DefaultFailureRule().Match(r) }

// Reason is why a payload was rejected. It is a short, stable label fit for a
// Prometheus label value and for a person reading the quarantine.
type Reason string

// Rejection reasons.
const (
	ReasonTopic     Reason = "bad_topic"
	ReasonTooLarge  Reason = "too_large"
	ReasonNotJSON   Reason = "not_json"
	ReasonBadType   Reason = "wrong_type"
	ReasonVersion   Reason = "unknown_version"
	ReasonMissing   Reason = "missing_field"
	ReasonNotFinite Reason = "not_finite"
	ReasonFuture    Reason = "future_timestamp"
	ReasonBadValue  Reason = "bad_value"
	// ReasonBadName: an arepa type outside ValidName's grammar (a bad
	// machine name makes the topic bad: ReasonTopic).
	ReasonBadName Reason = "bad_name"
	// ReasonNotUTF8: the payload is not valid UTF-8, which JSON requires;
	// decoding it would replace bytes with U+FFFD and store altered text.
	ReasonNotUTF8 Reason = "not_utf8"
)

// Reasons lists every rejection reason, so counters can be pre-registered.
var Reasons = []Reason{ReasonTopic, ReasonTooLarge, ReasonNotJSON, ReasonBadType,
	ReasonVersion, ReasonMissing, ReasonNotFinite, ReasonFuture, ReasonBadValue, ReasonBadName, ReasonNotUTF8}

// Error is a rejected payload: the reason plus a one-line detail.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return string(e.Reason) + ": " + e.Detail }

func reject(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the rejection reason of err, or "" if err is not a *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// ParseTopic splits budare/<kitchen>/<machine>/<cook|event>. It returns the
// machine and record type, or an error when the topic is not one of the
// kitchen's input topics.
func ParseTopic(kitchen, topic string) (machine, typ string, err error) {
	// Cut, not Split: this runs for every message and Split allocates.
	rest, ok := strings.CutPrefix(topic, "budare/")
	if ok {
		rest, ok = strings.CutPrefix(rest, kitchen)
	}
	if ok {
		rest, ok = strings.CutPrefix(rest, "/")
	}
	machine, typ, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || strings.Contains(typ, "/") || strings.Contains(kitchen, "/") {
		return "", "", reject(ReasonTopic, "topic %q is not budare/%s/<machine>/<cook|event>", topic, kitchen)
	}
	if err := ValidName(machine); err != nil {
		return "", "", reject(ReasonTopic, "topic %q: machine %v", topic, err)
	}
	switch typ {
	case TypeCook, TypeEvent:
		return machine, typ, nil
	}
	return "", "", reject(ReasonTopic, "topic %q: unknown suffix %q", topic, typ)
}

// NameMaxLen is the longest kitchen, machine or arepa type name.
const NameMaxLen = 64

// ValidName checks a kitchen, machine or arepa type name against the one
// grammar both programs share (README "MQTT contract", docs/contracts.md):
//
//	^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, and never ".."
//
// Names become MQTT topic levels, object-key segments, URL paths and text
// on a display, so only plain ASCII is accepted: no look-alikes of / + #
// (U+2215, U+FF0B, U+FF03…), no right-to-left overrides, no non-breaking or
// zero-width spaces, nothing an encoder would alter. The error says why, in
// one line a person understands.
func ValidName(s string) error {
	if s == "" {
		return errors.New("name is empty")
	}
	if len(s) > NameMaxLen {
		return fmt.Errorf("name %.20q… is %d bytes, at most %d", s, len(s), NameMaxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		case c < utf8.RuneSelf:
			return fmt.Errorf("name %q: character %q at byte %d is not allowed (letters, digits, '.', '_', '-'; a letter or digit first)", s, c, i)
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError {
				return fmt.Errorf("name %q is not valid UTF-8 (byte %d)", s, i)
			}
			return fmt.Errorf("name %q: %U at byte %d is not allowed: names are ASCII letters, digits, '.', '_', '-'", s, r, i)
		}
	}
	if strings.Contains(s, "..") {
		return fmt.Errorf("name %q contains \"..\"", s)
	}
	return nil
}

// KitchenPlaceholder is the kitchen in the shipped agent config: an
// unedited gateway must not start, or every such gateway would write into
// one kitchen's windows.
const KitchenPlaceholder = "CHANGE-ME"

// CheckKitchen says why name cannot be a kitchen's id (the agent's config,
// central's inventory), or returns nil: ValidName, and not the placeholder.
func CheckKitchen(name string) error {
	switch {
	case name == "":
		return errors.New("kitchen is empty (want the kitchen id, e.g. k-017)")
	case strings.EqualFold(name, KitchenPlaceholder):
		return fmt.Errorf("kitchen is still the placeholder %q: set it to this kitchen's id, as listed in central's inventory/kitchens.csv (e.g. k-017)", name)
	}
	if err := ValidName(name); err != nil {
		return fmt.Errorf("kitchen: %w", err)
	}
	return nil
}

// validMetric is the rule for metric names, which are open-ended: 1-128
// bytes of UTF-8 without control characters, spaces, / + # " or \.
func validMetric(s string) error {
	if s == "" || len(s) > 128 {
		return fmt.Errorf("name must be 1-128 bytes")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("name %q is not valid UTF-8", s)
	}
	for _, c := range s {
		if c < 0x21 || c == 0x7f || c == '/' || c == '+' || c == '#' || c == '"' || c == '\\' {
			return fmt.Errorf("name %q has a forbidden character", s)
		}
	}
	return nil
}

// wire is the MQTT payload, v1. Pointers tell missing from zero.
type wire struct {
	V       *int            `json:"v"`
	TS      *string         `json:"ts"`
	Seq     json.RawMessage `json:"seq"`
	Arepa   *string         `json:"arepa"`
	Metrics map[string]any  `json:"metrics"`
	Kind    *string         `json:"kind"`
	Code    *string         `json:"code"`
	Note    *string         `json:"note"`
}

// Decode parses and validates a v1 MQTT payload of the given machine and type
// ("cook" or "event"), received at now. Every rejection is an *Error.
func Decode(machine, typ string, payload []byte, now time.Time) (Record, error) {
	if len(payload) > MaxPayload {
		return Record{}, reject(ReasonTooLarge, "payload is %d bytes, limit %d", len(payload), MaxPayload)
	}
	if !utf8.Valid(payload) {
		return Record{}, reject(ReasonNotUTF8, "payload is not valid UTF-8 (byte %d)", invalidAt(payload))
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Record{}, reject(ReasonBadType, "field %q: expected %s, got %s", te.Field, te.Type, te.Value)
		}
		return Record{}, reject(ReasonNotJSON, "%v", err)
	}
	if rest := bytes.TrimSpace(payload[dec.InputOffset():]); len(rest) > 0 {
		return Record{}, reject(ReasonNotJSON, "trailing data after the JSON object")
	}
	if w.V == nil {
		return Record{}, reject(ReasonMissing, "field \"v\" is missing")
	}
	if *w.V != 1 {
		return Record{}, reject(ReasonVersion, "v=%d, this agent understands v=1", *w.V)
	}
	if w.TS == nil {
		return Record{}, reject(ReasonMissing, "field \"ts\" is missing")
	}
	ts, err := time.Parse(time.RFC3339Nano, *w.TS)
	if err != nil {
		return Record{}, reject(ReasonBadValue, "ts %q is not RFC 3339", *w.TS)
	}
	ts = ts.UTC()
	if ts.After(now.Add(MaxFuture)) {
		return Record{}, reject(ReasonFuture, "ts %s is more than %s ahead of %s", ts.Format(time.RFC3339), MaxFuture, now.UTC().Format(time.RFC3339))
	}
	if ts.Year() < 2000 {
		return Record{}, reject(ReasonBadValue, "ts %s is before 2000", ts.Format(time.RFC3339))
	}
	seq, err := parseSeq(w.Seq)
	if err != nil {
		return Record{}, err
	}
	r := Record{Machine: machine, Type: typ, TS: ts, Seq: seq}
	switch typ {
	case TypeCook:
		if w.Arepa == nil || *w.Arepa == "" {
			return Record{}, reject(ReasonMissing, "field \"arepa\" is missing")
		}
		if err := ValidName(*w.Arepa); err != nil {
			return Record{}, reject(ReasonBadName, "arepa: %v", err)
		}
		if w.Metrics == nil {
			return Record{}, reject(ReasonMissing, "field \"metrics\" is missing")
		}
		r.Arepa = *w.Arepa
		r.Metrics = make(map[string]float64, len(w.Metrics))
		for k, v := range w.Metrics {
			if err := validMetric(k); err != nil {
				return Record{}, reject(ReasonBadValue, "metric name: %v", err)
			}
			f, err := number(v)
			if err != nil {
				return Record{}, reject(ReasonBadType, "metric %q: %v", k, err)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return Record{}, reject(ReasonNotFinite, "metric %q is not finite", k)
			}
			r.Metrics[k] = f
		}
	case TypeEvent:
		if w.Kind == nil {
			return Record{}, reject(ReasonMissing, "field \"kind\" is missing")
		}
		switch *w.Kind {
		case KindFailure, KindFault, KindMaintenance:
		default:
			return Record{}, reject(ReasonBadValue, "kind %q is not failure, fault or maintenance", *w.Kind)
		}
		r.Kind = *w.Kind
		if w.Code != nil {
			r.Code = *w.Code
		}
		if w.Note != nil {
			r.Note = *w.Note
		}
	default:
		return Record{}, reject(ReasonTopic, "unknown record type %q", typ)
	}
	return r, nil
}

// invalidAt returns the offset of the first byte of b that is not valid
// UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// parseSeq reads seq from its raw JSON: a non-negative integer. A quoted
// number, which json.Number would take, is a buggy machine: a wrong type.
func parseSeq(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, reject(ReasonMissing, "field \"seq\" is missing")
	}
	switch raw[0] {
	case '"', '{', '[', 't', 'f':
		return 0, reject(ReasonBadType, "field \"seq\": expected a number, got %.20s", raw)
	}
	seq, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || seq < 0 {
		return 0, reject(ReasonBadValue, "seq %.24s is not a non-negative integer", raw)
	}
	return seq, nil
}

// number accepts a JSON number, and the strings "NaN"/"Inf" some firmwares
// send, so they are reported as not finite rather than as a type error.
func number(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			// Out of float64 range parses as ±Inf with an error.
			if math.IsInf(f, 0) {
				return f, nil
			}
			return 0, fmt.Errorf("%q is not a number", x.String())
		}
		return f, nil
	case string:
		switch strings.ToLower(x) {
		case "nan", "inf", "+inf", "-inf", "infinity", "-infinity":
			return math.NaN(), nil
		}
		return 0, fmt.Errorf("got string %q, want a number", x)
	default:
		return 0, fmt.Errorf("got %T, want a number", v)
	}
}

// WallTime returns the instant the clocks of loc show y-m-d h:mi. A wall time
// that does not exist (a spring-forward gap) is moved forward by the gap:
// 02:30 in Madrid's 02:00→03:00 gap is 03:30, 00:30 in Havana's midnight gap
// is 01:30. (time.Date leaves the choice open, and for zones west of UTC
// moves it back, onto the day before.) An ambiguous wall time (fall back) is
// time.Date's choice. Out-of-range days and months normalise as in time.Date.
func WallTime(y int, mo time.Month, d, h, mi int, loc *time.Location) time.Time {
	n := time.Date(y, mo, d, 12, 0, 0, 0, time.UTC) // the calendar date, normalised
	y, mo, d = n.Date()
	t := time.Date(y, mo, d, h, mi, 0, 0, loc)
	lt := t.In(loc)
	if ly, lmo, ld := lt.Date(); ly == y && lmo == mo && ld == d && lt.Hour() == h && lt.Minute() == mi {
		return t
	}
	// In a gap: read the wall time with the offset in force before it.
	_, before := t.Add(-12 * time.Hour).Zone()
	return time.Date(y, mo, d, h, mi, 0, 0, time.UTC).Add(-time.Duration(before) * time.Second).In(loc)
}

// DayStart returns the first instant of local day (yyyy-mm-dd) + offset
// days in loc; on a day whose midnight falls in a DST gap, the end of the gap.
func DayStart(day string, offset int, loc *time.Location) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want yyyy-mm-dd", day)
	}
	return WallTime(d.Year(), d.Month(), d.Day()+offset, 0, 0, loc), nil
}

// AddDays returns local day (yyyy-mm-dd) shifted by n calendar days.
func AddDays(day string, n int) (string, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "", fmt.Errorf("day %q: want yyyy-mm-dd", day)
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly), nil
}

// LocalDay returns the calendar day of t in loc as yyyy-mm-dd.
func LocalDay(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.DateOnly)
}

// Payload encodes r as the v1 MQTT payload a machine would publish on
// Topic(kitchen, r); Decode is its inverse. Simulators and tests use it.
func Payload(r Record) ([]byte, error) {
	type cook struct {
		V       int                `json:"v"`
		TS      string             `json:"ts"`
		Seq     int64              `json:"seq"`
		Arepa   string             `json:"arepa"`
		Metrics map[string]float64 `json:"metrics"`
	}
	type event struct {
		V    int    `json:"v"`
		TS   string `json:"ts"`
		Seq  int64  `json:"seq"`
		Kind string `json:"kind"`
		Code string `json:"code,omitempty"`
		Note string `json:"note,omitempty"`
	}
	ts := r.TS.UTC().Format(time.RFC3339Nano)
	switch r.Type {
	case TypeCook:
		return json.Marshal(cook{1, ts, r.Seq, r.Arepa, r.Metrics})
	case TypeEvent:
		return json.Marshal(event{1, ts, r.Seq, r.Kind, r.Code, r.Note})
	}
	return nil, fmt.Errorf("record type %q has no MQTT payload", r.Type)
}

// Topic is the MQTT topic r is published on in kitchen.
func Topic(kitchen string, r Record) string {
	return "budare/" + kitchen + "/" + r.Machine + "/" + r.Type
}

// The MQTT topics of the contract (docs/contracts.md), spelled here only.

// InputFilters are the subscriptions that receive every machine's cook and
// event records of kitchen, with the QoS the agent asks for.
func InputFilters(kitchen string) map[string]byte {
	return map[string]byte{
		"budare/" + kitchen + "/+/" + TypeCook:  1,
		"budare/" + kitchen + "/+/" + TypeEvent: 1,
	}
}

// ActionTopic is where a machine's morning action is retained.
func ActionTopic(kitchen, machine string) string {
	return "budare/" + kitchen + "/" + machine + "/action"
}

// ActionFilter matches every machine's action topic of kitchen.
func ActionFilter(kitchen string) string { return ActionTopic(kitchen, "+") }

// SummaryTopic is where the kitchen's day summary is retained.
func SummaryTopic(kitchen string) string { return "budare/" + kitchen + "/actions" }

// StatusTopic is the agent's retained status and last will.
func StatusTopic(kitchen string) string { return "budare/" + kitchen + "/agent/status" }
