package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/budare/budare/central/cmapss"
)

// writeSubset writes a small synthetic C-MAPSS-format subset "SY" into dir:
// engines whose sensors drift exponentially towards failure, two operating
// conditions, and a RUL file for truncated test engines.
func writeSubset(t *testing.T, dir string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	line := func(b *strings.Builder, unit, cycle, life int) {
		cond := float64(rng.IntN(2))
		fmt.Fprintf(b, "%d %d %.4f %.4f %.1f", unit, cycle, 10*cond+0.001*rng.NormFloat64(), 0.5*cond, 100.0)
		wear := math.Exp(float64(cycle-life) / 15)
		for s := range 21 {
			v := 100 + 50*cond + float64(s)
			if s%3 == 0 {
				v += 5 * wear
			}
			if s != 0 {
				v += 0.3 * rng.NormFloat64()
			}
			fmt.Fprintf(b, " %.4f", v)
		}
		b.WriteString(" \n")
	}
	var train, test, rul strings.Builder
	for u := 1; u <= 30; u++ {
		life := 80 + rng.IntN(60)
		for c := 1; c <= life; c++ {
			line(&train, u, c, life)
		}
	}
	for u := 1; u <= 20; u++ {
		life := 80 + rng.IntN(60)
		stop := 20 + rng.IntN(life-20)
		for c := 1; c <= stop; c++ {
			line(&test, u, c, life)
		}
		fmt.Fprintf(&rul, "%d\n", life-stop)
	}
	for name, s := range map[string]string{"train_SY.txt": train.String(), "test_SY.txt": test.String(), "RUL_SY.txt": rul.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEvalCmapssCommand(t *testing.T) {
	dir := t.TempDir()
	writeSubset(t, dir)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"eval", "cmapss", "--data", dir, "--subset", "SY", "--json", "--window", "20"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	for _, k := range []string{"subset", "f1", "auc", "precision", "recall", "technique", "threshold", "n", "seconds"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if res["subset"] != "SY" || res["n"] != 20.0 || res["regimes"] != 2.0 {
		t.Errorf("subset/n/regimes = %v/%v/%v, want SY/20/2", res["subset"], res["n"], res["regimes"])
	}
	if auc, _ := res["auc"].(float64); auc < 0.9 {
		t.Errorf("auc %v on an easy synthetic subset", auc)
	}

	// Plain output is one summary line.
	out.Reset()
	if code := run(context.Background(), []string{"eval", "cmapss", "--data", dir, "--subset", "SY", "--window", "20"}, &out, &errb); code != 0 ||
		!strings.HasPrefix(out.String(), "SY: technique=") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("summary output %q (exit %d)", out.String(), code)
	}
}

func TestEvalUsage(t *testing.T) {
	for _, args := range [][]string{
		{"eval"},
		{"eval", "mnist"},
		{"eval", "cmapss", "--bogus"},
		{"eval", "cmapss", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"eval", "cmapss", "--data", t.TempDir(), "--subset", "FD001"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "train_FD001.txt") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("missing data: exit %d, stderr %q; want 1 and one line naming the file", code, errb.String())
	}
}

// Without --data, eval cmapss finds the data through $BUDARE_CMAPSS_DIR
// (then the package's /usr/share/budare/cmapss, then a checkout's copy), and
// says which flag to give when there is none, wherever it is run from.
func TestEvalCmapssDataDefault(t *testing.T) {
	dir := t.TempDir()
	writeSubset(t, dir)
	t.Chdir(t.TempDir()) // outside any checkout
	t.Setenv("BUDARE_CMAPSS_DIR", dir)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"eval", "cmapss", "--subset", "SY", "--window", "20"}, &out, &errb); code != 0 ||
		!strings.HasPrefix(out.String(), "SY: technique=") {
		t.Fatalf("with BUDARE_CMAPSS_DIR: exit %d, %q %q", code, out.String(), errb.String())
	}
	if _, err := os.Stat(cmapss.InstalledDir); err == nil {
		t.Skipf("%s exists on this machine: the no-data error cannot be shown", cmapss.InstalledDir)
	}
	t.Setenv("BUDARE_CMAPSS_DIR", "")
	out.Reset()
	errb.Reset()
	code := run(context.Background(), []string{"eval", "cmapss"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "--data DIR") || !strings.Contains(errb.String(), cmapss.InstalledDir) ||
		strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("no data anywhere: exit %d, stderr %q; want 1 and one line naming --data", code, errb.String())
	}
}
