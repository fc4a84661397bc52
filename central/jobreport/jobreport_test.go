package jobreport

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func report(err error) *Report {
	start := time.Date(2026, 11, 26, 2, 30, 0, 0, time.UTC)
	r := &Report{Job: "train", Date: "2026-11-26", Phase: 1, Started: start, Windows: 120, Rows: 3000, Models: 3, Release: 4,
		Warnings: []string{"catira: too few failures"}}
	r.Finish(start.Add(90*time.Second), err)
	return r
}

func TestTextfileIsLintCleanAndComplete(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		success string
	}{
		{"ok", nil, "1"},
		{"failed", errors.New("read windows: s3 unreachable"), "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report(tc.err)
			reg, err := Registry(r)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := testutil.GatherAndLint(reg)
			if err != nil || len(problems) > 0 {
				t.Fatalf("promlint: %v %v", problems, err)
			}
			dir := t.TempDir()
			if err := WriteTextfile(dir, r); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "budare_central_train.prom"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"# TYPE budare_central_last_run_success gauge",
				`budare_central_last_run_success{job_name="train",part=""} ` + tc.success,
				`budare_central_last_run_duration_seconds{job_name="train",part=""} 90`,
				`budare_central_last_run_timestamp_seconds{job_name="train",part=""} 1.79566029e+09`,
				`budare_central_last_run_windows{job_name="train",part=""} 120`,
				`budare_central_last_run_models{job_name="train",part=""} 3`,
				`budare_central_last_run_release{job_name="train",part=""} 4`,
				`budare_central_last_run_warnings{job_name="train",part=""} 1`,
			} {
				if !strings.Contains(string(b), want+"\n") {
					t.Errorf("textfile lacks %q:\n%s", want, b)
				}
			}
			// Only the .prom file: the temporary file was renamed onto it.
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Fatalf("textfile directory holds %d files, want 1", len(ents))
			}
		})
	}
	if err := WriteTextfile(filepath.Join(t.TempDir(), "missing"), report(nil)); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}

type memBucket map[string][]byte

func (m memBucket) Put(_ context.Context, key string, data []byte, _ map[string]string) error {
	m[key] = data
	return nil
}

func TestPutAndKey(t *testing.T) {
	b := memBucket{}
	r := report(errors.New("boom"))
	if err := Put(context.Background(), b, r); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b["reports/train/2026-11-26.json"], &got); err != nil {
		t.Fatalf("report at %v: %v", b, err)
	}
	if got.OK || got.Error != "boom" || got.Seconds != 90 || got.V != Version || got.Release != 4 {
		t.Fatalf("report %+v", got)
	}
	r.Part = "shard0of2"
	if k := r.Key(); k != "reports/train/2026-11-26-shard0of2.json" {
		t.Fatalf("Key = %q", k)
	}
}
