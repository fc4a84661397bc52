// Package jobreport records how each central job (train, ...) ended, so a
// failed or silent nightly run raises an alert: a JSON report in the bucket
// (reports/<job>/<date>.json) for people and the dashboard, and optionally a
// node_exporter textfile-collector file for Prometheus.
package jobreport

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Version is the report format version (field "v").
const Version = 1

// Report is one job's outcome.
type Report struct {
	V    int    `json:"v"`
	Job  string `json:"job"`  // train, backtest, scorecard
	Date string `json:"date"` // the job's run date, yyyy-mm-dd
	// Part tells runs of one job and date apart (e.g. "phase2", "shard1of4");
	// empty for the job's main run.
	Part     string    `json:"part,omitempty"`
	Phase    int       `json:"phase,omitempty"`
	Version  string    `json:"version,omitempty"` // the program's build
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`

	Windows        int      `json:"windows"`
	MissingWindows int      `json:"missing_windows"`
	Records        int      `json:"records"`
	Rows           int      `json:"rows"`
	Models         int      `json:"models"`            // models in the published release
	Release        int64    `json:"release,omitempty"` // the release published, 0 for none
	Warnings       []string `json:"warnings"`
}

// Key is the report's object key: reports/<job>/<date>[-<part>].json.
func (r *Report) Key() string {
	name := r.Date
	if r.Part != "" {
		name += "-" + r.Part
	}
	return "reports/" + r.Job + "/" + name + ".json"
}

// Finish stamps the end of the job and its error (nil: it succeeded).
func (r *Report) Finish(now time.Time, err error) {
	r.V = Version
	r.Finished = now.UTC()
	r.Started = r.Started.UTC()
	r.Seconds = now.Sub(r.Started).Seconds()
	r.OK = err == nil
	r.Error = ""
	if err != nil {
		r.Error = err.Error()
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
}

// Putter writes an object (train.Bucket satisfies it).
type Putter interface {
	Put(ctx context.Context, key string, data []byte, meta map[string]string) error
}

// Put writes the report to the bucket.
func Put(ctx context.Context, b Putter, r *Report) error {
	data, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	if err := b.Put(ctx, r.Key(), append(data, '\n'), nil); err != nil {
		return fmt.Errorf("write report %s: %w", r.Key(), err)
	}
	return nil
}

// Registry holds the report as budare_central_last_run_* gauges labelled
// with the job (and part), the shape a node_exporter textfile needs.
func Registry(r *Report) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"job_name": r.Job, "part": r.Part}
	ok := 0.0
	if r.OK {
		ok = 1
	}
	for _, g := range []struct {
		name, help string
		v          float64
	}{
		{"budare_central_last_run_success", "1 if the job's last run succeeded, 0 if it failed.", ok},
		{"budare_central_last_run_timestamp_seconds", "When the job's last run finished (Unix time).", float64(r.Finished.UnixNano()) / 1e9},
		{"budare_central_last_run_duration_seconds", "How long the job's last run took.", r.Seconds},
		{"budare_central_last_run_windows", "Daily windows the job's last run read.", float64(r.Windows)},
		{"budare_central_last_run_missing_windows", "Expected daily windows the job's last run did not find.", float64(r.MissingWindows)},
		{"budare_central_last_run_rows", "Training rows the job's last run built.", float64(r.Rows)},
		{"budare_central_last_run_models", "Models in the release the job's last run published.", float64(r.Models)},
		{"budare_central_last_run_release", "The release the job's last run published (0: none).", float64(r.Release)},
		{"budare_central_last_run_warnings", "Warnings of the job's last run.", float64(len(r.Warnings))},
	} {
		c := prometheus.NewGauge(prometheus.GaugeOpts{Name: g.name, Help: g.help, ConstLabels: labels})
		c.Set(g.v)
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// TextfileName is the report's file in a textfile-collector directory.
func (r *Report) TextfileName() string {
	name := "budare_central_" + r.Job
	if r.Part != "" {
		name += "_" + r.Part
	}
	return name + ".prom"
}

// WriteTextfile writes the report's metrics into dir for node_exporter's
// textfile collector, atomically (a temporary file renamed), so the
// collector never reads half a file.
func WriteTextfile(dir string, r *Report) error {
	reg, err := Registry(r)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, r.TextfileName())
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("textfile directory %s: not a directory", dir)
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
