package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateKeysNeverOverwrites(t *testing.T) {
	tests := []struct {
		name     string
		existing string // which of "priv", "pub" exists before keygen
	}{
		{"public path names an existing signing key", "pub"},
		{"private key exists", "priv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
			victim, other := pub, priv
			if tt.existing == "priv" {
				victim, other = priv, pub
			}
			const old = "-----BEGIN PRIVATE KEY-----\nthe one signing key\n-----END PRIVATE KEY-----\n"
			if err := os.WriteFile(victim, []byte(old), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := GenerateKeys(priv, pub)
			if err == nil || !strings.Contains(err.Error(), "never overwrites") || !strings.Contains(err.Error(), victim) {
				t.Fatalf("GenerateKeys = %v; want a refusal naming %s", err, victim)
			}
			if b, _ := os.ReadFile(victim); string(b) != old {
				t.Fatalf("%s was changed to %q", victim, b)
			}
			if _, err := os.Stat(other); err == nil {
				t.Errorf("%s was written although keygen refused", other)
			}
		})
	}
}

func TestSigningKeyModes(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	if _, err := GenerateKeys(priv, pub); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true}, // a systemd credential
		{0o640, false},
		{0o604, false},
		{0o644, false},
		{0o620, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			if err := os.Chmod(priv, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPrivateKey(priv, "")
			if tt.ok && err != nil {
				t.Fatalf("mode %04o refused: %v", tt.mode, err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "chmod 600 "+priv)) {
				t.Fatalf("mode %04o: %v; want a refusal naming chmod 600 %s", tt.mode, err, priv)
			}
		})
	}
}
