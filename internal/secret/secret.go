// Package secret reads the secrets both programs keep in files (S3 keys,
// the MQTT password), never in their configs: resolved against systemd's
// credentials directory, refused when others can read them.
package secret

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Resolve resolves a relative secret file name against credDir
// (systemd LoadCredential=), so units can say `secret_key_file = "s3-secret-key"`.
func Resolve(path, credDir string) string {
	if path == "" || filepath.IsAbs(path) || credDir == "" {
		return path
	}
	return filepath.Join(credDir, path)
}

// Read reads a secret from a file, trimmed of surrounding space. It
// refuses a file that others can read, because a leaked key lets anyone
// write to the chain's models.
func Read(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return "", fmt.Errorf("secret file %s is readable by others (mode %04o); run chmod 600 %s", path, fi.Mode().Perm(), path)
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
