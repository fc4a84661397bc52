package packaging_test

import (
	"os"
	"strings"
	"testing"

	"github.com/budare/budare/central/config"
)

// TestCentralExampleConfig loads the shipped example with budare-central's
// own loader: every key must be one it knows ([serve] is read by serve).
func TestCentralExampleConfig(t *testing.T) {
	b, err := os.ReadFile("central.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(b)
	if err != nil {
		t.Fatalf("central.example.toml: %v", err)
	}
	for _, w := range c.Warnings {
		if !strings.Contains(w, `"serve.`) && !strings.Contains(w, `"serve"`) {
			t.Errorf("central.example.toml: %s", w)
		}
	}
	if c.S3.AccessKeyFile != "s3-access-key" || c.S3.SecretKeyFile != "s3-secret-key" {
		t.Errorf("[s3] key files %q %q: want the credential names the units load", c.S3.AccessKeyFile, c.S3.SecretKeyFile)
	}
}
