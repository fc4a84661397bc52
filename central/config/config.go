// Package config loads budare-central's TOML config file: the central time
// zone, the object store, the signing key and the training settings.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
)

// Config is budare-central's config file.
//
//	timezone = "America/Caracas"
//	signing_key_file = "/etc/budare/release.key"
//	release_expiry = "720h"
//	types = ["reina-pepiada", "domino"]   # a --types file wins
//	[train]
//	span_days = 90
//	horizon_days = 3
//	...
//	[s3]
//	endpoint = "minio.example:9000"
//	...
type Config struct {
	Timezone       string          `toml:"timezone"`
	SigningKeyFile string          `toml:"signing_key_file"`
	ReleaseExpiry  Duration        `toml:"release_expiry"`
	Types          []string        `toml:"types"`
	Train          Train           `toml:"train"`
	S3             objstore.Config `toml:"s3"`
	Serve          Serve           `toml:"serve"`

	// Loc is Timezone loaded (UTC when empty).
	Loc *time.Location `toml:"-"`
	// Warnings lists keys the file sets that this build does not know.
	Warnings []string `toml:"-"`
}

// Serve is the dashboard's [serve] table.
type Serve struct {
	// Listen is the dashboard's address; loopback unless deliberately wider,
	// since the dashboard has no authentication.
	Listen string `toml:"listen"`
}

// Train holds the training settings; zero values take the defaults.
type Train struct {
	// SpanDays is how many days of windows, ending the day before the run
	// date, the rows are built from (each row also needs its 7-day window
	// before it, inside the span).
	SpanDays int `toml:"span_days"`
	// HorizonDays is H: a row is positive when the machine fails within
	// days D..D+H-1.
	HorizonDays int `toml:"horizon_days"`
	// HoldoutDays and ValidationDays are the latest row days kept for
	// judging (holdout) and, before them, for choosing thresholds and the
	// best technique (validation).
	HoldoutDays    int `toml:"holdout_days"`
	ValidationDays int `toml:"validation_days"`
	// Metric is the holdout metric champion and challenger are compared on:
	// "pr_auc" (default), "roc_auc" or "f1".
	Metric string `toml:"metric"`
	// Margin is how much better (in Metric) a challenger must be; it is
	// DefaultMargin when the file does not set it (0 is allowed).
	Margin    float64  `toml:"-"`
	MarginSet *float64 `toml:"margin"`
	// MinMetricShare keeps a metric as a feature only if at least this share
	// of a type's cook records carry it.
	MinMetricShare float64 `toml:"min_metric_share"`
	// Workers is how many kitchens are read in parallel (0 = number of CPUs).
	Workers int `toml:"workers"`
	// Techniques restricts the competing techniques (empty = all). The
	// plain baseline always competes, listed or not.
	Techniques []string `toml:"techniques"`
	// Folds is how many validation weeks (rolling origin: each fold trains
	// on the rows before its week) the technique and the thresholds are
	// chosen on; one week is too few failures to choose stably.
	Folds int `toml:"folds"`
	// Failure says which events are failures, the label: [train.failure]
	// kinds = ["failure"], codes = [] (all codes).
	Failure record.FailureRule `toml:"failure"`
	// Levels are the operator's targets the level thresholds are chosen
	// from.
	Levels Targets `toml:"levels"`
}

// Targets are what an operator asks of the morning levels; the trainer
// picks each threshold on the machine-day risk of validation days.
type Targets struct {
	// ServicePrecision: service at the lowest risk whose share of
	// machine-days followed by a failure is at least this.
	ServicePrecision float64 `toml:"service_precision"`
	// StopPrecision: the same for stop, higher.
	StopPrecision float64 `toml:"stop_precision"`
	// InspectFalseAlarms: inspect at the lowest risk with at most this many
	// false alarms (inspect or above, no failure followed) per 100
	// machine-days.
	InspectFalseAlarms float64 `toml:"inspect_false_alarms_per_100"`
}

// OrDefault fills the targets left at zero with the defaults.
func (tg Targets) OrDefault() Targets {
	tg.ServicePrecision = cmp.Or(tg.ServicePrecision, DefaultServicePrecision)
	tg.StopPrecision = cmp.Or(tg.StopPrecision, DefaultStopPrecision)
	tg.InspectFalseAlarms = cmp.Or(tg.InspectFalseAlarms, DefaultInspectFalseAlarms)
	return tg
}

// Defaults.
const (
	// 90 days: a 42-day span left the final fit ~12 days of training rows
	// (after the window, the validation folds, the holdout and their
	// horizon gaps); on the field backtests 90 raised chain PR-AUC from
	// ~0.2 to ~0.25 on every dev seed, and 120 did no better.
	DefaultSpanDays       = 90
	DefaultHorizonDays    = 3
	DefaultHoldoutDays    = 7
	DefaultValidationDays = 7
	DefaultMetric         = "pr_auc"
	DefaultMargin         = 0.01
	DefaultMinMetricShare = 0.5
	// 3 validation weeks: the level thresholds are chosen on more
	// failures, so they hold better on the days after (field backtests).
	DefaultFolds = 3
	// Level targets.
	DefaultServicePrecision   = 0.8
	DefaultStopPrecision      = 0.95
	DefaultInspectFalseAlarms = 5.0
	DefaultReleaseExpiry      = 30 * 24 * time.Hour
)

// Duration is a time.Duration written as "720h" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration, or a number of days like "30d".
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return fmt.Errorf("duration %q: want e.g. 720h or 30d", s)
		}
		d.Duration = time.Duration(days) * 24 * time.Hour
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 720h or 30d", s)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Load reads and checks the config file; every problem is reported, one per
// line, in the returned error.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a config and fills defaults.
func Parse(b []byte) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return nil, err
	}
	for _, k := range md.Undecoded() {
		if md.Type(k...) == "Hash" {
			continue // its keys are reported one by one
		}
		// Other central components may add their own tables; warn rather
		// than fail so one config file serves them all.
		c.Warnings = append(c.Warnings, fmt.Sprintf("unknown key %q ignored", k.String()))
	}
	if err := c.fill(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) fill() error {
	var ps []string
	c.Loc = time.UTC
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			ps = append(ps, fmt.Sprintf("timezone %q: %v", c.Timezone, err))
		} else {
			c.Loc = loc
		}
	}
	if c.ReleaseExpiry.Duration == 0 {
		c.ReleaseExpiry.Duration = DefaultReleaseExpiry
	}
	if c.ReleaseExpiry.Duration < time.Hour {
		ps = append(ps, fmt.Sprintf("release_expiry %s is shorter than an hour", c.ReleaseExpiry))
	}
	t := &c.Train
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&t.SpanDays, DefaultSpanDays)
	def(&t.HorizonDays, DefaultHorizonDays)
	def(&t.HoldoutDays, DefaultHoldoutDays)
	def(&t.ValidationDays, DefaultValidationDays)
	if t.Metric == "" {
		t.Metric = DefaultMetric
	}
	t.Margin = DefaultMargin
	if t.MarginSet != nil {
		t.Margin = *t.MarginSet
	}
	if t.MinMetricShare == 0 {
		t.MinMetricShare = DefaultMinMetricShare
	}
	if t.Folds == 0 {
		t.Folds = DefaultFolds
		// A file written for the older default of 2 folds (e.g. span_days
		// = 42) stays valid: fewer folds rather than a refused config.
		for t.Folds > 2 && t.SpanDays < 7+3*t.HorizonDays+t.HoldoutDays+t.Folds*t.ValidationDays {
			t.Folds--
		}
	}
	t.Failure = t.Failure.OrDefault()
	t.Levels = t.Levels.OrDefault()
	lv := &t.Levels
	if !(lv.ServicePrecision > 0 && lv.ServicePrecision <= 1 && lv.StopPrecision > 0 && lv.StopPrecision <= 1) {
		ps = append(ps, fmt.Sprintf("train.levels: service_precision %v and stop_precision %v must be in (0, 1]", lv.ServicePrecision, lv.StopPrecision))
	}
	if lv.InspectFalseAlarms <= 0 || lv.InspectFalseAlarms > 100 {
		ps = append(ps, fmt.Sprintf("train.levels.inspect_false_alarms_per_100 %v: want (0, 100]", lv.InspectFalseAlarms))
	}
	if t.Folds < 1 || t.Folds > 12 {
		ps = append(ps, fmt.Sprintf("train.folds %d: want 1..12", t.Folds))
	}
	for _, k := range t.Failure.Kinds {
		if k == "" {
			ps = append(ps, "train.failure.kinds: an empty kind")
		}
	}
	switch t.Metric {
	case "pr_auc", "roc_auc", "f1":
	default:
		ps = append(ps, fmt.Sprintf("train.metric %q: want pr_auc, roc_auc or f1", t.Metric))
	}
	if t.HorizonDays < 1 || t.HorizonDays > 60 {
		ps = append(ps, fmt.Sprintf("train.horizon_days %d: want 1..60", t.HorizonDays))
	}
	if t.HoldoutDays < 1 || t.ValidationDays < 1 {
		ps = append(ps, "train.holdout_days and train.validation_days must be at least 1")
	}
	// Rows need a 7-day window before them and H days after them; the
	// three slices need at least a few days each, with H-1 days purged
	// between them.
	minSpan := 7 + 3*t.HorizonDays + t.HoldoutDays + t.Folds*t.ValidationDays
	if t.SpanDays < minSpan || t.SpanDays > 3660 {
		ps = append(ps, fmt.Sprintf("train.span_days %d: want %d..3660 with these horizon/holdout/validation days", t.SpanDays, minSpan))
	}
	if t.Margin < 0 || t.Margin > 1 {
		ps = append(ps, fmt.Sprintf("train.margin %v: want 0..1", t.Margin))
	}
	if t.MinMetricShare < 0 || t.MinMetricShare > 1 {
		ps = append(ps, fmt.Sprintf("train.min_metric_share %v: want 0..1", t.MinMetricShare))
	}
	if t.Workers < 0 {
		ps = append(ps, "train.workers must not be negative")
	}
	if len(ps) > 0 {
		return errors.New(strings.Join(ps, "; "))
	}
	return nil
}
