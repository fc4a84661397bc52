package inventory

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/golden"
	"github.com/budare/budare/internal/record"
)

// goldenPath is the golden inventory, also read by the tests of the trainer
// and the dashboard.
var goldenPath = filepath.Join("testdata", "kitchens.csv")

// goldenKitchens is what testdata/kitchens.csv holds.
func goldenKitchens(t *testing.T) []Kitchen {
	t.Helper()
	load := func(tz string) *time.Location {
		l, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	return []Kitchen{
		{Name: "k-001", Phase: 1, Timezone: "America/Caracas", Loc: load("America/Caracas")},
		{Name: "k-002", Phase: 1, Timezone: "Europe/Madrid", Loc: load("Europe/Madrid")},
		{Name: "k-003", Phase: 2, Timezone: "UTC", Loc: load("UTC")},
	}
}

func TestGolden(t *testing.T) {
	want := goldenKitchens(t)
	golden.Check(t, goldenPath, Encode(want))
	got, err := Decode(golden.Read(t, goldenPath))
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, want) {
		t.Errorf("Decode(golden) = %+v, want %+v", got, want)
	}
}

func equal(a, b []Kitchen) bool {
	return slices.EqualFunc(a, b, func(x, y Kitchen) bool {
		return x.Name == y.Name && x.Phase == y.Phase && x.Timezone == y.Timezone && x.Loc.String() == y.Loc.String()
	})
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"ok", "kitchen,phase,timezone\nk-1,1,America/Caracas\nk-2,2,Europe/Madrid\n", 2, ""},
		{"column order and extra columns", "timezone,kitchen,city,phase\nUTC,k-1,Caracas,1\n", 1, ""},
		{"BOM and spaces", "\ufeffkitchen, phase, timezone\nk-1, 1, UTC\n", 1, ""},
		{"header case", "Kitchen,PHASE,TimeZone\nk-1,1,UTC\n", 1, ""},
		{"comments and blank lines", "kitchen,phase,timezone\n# closed\n\nk-1,1,UTC\n", 1, ""},
		{"empty", "", 0, "empty"},
		{"header only", "kitchen,phase,timezone\n", 0, ""},
		{"no header", "k-1,1,UTC\n", 0, "lacks column"},
		{"missing column", "kitchen,timezone\nk-1,UTC\n", 0, "lacks column \"phase\""},
		{"bad phase", "kitchen,phase,timezone\nk-1,one,UTC\n", 0, "line 2: phase \"one\""},
		{"negative phase", "kitchen,phase,timezone\nk-1,-1,UTC\n", 0, "line 2: phase \"-1\""},
		{"bad zone", "kitchen,phase,timezone\nk-1,1,Mars/Olympus\n", 0, "line 2: timezone"},
		{"empty zone", "kitchen,phase,timezone\nk-1,1,\n", 0, "timezone is empty"},
		{"short row", "kitchen,phase,timezone\nk-1,1\n", 0, "timezone is empty"},
		{"duplicate", "kitchen,phase,timezone\nk-1,1,UTC\nk-1,2,UTC\n", 0, "line 3: kitchen \"k-1\" repeats line 2"},
		{"slash in name", "kitchen,phase,timezone\na/b,1,UTC\n", 0, "not allowed"},
		{"bad quote", "kitchen,phase,timezone\n\"k-1,1\n", 0, "kitchens.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Decode error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("Decode = %d kitchens, %v; want %d", len(got), err, tc.want)
			}
		})
	}
}

func TestFilterPhase(t *testing.T) {
	ks, err := Decode([]byte("kitchen,phase,timezone\nk-1,1,UTC\nk-2,2,UTC\nk-3,1,America/Caracas\nk-4,0,UTC\n"))
	if err != nil {
		t.Fatal(err)
	}
	names := func(ks []Kitchen) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Name)
		}
		return out
	}
	for phase, want := range map[int][]string{1: {"k-1", "k-3"}, 2: {"k-2"}, 0: {"k-4"}, 3: nil} {
		if got := names(FilterPhase(ks, phase)); !slices.Equal(got, want) {
			t.Errorf("phase %d: %q, want %q", phase, got, want)
		}
	}
	again, err := Decode(Encode(ks))
	if err != nil || !equal(again, ks) {
		t.Fatalf("round trip = %+v, %v", again, err)
	}
}

// FuzzDecode: the inventory is written by hand; whatever Decode accepts is
// a valid set of kitchens, and encoding it gives a file that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("kitchen,phase,timezone\nk-1,1,UTC\n"))
	f.Add([]byte("kitchen,phase,timezone\nk-1,1,America/Caracas\nk-2,2,Europe/Madrid\n"))
	f.Add([]byte("\ufefftimezone,kitchen,city,phase\n# c\nUTC,\"k-1\",Caracas,1\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := Decode(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, k := range ks {
			if k.Loc == nil || k.Phase < 0 || record.ValidName(k.Name) != nil || seen[k.Name] {
				t.Fatalf("Decode accepted a bad or repeated row %+v", k)
			}
			seen[k.Name] = true
		}
		again, err := Decode(Encode(ks))
		if err != nil || !equal(again, ks) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, ks)
		}
	})
}
