package cmapss

import (
	"os"
	"path/filepath"
)

// InstalledDir is where the budare-central package installs FD001 and FD002.
const InstalledDir = "/usr/share/budare/cmapss"

// sourceDir is the repository's copy, relative to the repository root.
const sourceDir = "central/cmapss/testdata"

// FindDataDir is the data directory when none is given: env (the value of
// $BUDARE_CMAPSS_DIR) when set, else installed when it exists, else the
// repository's copy when cwd is inside a checkout. "" when there is none.
func FindDataDir(env, installed, cwd string) string {
	if env != "" {
		return env
	}
	if st, err := os.Stat(installed); err == nil && st.IsDir() {
		return installed
	}
	for dir := cwd; dir != ""; {
		cand := filepath.Join(dir, sourceDir)
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return cand
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}
