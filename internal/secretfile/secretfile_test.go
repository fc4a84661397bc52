package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckMode(t *testing.T) {
	creds := t.TempDir() // stands for $CREDENTIALS_DIRECTORY
	other := t.TempDir()
	tests := []struct {
		name    string
		dir     string
		mode    os.FileMode
		refused string // "" = accepted; else who the message names
	}{
		{"0600 anywhere", other, 0o600, ""},
		{"0400 systemd credential", creds, 0o400, ""},
		{"0440 Kubernetes secret volume", creds, 0o440, ""},
		{"0640 outside the credentials directory", other, 0o640, "its group"},
		{"0620 group may write", other, 0o620, "its group"},
		{"0604 world-readable", other, 0o604, "others"},
		{"0644 world-readable", other, 0o644, "others"},
		{"0444 world-readable credential", creds, 0o444, "others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(tt.dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, []byte(" s3cret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := Read(path, creds)
			if tt.refused == "" {
				if err != nil || got != "s3cret" {
					t.Fatalf("Read = %q, %v; want the secret", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("mode %04o accepted", tt.mode)
			}
			for _, w := range []string{path, "chmod 600 " + path, tt.refused} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/run/credentials/budare-agent.service/s3-secret-key", "/run/credentials/budare-agent.service", true},
		{"/run/credentials/budare-agent.service/../x", "/run/credentials/budare-agent.service", false},
		{"/etc/budare/s3-secret-key", "/run/credentials/budare-agent.service", false},
		{"/etc/budare/s3-secret-key", "", false},
		{"/run/credentials/budare-agent.service-evil/k", "/run/credentials/budare-agent.service", false},
	}
	for _, tt := range tests {
		if got := within(tt.path, tt.dir); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
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
