package record

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
)

// AppendLine appends r's stored and window line, byte for byte what
// json.Marshal(r) produces (FuzzAppendLine checks it), without reflection or
// a sorted copy of the metrics map. The agent's store and the simulator
// write lines with it; FastWindowLine and encoding/json read them.
func AppendLine(b []byte, r *Record) []byte {
	b = append(b, `{"machine":`...)
	b = appendString(b, r.Machine)
	b = append(b, `,"type":`...)
	b = appendString(b, r.Type)
	b = append(b, `,"ts":"`...)
	b = r.TS.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	if r.Arepa != "" {
		b = append(b, `,"arepa":`...)
		b = appendString(b, r.Arepa)
	}
	if len(r.Metrics) > 0 {
		b = append(b, `,"metrics":{`...)
		var keys [16]string
		ks := keys[:0]
		for k := range r.Metrics {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		for i, k := range ks {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendFloat(b, r.Metrics[k])
		}
		b = append(b, '}')
	}
	if r.Kind != "" {
		b = append(b, `,"kind":`...)
		b = appendString(b, r.Kind)
	}
	if r.Code != "" {
		b = append(b, `,"code":`...)
		b = appendString(b, r.Code)
	}
	if r.Note != "" {
		b = append(b, `,"note":`...)
		b = appendString(b, r.Note)
	}
	return append(b, '}')
}

// appendString copies plain ASCII strings directly and leaves anything that
// needs escaping (quotes, control or HTML characters, non-ASCII) to
// encoding/json, so the rules stay exactly its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat formats like encoding/json's float64 encoder.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
