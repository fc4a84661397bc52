package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/central/score"
	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/window"
)

// scorecardBucket writes a small bucket by hand:
//
//	k1  m1 ".iss.S....", m2 ".s.....s..", m3 ".......i.u" on 2026-11-01..10
//	    ('.' none, i inspect, s service, S stop, u unknown), then three
//	    mornings of none, so that the default period ends 11-10. Windows
//	    11-01..11-12: m1 fails 11-06 (and m2 has a fault, not a failure),
//	    m3 fails 11-09, m2 fails 11-12 (outside the period).
//	k2  a bare-array day file on 11-03 (n1 stop, a false alarm), a damaged
//	    file on 11-04, no windows.
func scorecardBucket(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b := objstore.NewDir(dir)
	ctx := context.Background()
	put := func(key string, data []byte) {
		t.Helper()
		if err := b.Put(ctx, key, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	plans := map[string]string{"m1": ".iss.S......", "m2": ".s.....s.....", "m3": ".......i.u..."}
	levels := map[byte]string{'.': action.LevelNone, 'i': action.LevelInspect, 's': action.LevelService,
		'S': action.LevelStop, 'u': action.LevelUnknown}
	for i := range 13 {
		day, _ := record.AddDays("2026-11-01", i)
		d := action.Day{V: action.Version, Date: day, Kitchen: "k1", Counts: map[string]int{}}
		for _, m := range []string{"m1", "m2", "m3"} {
			l := action.LevelNone
			if i < len(plans[m]) {
				l = levels[plans[m][i]]
			}
			risk := map[string]float64{"none": 0.1, "inspect": 0.5, "service": 0.7, "stop": 0.9}[l]
			d.Actions = append(d.Actions, action.Action{V: action.Version, Date: day, Kitchen: "k1", Machine: m, Level: l, Risk: risk})
			d.Counts[l]++
		}
		data, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		put(action.Key("k1", day), data)
	}
	put(action.Key("k2", "2026-11-03"), []byte(`[{"v":1,"date":"2026-11-03","kitchen":"k2","machine":"n1","level":"stop","risk":0.95,"reasons":[]}]`))
	put(action.Key("k2", "2026-11-04"), []byte(`{"v":1,"actions":[{"machine":`))
	put("actions/k1/README.txt", []byte("not a day file"))

	events := map[string][]record.Record{
		"2026-11-06": {{Machine: "m1", Kind: record.KindFailure, Code: "HEATER_OPEN"}, {Machine: "m2", Kind: record.KindFault, Code: "DOOR_SENSOR"}},
		"2026-11-09": {{Machine: "m3", Kind: record.KindFailure, Code: "MOTOR_STALL"}},
		"2026-11-12": {{Machine: "m2", Kind: record.KindFailure, Code: "MOTOR_STALL"}},
	}
	for i := range 12 {
		day, _ := record.AddDays("2026-11-01", i)
		ts, _ := time.Parse(time.DateOnly, day)
		ts = ts.Add(9 * time.Hour)
		recs := []record.Record{{Machine: "m1", Type: record.TypeCook, TS: ts, Seq: 1, Arepa: "reina", Metrics: map[string]float64{"plate_temp_c": 210}}}
		for j, e := range events[day] {
			e.Type, e.TS, e.Seq = record.TypeEvent, ts.Add(time.Hour), int64(10+j)
			recs = append(recs, e)
		}
		data, meta, err := simulate.EncodeWindow(recs, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put(ctx, window.Key("k1", day), data, meta); err != nil {
			t.Fatal(err)
		}
	}
	put(inventory.Key, []byte("kitchen,phase,timezone\nk1,1,America/Caracas\nk2,2,America/Bogota\n"))
	return dir
}

func TestScorecardCommandTable(t *testing.T) {
	dir := scorecardBucket(t)
	promDir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"scorecard", "--dir", dir, "--textfile", promDir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	prom, err := os.ReadFile(filepath.Join(promDir, "budare_central_scorecard.prom"))
	if err != nil || !strings.Contains(string(prom), `budare_central_last_run_success{job_name="scorecard",part=""} 1`+"\n") ||
		!strings.Contains(string(prom), `budare_central_last_run_warnings{job_name="scorecard",part=""} 1`+"\n") {
		t.Errorf("textfile (%v):\n%s", err, prom)
	}
	got := out.String()
	for _, want := range []string{
		// default period: the latest actions are of 11-13, minus the horizon
		"scorecard 2026-11-01..2026-11-10: 31 machine-days (1 unknown, 7 positive), horizon 3 days, 2 failures (1 outside the period)",
		// 2 kitchens × 2026-10-14..11-12; only k1's 11-01..11-12 exist
		"read 12 day files (1 damaged, skipped) and 60 windows (48 missing) of " + dir,
		"k1       2026-11-01  2026-11-10  30            1        7",
		"k2       2026-11-03  2026-11-03  1             0        0         -       -        0         0",
		"chain    service+  6       2     4      0.333      0.286   0.308  12.9       1/2     0.500        3.0          3.0",
		"k1       service+  5       2     3      0.400      0.286   0.333  10.0       1/2     0.500        3.0          3.0",
		"k1       inspect+  7       3     4      0.429      0.429   0.429  13.3       2/2     1.000        2.5          2.5",
		"HEATER_OPEN  1         1                1.000            1                1.000",
		"MOTOR_STALL  1         0                0.000            1                1.000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(errb.String(), "actions/k2/2026-11-04.json") {
		t.Errorf("no warning naming the damaged file: %s", errb.String())
	}
}

func TestScorecardCommandJSON(t *testing.T) {
	dir := scorecardBucket(t)
	outFile := filepath.Join(t.TempDir(), "scorecard.json")
	var out, errb bytes.Buffer
	args := []string{"scorecard", "--dir", dir, "--from", "2026-11-05", "--to", "2026-11-08", "--kitchen", "k1", "--json", "--out", outFile}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	saved, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, out.Bytes()) {
		t.Errorf("--out file differs from the printed JSON")
	}
	var rep score.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not a report: %v\n%s", err, out.String())
	}
	// 11-05..11-08 of k1: m1 positive 05, 06 (service+ true alarm 06 stop),
	// m2 false alarm 08, m3 positive 07, 08 (inspect 08). The failure of
	// m1 on 11-06 is warned by the 06 stop (lead 1: 11-04 is before the
	// period); m3's on 11-09 is outside it.
	c := rep.Chain
	if rep.From != "2026-11-05" || rep.To != "2026-11-08" || len(rep.Kitchens) != 1 || c.MachineDays != 12 || c.Positive != 4 ||
		c.Service.Alarms != 2 || c.Service.TrueAlarms != 1 || c.Inspect.TrueAlarms != 2 ||
		c.Failures != 1 || c.FailuresOutside != 1 || c.Service.LeadMeanDays != 0 {
		t.Errorf("report: %s", out.String())
	}
	s := rep.Sources
	if s == nil || s.Windows != 6 || s.WindowsMissing != 0 || s.DayFiles != 4 || len(s.Damaged) != 0 || s.FailureRule.Kinds[0] != "failure" {
		t.Errorf("sources: %+v", s)
	}
	var raw map[string]any
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"from", "to", "horizon_days", "lead_days", "chain", "kitchens", "sources"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}

func TestScorecardCommandErrors(t *testing.T) {
	dir := scorecardBucket(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no store", []string{}, 2, "usage: budare-central scorecard"},
		{"bad day", []string{"--dir", dir, "--from", "5 Nov"}, 2, "usage: budare-central scorecard"},
		{"extra argument", []string{"--dir", dir, "k1"}, 2, "usage: budare-central scorecard"},
		{"no actions", []string{"--dir", dir, "--from", "2025-01-01", "--to", "2025-01-31"}, 1,
			"budare-central: scorecard: no actions between 2025-01-01 and 2025-01-31 in " + dir + "\n"},
		{"empty period", []string{"--dir", dir, "--from", "2026-11-12"}, 1, "scorecard: the period 2026-11-12..2026-11-10 is empty"},
		{"phase without kitchens", []string{"--dir", dir, "--phase", "3"}, 1, "no kitchen of phase 3"},
		{"kitchen not in phase", []string{"--dir", dir, "--phase", "2", "--kitchen", "k1"}, 1, "kitchen k1 is not in phase 2"},
		{"phase 2 scores k2 alone", []string{"--dir", dir, "--phase", "2", "--to", "2026-11-03"}, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"scorecard"}, tt.args...), &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb.String(), tt.code, tt.msg)
			}
		})
	}
}

// TestScorecardFailureRule: the config's [train.failure] says which events
// are failures; with faults counted, m2's door sensor fault of 11-06 is a
// failure missed at both thresholds.
func TestScorecardFailureRule(t *testing.T) {
	dir := scorecardBucket(t)
	conf := filepath.Join(t.TempDir(), "central.toml")
	if err := os.WriteFile(conf, []byte("[train.failure]\nkinds = [\"failure\", \"fault\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"scorecard", "--config", conf, "--dir", dir, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep score.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	c := rep.Chain
	if c.Failures != 3 || c.Service.Warned != 1 || c.Inspect.Warned != 2 || len(c.ByCode) != 3 || c.ByCode[0].Name != "DOOR_SENSOR" ||
		len(rep.Sources.FailureRule.Kinds) != 2 {
		t.Errorf("failures %d warned %d/%d by code %v rule %+v; want 3, 1/2, DOOR_SENSOR first, two kinds",
			c.Failures, c.Service.Warned, c.Inspect.Warned, c.ByCode, rep.Sources.FailureRule)
	}
}
