package dashboard

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/window"
)

func TestParseActions(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		machines string // comma-joined, in returned order
		levels   string
		err      string
	}{
		{name: "array", in: `[{"machine":"a","level":"none","risk":0.1},{"machine":"b","level":"stop","risk":0.9}]`,
			machines: "b,a", levels: "stop,none"},
		{name: "object", in: `{"date":"2026-11-26","kitchen":"k","actions":[{"machine":"a","level":"inspect"}]}`,
			machines: "a", levels: "inspect"},
		{name: "level kept as the agent wrote it", in: `{"actions":[{"machine":"a","level":"INSPECT "},{"machine":"b","level":"stop"}]}`,
			machines: "b,a", levels: "stop,INSPECT "},
		{name: "BOM", in: "\ufeff[{\"machine\":\"a\",\"level\":\"none\"}]", machines: "a", levels: "none"},
		{name: "empty list", in: `[]`},
		{name: "ties by risk then name", in: `[{"machine":"c","level":"service","risk":0.5},{"machine":"b","level":"service","risk":0.7},{"machine":"a","level":"service","risk":0.5}]`,
			machines: "b,a,c", levels: "service,service,service"},
		{name: "unknown before none", in: `[{"machine":"a","level":"none","risk":0.3},{"machine":"b","level":"unknown","risk":null}]`,
			machines: "b,a", levels: "unknown,none"},
		{name: "missing level kept missing", in: `[{"machine":"a"},{"machine":"b","level":"none"}]`, machines: "a,b", levels: ",none"},
		{name: "level outside the contract kept", in: `[{"machine":"a","level":"explode"},{"machine":"b","level":"none"}]`,
			machines: "a,b", levels: "explode,none"},
		{name: "object without actions", in: `{"date":"2026-11-26"}`, err: "no \"actions\" array"},
		{name: "actions not a list", in: `{"actions":{"machine":"a"}}`, err: "cannot unmarshal object"},
		{name: "not json", in: `hello`, err: "neither a JSON array nor an object"},
		{name: "empty", in: "  \n", err: "empty"},
		{name: "truncated", in: `[{"machine":"a"`, err: "actions file:"},
		{name: "no machine", in: `[{"level":"stop"}]`, err: "action 0 has no machine"},
		{name: "wrong type", in: `[{"machine":"a","risk":"high"}]`, err: "actions file:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseActions([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ms, ls []string
			for _, a := range got {
				ms = append(ms, a.Machine)
				ls = append(ls, a.Level)
			}
			if strings.Join(ms, ",") != tc.machines || strings.Join(ls, ",") != tc.levels {
				t.Errorf("got %v %v, want %s %s", ms, ls, tc.machines, tc.levels)
			}
		})
	}
	got, err := ParseActions([]byte(`{"date":"2026-11-26","kitchen":"k-9","actions":[{"machine":"a"},{"machine":"b","date":"2026-11-25"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Date != "2026-11-26" || got[0].Kitchen != "k-9" || got[1].Date != "2026-11-25" {
		t.Errorf("object date/kitchen not filled in: %+v", got)
	}
}

func TestCountLevels(t *testing.T) {
	c := countLevels([]Action{{Level: "stop"}, {Level: "stop"}, {Level: "explode"}, {Level: "none"}})
	want := map[string]int{"stop": 2, "service": 0, "inspect": 0, "unknown": 1, "none": 1}
	if len(c) != len(want) {
		t.Fatalf("counts %v", c)
	}
	for l, n := range want {
		if c[l] != n {
			t.Errorf("%s: %d, want %d", l, c[l], n)
		}
	}
}

// TestParseInventoryGolden reads the inventory golden file of
// internal/inventory, the one the trainer's tests read too.
func TestParseInventoryGolden(t *testing.T) {
	got, err := parseInventory(golden.Read(t, golden.Contract(t, "inventory", "kitchens.csv")))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, k := range got {
		parts = append(parts, k.Kitchen+"/"+k.Phase+"/"+k.Timezone)
	}
	if s, want := strings.Join(parts, " "), "k-001/1/America/Caracas k-002/1/Europe/Madrid k-003/2/UTC"; s != want {
		t.Errorf("got %q, want %q", s, want)
	}
	// The trainer's grammar: a file without the header is refused, not guessed.
	if _, err := parseInventory([]byte("k-1,1,UTC\n")); err == nil {
		t.Error("accepted an inventory without its header")
	}
}

func TestParseCard(t *testing.T) {
	tests := []struct {
		name, in string
		cands    string // technique/role/chosen/f1 per candidate
		facts    int
		err      bool
	}{
		{name: "array with holdout", in: `{"rows":10,"candidates":[{"technique":"logistic","role":"champion","holdout":{"f1":0.5}},{"name":"gaussian","winner":true,"metrics":{"f1":0.75}}]}`,
			cands: "logistic/champion/false/0.5 gaussian/challenger/true/0.75", facts: 1},
		{name: "map keyed by technique, flat metrics", in: `{"candidates":{"b":{"f1":0.25,"selected":true},"a":{"f1":null}}}`,
			cands: "a/challenger/false/- b/challenger/true/0.25"},
		{name: "no candidates", in: `{"span":{"from":"x","to":"y"},"kitchens":["k1","k2"],"nested":[{"a":1}]}`, facts: 3},
		{name: "trainer's card", in: `{"v":1,"release":12,"decision":"first model","chosen":"gaussian","metric":"pr_auc",
			"slices":{"holdout":{"from":"a","rows":3,"positive_share":0.0129870129}},
			"candidates":[{"technique":"logistic","holdout":{"f1":0.5}},{"technique":"gaussian","holdout":{"f1":0.75}},{"technique":"boosted","error":"failed"}],
			"champion":{"release":11,"technique":"logistic","holdout":{"f1":0.25}}}`,
			cands: "logistic/challenger/false/0.5 gaussian/challenger/true/0.75 boosted/challenger/false/- logistic/current (release 11)/false/0.25", facts: 4},
		{name: "array", in: `[1]`, err: true},
		{name: "null", in: `null`, err: true},
		{name: "garbage", in: `{`, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCard([]byte(tc.in))
			if tc.err {
				if err == nil {
					t.Fatalf("no error for %s", tc.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, k := range c.Candidates {
				f1 := "-"
				if k.Metrics["f1"] != nil {
					f1 = strings.TrimRight(strings.TrimRight(jsonNum(*k.Metrics["f1"]), "0"), ".")
				}
				parts = append(parts, k.Technique+"/"+k.Role+"/"+boolStr(k.Chosen)+"/"+f1)
			}
			if s := strings.Join(parts, " "); s != tc.cands {
				t.Errorf("candidates %q, want %q", s, tc.cands)
			}
			if len(c.Facts) != tc.facts {
				t.Errorf("facts %+v, want %d", c.Facts, tc.facts)
			}
			if tc.name == "trainer's card" {
				if c.Release != 12 || c.Decision != "first model" || !c.Candidates[3].Champion || c.Candidates[2].Error != "failed" {
					t.Errorf("card %+v", c)
				}
				// Decision-related facts come first; fractions are shortened.
				if c.Facts[0].Name != "chosen" || c.Facts[2] != (Fact{"slices.holdout", "from a, positive_share 0.013, rows 3"}) {
					t.Errorf("facts %+v", c.Facts)
				}
				c.markPublished(true)
				if !c.Candidates[1].Published || c.Candidates[3].Published {
					t.Errorf("new model: published %+v", c.Candidates)
				}
				c.markPublished(false)
				if c.Candidates[1].Published || !c.Candidates[3].Published {
					t.Errorf("kept model: published %+v", c.Candidates)
				}
			}
		})
	}
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestOneLine(t *testing.T) {
	s := oneLine("a\nb\t c  " + strings.Repeat("x", 1000))
	if strings.ContainsAny(s, "\n\t") || !strings.HasPrefix(s, "a b c x") || len(s) > 410 {
		t.Errorf("oneLine gave %q", s)
	}
}

// The decoders read what other programs (and people) put in the bucket: no
// input may panic them, and what they accept must be safe to serve.
func FuzzParseActions(f *testing.F) {
	f.Add([]byte(`[{"machine":"m-1","level":"stop","risk":0.9,"reasons":["x"]}]`))
	f.Add([]byte(`{"date":"2026-11-26","actions":[{"machine":"m-1","level":"none"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		acts, err := ParseActions(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		for i, a := range acts {
			if a.Machine == "" {
				t.Errorf("accepted action without machine: %+v", a)
			}
			if i > 0 && action.Urgency(acts[i-1].Level) < action.Urgency(a.Level) {
				t.Errorf("not sorted worst first: %v before %v", acts[i-1].Level, a.Level)
			}
		}
		if _, err := json.Marshal(acts); err != nil {
			t.Errorf("accepted actions do not encode: %v", err)
		}
	})
}

func FuzzParseCard(f *testing.F) {
	f.Add([]byte(`{"rows":1,"candidates":[{"technique":"logistic","holdout":{"roc_auc":0.9}}]}`))
	f.Add([]byte(`{"candidates":{"a":{"f1":1e308}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCard(b)
		if err != nil {
			return
		}
		if len(c.Facts) > maxFacts {
			t.Errorf("%d facts", len(c.Facts))
		}
		for _, fct := range c.Facts {
			if utf8.RuneCountInString(fct.Value) > 2000 {
				t.Errorf("fact %s too long", fct.Name)
			}
		}
		if _, err := json.Marshal(c); err != nil {
			t.Errorf("accepted card does not encode: %v", err)
		}
	})
}

// FuzzParseMachineDay feeds windows (gzip NDJSON from the bucket) to the
// machine page's reader: never a panic, and only the machine's records.
func FuzzParseMachineDay(f *testing.F) {
	enc, err := window.NewEncoder(1)
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range []string{
		`{"machine":"m-01","type":"cook","ts":"2026-11-25T08:00:00Z","seq":1,"arepa":"domino","metrics":{"vibration_mm_s":2.5}}`,
		`{"machine":"m-02","type":"cook","ts":"2026-11-25T08:00:00Z","seq":1,"metrics":{"vibration_mm_s":9}}`,
		`{"machine":"m-01","type":"event","ts":"2026-11-25T09:00:00Z","seq":2,"kind":"fault","code":"HEATER_OPEN"}`,
		`not json "machine":"m-01"`,
	} {
		if err := enc.Line([]byte(l)); err != nil {
			f.Fatal(err)
		}
	}
	w, err := enc.Finish()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(w.Data)
	parse := parseMachineDay("m-01")
	d, err := parse(w.Data)
	if err != nil || d.Means["vibration_mm_s"] != 2.5 || len(d.Events) != 1 {
		f.Fatalf("seed window: %+v %v", d, err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parse(b)
		if err != nil {
			return
		}
		for _, e := range d.Events {
			if e.Machine != "m-01" {
				t.Fatalf("event of machine %q", e.Machine)
			}
		}
	})
}

// FuzzDaySummary checks the overview's light decoder against ParseActions:
// the same files are accepted, with the same counts.
func FuzzDaySummary(f *testing.F) {
	for _, s := range []string{
		`[{"machine":"a","level":"none","risk":0.1},{"machine":"b","level":"STOP ","model_release":3}]`,
		`{"date":"2026-11-26","actions":[{"machine":"a","level":"explode"},{"machine":"b"}]}`,
		`{"date":"2026-11-26"}`, `[{"level":"stop"}]`, `hello`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		acts, err := ParseActions(b)
		d, derr := parseDaySummary(b)
		if err != nil {
			// The light decoder skips fields ParseActions types strictly
			// (risk, decided_at…), so it may accept more.
			return
		}
		if derr != nil {
			t.Fatalf("ParseActions accepts %q, summary says %v", b, derr)
		}
		want := countLevels(acts)
		for l, n := range want {
			if d.Counts[l] != n {
				t.Fatalf("%q: %s = %d, ParseActions %d", b, l, d.Counts[l], n)
			}
		}
		if d.Machines != len(acts) {
			t.Fatalf("%q: %d machines, ParseActions %d", b, d.Machines, len(acts))
		}
	})
}

// TestActionsGolden reads internal/action's golden day file, the one the
// agent writes: every action as the agent decided it, worst first, and the
// overview's light decoder counts the same levels.
func TestActionsGolden(t *testing.T) {
	b := golden.Read(t, golden.Contract(t, "action", "day.json"))
	acts, err := ParseActions(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range acts {
		got = append(got, fmt.Sprintf("%s/%s/%g", a.Machine, a.Level, a.Risk))
	}
	if s, want := strings.Join(got, " "), "m-01/service/0.62 m-03/unknown/0 m-02/none/0.04"; s != want {
		t.Errorf("ParseActions(golden) = %s, want %s", s, want)
	}
	d, err := parseDaySummary(b)
	if err != nil {
		t.Fatal(err)
	}
	day, err := action.DecodeDay(b)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(d.Counts, day.Counts) || d.Release != day.ModelRelease || d.Machines != len(day.Actions) {
		t.Errorf("day summary %+v, golden counts %v release %d", d, day.Counts, day.ModelRelease)
	}
}
