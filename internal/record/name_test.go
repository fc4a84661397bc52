package record

import (
	"strings"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
		why  string // part of the error
	}{
		// What the simulator, the example types, tests and configs use.
		{"k-017", true, ""}, {"k-001", true, ""}, {"m-01", true, ""}, {"m-0001", true, ""},
		{"reina-pepiada", true, ""}, {"pabellon", true, ""}, {"Kitchen_7.north", true, ""},
		{strings.Repeat("a", 64), true, ""},
		{"", false, "empty"},
		{strings.Repeat("a", 65), false, "at most 64"},
		{"-m", false, "letter or digit first"},
		{".hidden", false, "letter or digit first"},
		{"a..b", false, `".."`},
		{"m 01", false, "' '"},
		{"m/01", false, "'/'"},
		{"m+", false, "'+'"},
		{"m#", false, "'#'"},
		{"m\x00", false, `'\x00'`},
		{"ma\xffz", false, "not valid UTF-8"},
		{"maíz", false, "U+00ED"},
		{"m\u202e10", false, "U+202E"},          // right-to-left override
		{"m\u00a001", false, "U+00A0"},          // non-breaking space
		{"m\u200b01", false, "U+200B"},          // zero-width space
		{"k\u221501", false, "U+2215"},          // division slash, looks like /
		{"k\uff0b", false, "U+FF0B"},            // fullwidth plus
		{"k\uff03", false, "U+FF03"},            // fullwidth number sign
		{"m-\u0430", false, "U+0430"},           // Cyrillic a
		{"reina\u2011pepiada", false, "U+2011"}, // non-breaking hyphen
	} {
		err := ValidName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidName(%q) = %v, want ok %v", c.name, err, c.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), c.why) {
			t.Errorf("ValidName(%q) = %q, want it to say %q", c.name, err, c.why)
		}
	}
}

// TestDecodeNames: names outside the grammar are rejected with a reason
// instead of being stored altered.
func TestDecodeNames(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cook := func(arepa string) []byte {
		return []byte(`{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1,"arepa":"` + arepa + `","metrics":{"x":1}}`)
	}
	for _, c := range []struct {
		name    string
		payload []byte
		want    Reason
	}{
		{"non-UTF-8 arepa (was stored as U+FFFD)", cook("ma\xedz"), ReasonNotUTF8},
		{"non-UTF-8 note", []byte(`{"v":1,"ts":"2026-11-26T07:31:02Z","seq":1,"kind":"fault","note":"` + "\xff" + `"}`), ReasonNotUTF8},
		{"RTL override arepa", cook("domino\u202e"), ReasonBadName},
		{"escaped RTL override arepa", cook(`domino\u202e`), ReasonBadName},
		{"escaped invalid surrogate arepa", cook(`domino\ud800`), ReasonBadName},
		{"NBSP arepa", cook("reina\u00a0pepiada"), ReasonBadName},
		{"look-alike slash", cook("reina\u2215pepiada"), ReasonBadName},
		{"good", cook("reina-pepiada"), ""},
	} {
		typ := TypeCook
		if strings.Contains(string(c.payload), "kind") {
			typ = TypeEvent
		}
		_, err := Decode("m-01", typ, c.payload, now)
		if got := ReasonOf(err); got != c.want {
			t.Errorf("%s: reason %q (%v), want %q", c.name, got, err, c.want)
		}
	}
	for _, topic := range []string{"budare/k-017/m\u202e1/cook", "budare/k-017/m\u00a01/cook", "budare/k-017/m\uff0b/cook", "budare/k-017/m\u2215x/cook"} {
		if _, _, err := ParseTopic("k-017", topic); ReasonOf(err) != ReasonTopic || !strings.Contains(err.Error(), "U+") {
			t.Errorf("ParseTopic(%q) = %v, want bad_topic naming the character", topic, err)
		}
	}
}
