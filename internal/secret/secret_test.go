package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		mode          os.FileMode
		want, errHas  string
	}{
		{"trimmed", "  s3cret\n", 0o600, "s3cret", ""},
		{"group readable is fine", "k", 0o640, "k", ""},
		{"others can read", "k", 0o604, "", "readable by others"},
		{"empty", " \n", 0o600, "", "is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			got, err := Read(p)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Read = %q, %v; want an error with %q", got, err, tc.errHas)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Read = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("Read of a missing file succeeded")
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ path, credDir, want string }{
		{"s3-key", "/run/credentials/x", "/run/credentials/x/s3-key"},
		{"/etc/budare/key", "/run/credentials/x", "/etc/budare/key"},
		{"s3-key", "", "s3-key"},
		{"", "/run/credentials/x", ""},
	} {
		if got := Resolve(tc.path, tc.credDir); got != tc.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", tc.path, tc.credDir, got, tc.want)
		}
	}
}
