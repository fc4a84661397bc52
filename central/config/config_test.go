package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{"defaults", "", func(t *testing.T, c *Config) {
			tr := c.Train
			if c.Loc != time.UTC || c.ReleaseExpiry.Duration != DefaultReleaseExpiry || tr.SpanDays != DefaultSpanDays ||
				tr.HorizonDays != 3 || tr.Metric != "pr_auc" || tr.Margin != DefaultMargin || tr.MinMetricShare != 0.5 {
				t.Fatalf("defaults: %+v", c)
			}
		}, ""},
		{"full", `timezone = "America/Caracas"
signing_key_file = "/etc/budare/release.key"
release_expiry = "14d"
types = ["a", "b"]
[train]
span_days = 60
horizon_days = 5
margin = 0
metric = "f1"
[s3]
endpoint = "minio:9000"
bucket = "b"
`, func(t *testing.T, c *Config) {
			if c.Loc.String() != "America/Caracas" || c.ReleaseExpiry.Duration != 14*24*time.Hour || len(c.Types) != 2 ||
				c.Train.SpanDays != 60 || c.Train.HorizonDays != 5 || c.Train.Margin != 0 || c.Train.Metric != "f1" ||
				c.S3.Endpoint != "minio:9000" || c.S3.BucketName() != "b" || len(c.Warnings) != 0 {
				t.Fatalf("full: %+v", c)
			}
		}, ""},
		{"unknown key warns", "[serve]\nlisten = \":8080\"\nport = 80\n", func(t *testing.T, c *Config) {
			if c.Serve.Listen != ":8080" {
				t.Fatalf("serve.listen = %q", c.Serve.Listen)
			}
			if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "serve.port") {
				t.Fatalf("warnings %q", c.Warnings)
			}
		}, ""},
		{"hours expiry", `release_expiry = "36h"`, func(t *testing.T, c *Config) {
			if c.ReleaseExpiry.Duration != 36*time.Hour {
				t.Fatal(c.ReleaseExpiry)
			}
		}, ""},
		{"bad zone", `timezone = "Mars/Base"`, nil, "timezone"},
		{"bad expiry", `release_expiry = "soon"`, nil, "duration"},
		{"short expiry", `release_expiry = "1m"`, nil, "shorter than an hour"},
		{"bad metric", "[train]\nmetric = \"accuracy\"", nil, "train.metric"},
		{"span too short", "[train]\nspan_days = 20", nil, "train.span_days 20"},
		{"bad horizon", "[train]\nhorizon_days = -1", nil, "horizon_days"},
		{"not toml", "timezone = ", nil, ""},
		{"wrong type", "[train]\nspan_days = \"many\"", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if tc.check == nil {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("missing file loaded")
	}
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte("[train]\nmetric = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

func TestDefaultFoldsFitAnOlderSpan(t *testing.T) {
	c, err := Parse([]byte("[train]\nspan_days = 42\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Folds != 2 {
		t.Errorf("folds %d with span_days 42, want 2", c.Train.Folds)
	}
	c, err = Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.SpanDays != DefaultSpanDays || c.Train.Folds != DefaultFolds {
		t.Errorf("defaults: span %d folds %d", c.Train.SpanDays, c.Train.Folds)
	}
}
