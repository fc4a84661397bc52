// Package golden compares what a test encodes with a file under testdata,
// byte for byte, and rewrites the file when the test runs with -update:
//
//	go test ./internal/window -run Golden -update
//
// The golden files pin the contracts' formats; the tests of both programs
// read them, so a format change shows up as a diff to review. Test-only:
// the binaries never link it (internal/deptest).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata from the encoders")

// Check fails t unless got equals the content of path. With -update it
// writes got to path first.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := Read(t, path)
	if !bytes.Equal(got, want) {
		t.Errorf("encoded bytes differ from %s (run with -update to rewrite it, then review the diff):\n got %q\nwant %q", path, clip(got), clip(want))
	}
}

// Read returns the content of a golden file.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Contract returns the path of golden file name of the internal contract
// package pkg (record, window, action, inventory, release), for a test of
// any package of the module.
func Contract(t testing.TB, pkg, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "internal", pkg, "testdata", name)
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatalf("no go.mod above %s", dir)
		}
		dir = up
	}
}

func clip(b []byte) []byte {
	if len(b) > 400 {
		return append(b[:400:400], "…"...)
	}
	return b
}
