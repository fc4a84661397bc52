package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseTypes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"simple", "reina-pepiada\ndomino\n", []string{"reina-pepiada", "domino"}, ""},
		{"comments blanks and spaces", "# menu\n\n  reina-pepiada  \n\tdomino # the classic\n   \n#pelua\n", []string{"reina-pepiada", "domino"}, ""},
		{"no trailing newline", "a\nb", []string{"a", "b"}, ""},
		{"CRLF", "a\r\nb\r\n", []string{"a", "b"}, ""},
		{"keeps file order", "zeta\nalpha\n", []string{"zeta", "alpha"}, ""},
		{"empty file", "", nil, "no arepa types"},
		{"only comments", "# nothing yet\n\n   # still nothing\n", nil, "no arepa types"},
		{"duplicate", "a\nb\n a \n", nil, "line 3: type \"a\" repeats line 1"},
		{"space inside", "reina pepiada\n", nil, "line 1"},
		{"slash", "a/b\n", nil, "not allowed"},
		{"dotdot", "..\n", nil, "bad arepa type"},
		{"mqtt wildcard", "a+\n", nil, "not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTypes([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTypes error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ParseTypes = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoadTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "types.txt")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		config  []string
		want    []string
		wantErr string
	}{
		{"file wins over config", file, []string{"from-config"}, []string{"from-file"}, ""},
		{"config when no file", "", []string{"x", "y"}, []string{"x", "y"}, ""},
		{"missing file is an error", filepath.Join(dir, "nope.txt"), []string{"x"}, nil, "no such file"},
		{"neither", "", nil, nil, "no arepa types"},
		{"duplicate in config", "", []string{"x", "x"}, nil, "repeats"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadTypes(tc.path, tc.config)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadTypes error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("LoadTypes = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestShard(t *testing.T) {
	for _, bad := range []string{"", "1", "2/2", "-1/2", "0/0", "a/b", "1/2/3", " 0/2", "01/2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	types := []string{"g", "a", "f", "b", "e", "c", "d"}
	for n := 1; n <= 8; n++ {
		var union []string
		for i := range n {
			s, err := ParseShard(Shard{i, n}.String())
			if err != nil {
				t.Fatal(err)
			}
			part := s.Pick(types)
			// Shuffled input must give the same part: the split depends
			// only on the set of types.
			rev := slices.Clone(types)
			slices.Reverse(rev)
			if !slices.Equal(part, s.Pick(rev)) {
				t.Fatalf("shard %v depends on input order", s)
			}
			union = append(union, part...)
		}
		slices.Sort(union)
		want := slices.Sorted(slices.Values(types))
		if !slices.Equal(union, want) {
			t.Fatalf("%d shards cover %q, want every type exactly once %q", n, union, want)
		}
	}
}

func FuzzParseTypes(f *testing.F) {
	f.Add([]byte("reina-pepiada\n# c\n domino \n"))
	f.Add([]byte("a\na\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ParseTypes(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, x := range ts {
			if ValidType(x) != nil || seen[x] || strings.TrimSpace(x) != x {
				t.Fatalf("ParseTypes returned bad or duplicate type %q", x)
			}
			seen[x] = true
		}
		// What was accepted, written back one per line, parses the same.
		again, err := ParseTypes([]byte(strings.Join(ts, "\n")))
		if err != nil || !slices.Equal(again, ts) {
			t.Fatalf("round trip: %q, %v", again, err)
		}
	})
}
