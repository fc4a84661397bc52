package cmapss

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const twoRows = "1 1 -0.0007 -0.0004 100.0 518.67 641.82 1589.70 1400.60 14.62 21.61 554.36 2388.06 9046.19 1.30 47.47 521.66 2388.02 8138.62 8.4195 0.03 392 2388 100.00 39.06 23.4190  \n" +
	"1 2 0.0019 -0.0003 100.0 518.67 642.15 1591.82 1403.14 14.62 21.61 553.75 2388.04 9044.07 1.30 47.49 522.28 2388.07 8131.49 8.4318 0.03 392 2388 100.00 39.00 23.4236\n"

func TestParse(t *testing.T) {
	rows, err := Parse(strings.NewReader(twoRows + "\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].Cycle != 2 || rows[0].Settings[2] != 100 || rows[1].Sensors[20] != 23.4236 {
		t.Fatalf("parsed %+v", rows)
	}
	bad := map[string]string{
		"too few columns":  "1 1 2 3\n",
		"too many columns": strings.TrimSpace(strings.Split(twoRows, "\n")[0]) + " 7\n",
		"not a number":     strings.Replace(twoRows, "518.67", "abc", 1),
		"NaN":              strings.Replace(twoRows, "518.67", "NaN", 1),
		"fractional unit":  strings.Replace(twoRows, "1 1 ", "1.5 1 ", 1),
		"cycle zero":       strings.Replace(twoRows, "1 1 ", "1 0 ", 1),
		"huge line":        strings.Repeat("1 ", 5000) + "\n",
	}
	for name, in := range bad {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "cmapss") {
			t.Errorf("%s: error %q does not say where", name, err)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for _, in := range []string{"0", "-0.0007", "518.67", "2388.06", "23.4190", "1e3", "-1.5E-2", "123456789012345", "1234567890123456789", "0.1", ".5", "5.", "+7"} {
		want, err := strconv.ParseFloat(in, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseNumber([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-", ".", "1.2.3", "abc", "NaN", "Inf", "1e999", "--1"} {
		if v, err := parseNumber([]byte(in)); err == nil {
			t.Errorf("parseNumber(%q) = %v, want an error", in, v)
		}
	}
}

func TestGroup(t *testing.T) {
	rows, _ := Parse(strings.NewReader(twoRows))
	units, err := Group(rows)
	if err != nil || len(units) != 1 || len(units[0].Rows) != 2 {
		t.Fatalf("Group = %+v, %v", units, err)
	}
	if _, err := Group([]Row{{Unit: 1, Cycle: 1}, {Unit: 1, Cycle: 3}}); err == nil {
		t.Error("a cycle gap was accepted")
	}
}

func TestParseRUL(t *testing.T) {
	got, err := ParseRUL(strings.NewReader("112 \n98\n\n69\n"))
	if err != nil || len(got) != 3 || got[2] != 69 {
		t.Fatalf("ParseRUL = %v, %v", got, err)
	}
	if _, err := ParseRUL(strings.NewReader("-1\n")); err == nil {
		t.Error("negative RUL accepted")
	}
}

func TestLoadPlainAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train_X.txt", twoRows)
	write("test_X.txt", twoRows)
	write("RUL_X.txt", "5\n")
	s, err := Load(dir, "X")
	if err != nil {
		t.Fatal(err)
	}
	if s.Test[0].RUL != 5 || len(s.Train[0].Rows) != 2 {
		t.Errorf("loaded %+v", s)
	}
	write("RUL_X.txt", "5\n6\n")
	if _, err := Load(dir, "X"); err == nil {
		t.Error("RUL count mismatch accepted")
	}
	if _, err := Load(dir, "missing"); err == nil {
		t.Error("missing subset accepted")
	}
	if _, err := Load(dir, "../X"); err == nil {
		t.Error("path in subset name accepted")
	}
}

func TestRegimes(t *testing.T) {
	for _, tc := range []struct {
		subset string
		want   int
	}{{"FD001", 1}, {"FD002", 6}} {
		s, err := Load("testdata", tc.subset)
		if err != nil {
			t.Fatal(err)
		}
		var rows []Row
		for _, u := range s.Train {
			rows = append(rows, u.Rows...)
		}
		g := FitRegimes(rows, 8, 0.999)
		if g.K() != tc.want {
			t.Errorf("%s: %d regimes, want %d", tc.subset, g.K(), tc.want)
		}
		nz, err := FitNormalizer(rows, g)
		if err != nil {
			t.Fatal(err)
		}
		// Sensor 1 (fan inlet temperature) is fixed by the operating
		// condition: constant within each regime, so it must be dropped.
		for _, name := range nz.Names() {
			if name == "sensor_01" {
				t.Errorf("%s: constant sensor_01 kept", tc.subset)
			}
		}
	}
}

// FuzzParseCMAPSS: the files come from outside; no input may panic, and
// every parsed row has integer unit and cycle >= 1.
func FuzzParseCMAPSS(f *testing.F) {
	f.Add([]byte(twoRows))
	f.Add([]byte("1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"))
	f.Add([]byte("1e3 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 Inf\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fast number parser agrees with strconv on every token.
		for _, tok := range strings.Fields(string(data)) {
			want, werr := strconv.ParseFloat(tok, 64)
			got, gerr := parseNumber([]byte(tok))
			finite := werr == nil && !math.IsNaN(want) && !math.IsInf(want, 0)
			if finite != (gerr == nil) || (finite && got != want) {
				t.Fatalf("parseNumber(%q) = %v, %v; strconv %v, %v", tok, got, gerr, want, werr)
			}
		}
		rows, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Unit < 1 || r.Cycle < 1 {
				t.Fatalf("row %+v", r)
			}
		}
		Group(rows)
		ParseRUL(strings.NewReader(string(data)))
	})
}
