package cmapss

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindDataDir(t *testing.T) {
	root := t.TempDir()
	checkout := filepath.Join(root, "checkout")
	src := filepath.Join(checkout, sourceDir)
	installed := filepath.Join(root, "usr/share/budare/cmapss")
	for _, d := range []string{src, installed, filepath.Join(root, "elsewhere")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(checkout, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(root, "nowhere")
	for _, tc := range []struct {
		name, env, installed, cwd, want string
	}{
		{"environment wins", "/data/cmapss", installed, checkout, "/data/cmapss"},
		{"installed package", "", installed, filepath.Join(root, "elsewhere"), installed},
		{"installed wins over a checkout", "", installed, checkout, installed},
		{"checkout root", "", missing, checkout, src},
		{"inside a checkout", "", missing, filepath.Join(checkout, "central"), src},
		{"none", "", missing, filepath.Join(root, "elsewhere"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FindDataDir(tc.env, tc.installed, tc.cwd); got != tc.want {
				t.Fatalf("FindDataDir = %q, want %q", got, tc.want)
			}
		})
	}
}
