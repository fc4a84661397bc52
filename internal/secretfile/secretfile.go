// Package secretfile checks and reads the files that hold secrets (the
// release signing key, S3 keys, the MQTT password). A secret others can
// read is as good as leaked, so such a file is refused with the chmod that
// fixes it rather than used.
package secretfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CheckMode refuses path if others may read or write it, or if its group
// may, unless path lies inside credDir ($CREDENTIALS_DIRECTORY). There the
// platform manages the files: systemd's credentials are 0400 for the
// service's user on a private mount, and a Kubernetes secret volume is
// group-readable only by the pod's own fsGroup.
func CheckMode(path, credDir string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("secret file: %w", err)
	}
	perm := fi.Mode().Perm()
	bad := perm & 0o077
	if within(path, credDir) {
		bad = perm & 0o007
	}
	if bad != 0 {
		who := "its group"
		if bad&0o007 != 0 {
			who = "others"
		}
		return fmt.Errorf("secret file %s can be read or written by %s (mode %04o); run chmod 600 %s", path, who, perm, path)
	}
	return nil
}

// within reports whether path is inside dir (dir empty: never).
func within(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Resolve resolves a relative secret file name against credDir (systemd
// LoadCredential=), so units can say `secret_key_file = "s3-secret-key"`.
func Resolve(name, credDir string) string {
	if name == "" || filepath.IsAbs(name) || credDir == "" {
		return name
	}
	return filepath.Join(credDir, name)
}

// ReadName is Read of name resolved against credDir (Resolve): how both
// programs read the secret files their configs name.
func ReadName(name, credDir string) (string, error) {
	return Read(Resolve(name, credDir), credDir)
}

// Read checks path's mode (CheckMode) and returns its content trimmed of
// surrounding space; an empty secret is an error.
func Read(path, credDir string) (string, error) {
	if err := CheckMode(path, credDir); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}
