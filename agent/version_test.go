package main

import (
	"bytes"
	"context"
	"testing"
)

// --version and version print the version, the commit and the build date
// (unknown ones say so), stamped by the Makefile or read from the build.
func TestVersion(t *testing.T) {
	oldV, oldC, oldD := version, commit, date
	t.Cleanup(func() { version, commit, date = oldV, oldC, oldD })
	version, commit, date = "v9.9.9", "0123abcd", "2026-12-01T10:00:00Z"
	for _, arg := range []string{"--version", "version"} {
		var out bytes.Buffer
		if code := run(context.Background(), []string{arg}, &out, &out); code != 0 {
			t.Fatalf("%s: exit %d", arg, code)
		}
		if want := "budare-agent v9.9.9 (commit 0123abcd, built 2026-12-01T10:00:00Z)\n"; out.String() != want {
			t.Fatalf("%s printed %q, want %q", arg, out.String(), want)
		}
	}
}
