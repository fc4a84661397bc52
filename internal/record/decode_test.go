package record

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeReasons(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const okCook = `{"v":1,"ts":"2026-11-26T07:31:02.120Z","seq":18231,"arepa":"reina-pepiada","metrics":{"plate_temp_c":231.5,"cook_time_s":412}}`
	tests := []struct {
		name, typ, payload string
		want               Reason // "" = accepted
	}{
		{"cook", TypeCook, okCook, ""},
		{"cook with trailing space", TypeCook, okCook + " \n", ""},
		{"event", TypeEvent, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":0,"kind":"fault","code":"X"}`, ""},
		{"not json", TypeCook, `plate=231`, ReasonNotJSON},
		{"empty", TypeCook, ``, ReasonNotJSON},
		{"array", TypeCook, `[1,2]`, ReasonBadType},
		{"trailing object", TypeCook, okCook + `{}`, ReasonNotJSON},
		{"trailing bracket", TypeCook, okCook + `]`, ReasonNotJSON},
		{"v as string", TypeCook, strings.Replace(okCook, `"v":1`, `"v":"1"`, 1), ReasonBadType},
		{"v 2", TypeCook, strings.Replace(okCook, `"v":1`, `"v":2`, 1), ReasonVersion},
		{"no v", TypeCook, strings.Replace(okCook, `"v":1,`, ``, 1), ReasonMissing},
		{"no ts", TypeCook, `{"v":1,"seq":1,"arepa":"a","metrics":{}}`, ReasonMissing},
		{"bad ts", TypeCook, strings.Replace(okCook, `2026-11-26T07:31:02.120Z`, `yesterday`, 1), ReasonBadValue},
		{"ts in 1970", TypeCook, strings.Replace(okCook, `2026-11-26`, `1970-01-01`, 1), ReasonBadValue},
		{"ts two days ahead", TypeCook, strings.Replace(okCook, `2026-11-26`, `2026-11-28`, 1), ReasonFuture},
		{"no seq", TypeCook, strings.Replace(okCook, `"seq":18231,`, ``, 1), ReasonMissing},
		{"null seq", TypeCook, strings.Replace(okCook, `18231`, `null`, 1), ReasonMissing},
		{"seq as string", TypeCook, strings.Replace(okCook, `18231`, `"18231"`, 1), ReasonBadType},
		{"negative seq", TypeCook, strings.Replace(okCook, `18231`, `-1`, 1), ReasonBadValue},
		{"fractional seq", TypeCook, strings.Replace(okCook, `18231`, `1.5`, 1), ReasonBadValue},
		{"no arepa", TypeCook, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1,"metrics":{}}`, ReasonMissing},
		{"no metrics", TypeCook, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1,"arepa":"a"}`, ReasonMissing},
		{"metric as string", TypeCook, strings.Replace(okCook, `231.5`, `"hot"`, 1), ReasonBadType},
		{"metric NaN string", TypeCook, strings.Replace(okCook, `231.5`, `"NaN"`, 1), ReasonNotFinite},
		{"metric overflow", TypeCook, strings.Replace(okCook, `231.5`, `1e999`, 1), ReasonNotFinite},
		{"metric name with slash", TypeCook, strings.Replace(okCook, `plate_temp_c`, `plate/temp`, 1), ReasonBadValue},
		{"unknown event kind", TypeEvent, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1,"kind":"party"}`, ReasonBadValue},
		{"event without kind", TypeEvent, `{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1}`, ReasonMissing},
		{"too large", TypeCook, `{"v":1,"note":"` + strings.Repeat("x", MaxPayload) + `"}`, ReasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode("m-01", tt.typ, []byte(tt.payload), now)
			if got := ReasonOf(err); got != tt.want {
				t.Fatalf("reason %q (err %v), want %q", got, err, tt.want)
			}
			if tt.want == "" && (r.Machine != "m-01" || r.Type != tt.typ) {
				t.Fatalf("accepted record %+v", r)
			}
			if tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), string(tt.want)+": ")) {
				t.Fatalf("error %q does not start with its reason", err)
			}
		})
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic, machine, typ string
		ok                  bool
	}{
		{"budare/k-1/m-03/cook", "m-03", TypeCook, true},
		{"budare/k-1/m-03/event", "m-03", TypeEvent, true},
		{"budare/k-2/m-03/cook", "", "", false},
		{"budare/k-1/m-03/action", "", "", false},
		{"budare/k-1/cook", "", "", false},
		{"budare/k-1//cook", "", "", false},
		{"other/k-1/m-03/cook", "", "", false},
		{"budare/k-10/m-03/cook", "", "", false},
		{"budare/k-1/m-03/cook/x", "", "", false},
		{"budare/k-1/m-03/", "", "", false},
		{"/budare/k-1/m-03/cook", "", "", false},
		{"budare/k-1/m 03/cook", "", "", false},
	}
	for _, tt := range tests {
		m, typ, err := ParseTopic("k-1", tt.topic)
		if (err == nil) != tt.ok || m != tt.machine || typ != tt.typ {
			t.Errorf("ParseTopic(%q) = %q, %q, %v", tt.topic, m, typ, err)
		}
		if err != nil && ReasonOf(err) != ReasonTopic {
			t.Errorf("ParseTopic(%q): reason %q", tt.topic, ReasonOf(err))
		}
	}
}
