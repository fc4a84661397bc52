package train

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/internal/features"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/window"
)

const runDate = "2026-11-26"

func testSim() simulate.Config {
	c := simulate.Defaults()
	c.Seed, c.Kitchens, c.Machines, c.Types, c.MenuSize = 7, 5, 6, 3, 3
	c.Days, c.End, c.Phases, c.CooksPerDay, c.MeanDaysBetweenFailures = 32, "2026-11-25", 2, 24, 12
	return c
}

func testTrain() config.Train {
	return config.Train{SpanDays: 30, HorizonDays: 3, HoldoutDays: 5, ValidationDays: 5, Metric: "pr_auc",
		Margin: 0.01, MinMetricShare: 0.5, Workers: 2}
}

// template holds one simulation of testSim(), made once by TestMain; tests
// copy it (simulating under the race detector is slow).
var template *objstore.Dir

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "budare-train-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	template = objstore.NewDir(dir)
	if _, err := simulate.Write(context.Background(), testSim(), template, 2); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// simDir returns a fresh directory bucket holding the simulation of testSim().
func simDir(t *testing.T) *objstore.Dir {
	t.Helper()
	return copyDir(t, template)
}

func copyDir(t *testing.T, src *objstore.Dir) *objstore.Dir {
	t.Helper()
	dst := objstore.NewDir(t.TempDir())
	if err := os.CopyFS(dst.Root(), os.DirFS(src.Root())); err != nil {
		t.Fatal(err)
	}
	return dst
}

func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func options(b Bucket, priv ed25519.PrivateKey, techs []model.Technique) Options {
	return Options{Bucket: b, Types: simulate.TypeNames(3), Phase: 1, Date: runDate, Train: testTrain(),
		Techniques: techs, Public: priv.Public().(ed25519.PublicKey)}
}

func publisher(b Bucket, priv ed25519.PrivateKey) *Publisher {
	return &Publisher{Bucket: b, Key: priv, Expiry: 30 * 24 * time.Hour}
}

func mustRun(t *testing.T, o Options) *Outcome {
	t.Helper()
	out, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustPublish(t *testing.T, p *Publisher, outs ...*Outcome) *release.Manifest {
	t.Helper()
	m, err := p.Publish(context.Background(), outs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// invert fits a logistic model and flips its weights: a challenger that
// ranks machines backwards, so it must lose to any sensible champion.
type invert struct{}

func (invert) Name() string { return "inverted" }
func (invert) Fit(ctx context.Context, d model.Dataset) (*model.Model, error) {
	m, err := model.LogisticTechnique{}.Fit(ctx, d)
	if err != nil {
		return nil, err
	}
	for i := range m.Logistic.Weights {
		m.Logistic.Weights[i] = -m.Logistic.Weights[i]
	}
	m.Logistic.Bias = -m.Logistic.Bias
	return m, nil
}

// TestSpanSlices checks the calendar: slices in time order, each slice's
// labels end before the next slice's first row day, holdout last.
func TestSpanSlices(t *testing.T) {
	for _, h := range []int{1, 3, 5} {
		s, err := NewSpan(runDate, 40, 7, h, 5, 6, 1)
		if err != nil {
			t.Fatal(err)
		}
		if s.Last != "2026-11-25" || s.First != "2026-10-17" {
			t.Fatalf("span %s..%s", s.First, s.Last)
		}
		if s.TrainFrom < s.Window {
			t.Fatalf("train rows start at %d, before a full window", s.TrainFrom)
		}
		if s.TrainTo+h-1 >= s.ValidFrom || s.ValidTo+h-1 >= s.HoldoutFrom {
			t.Fatalf("H=%d: labels of one slice reach into the next: %+v", h, s)
		}
		if s.HoldoutTo+h-1 != len(s.days)-1 {
			t.Fatalf("H=%d: the last holdout row's labels end on day %d, want the span's last day %d", h, s.HoldoutTo+h-1, len(s.days)-1)
		}
		if s.HoldoutTo-s.HoldoutFrom+1 != 6 || s.ValidTo-s.ValidFrom+1 != 5 {
			t.Fatalf("slice lengths wrong: %+v", s)
		}
	}
	if _, err := NewSpan(runDate, 15, 7, 3, 5, 5, 1); err == nil {
		t.Fatal("a 15-day span cannot hold train, validation and holdout rows")
	}
}

// TestNoLeakage writes windows whose metric "day" is the day's index in the
// span and checks that every row's features come only from the seven days
// before its day, and its label only from its own horizon. A future day
// leaking into a feature would raise day:max to d or beyond.
func TestNoLeakage(t *testing.T) {
	ctx := context.Background()
	b := objstore.NewDir(t.TempDir())
	span, err := NewSpan(runDate, 30, 7, 3, 5, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	failDays := map[int]bool{12: true, 19: true, 26: true}
	for i := range span.days {
		day, _ := time.Parse(time.DateOnly, span.Day(i))
		var recs []record.Record
		for c := range 4 {
			recs = append(recs, record.Record{Machine: "m-1", Type: record.TypeCook, TS: day.Add(time.Duration(8+c) * time.Hour),
				Seq: int64(i*10 + c), Arepa: "a", Metrics: map[string]float64{"day": float64(i)}})
		}
		if failDays[i] {
			recs = append(recs, record.Record{Machine: "m-1", Type: record.TypeEvent, TS: day.Add(20 * time.Hour),
				Seq: int64(i*10 + 9), Kind: record.KindFailure, Code: "X"})
		}
		data, _, err := simulate.EncodeWindow(recs, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put(ctx, window.Key("k-1", span.Day(i)), data, nil); err != nil {
			t.Fatal(err)
		}
	}
	spec := &features.Spec{Metrics: []string{"day"}, WindowDays: 7}
	rs := kitchenRowSet(t, b, span, "a", spec)
	names := spec.Names()
	col := func(name string) int {
		for i, n := range names {
			if n == name {
				return i
			}
		}
		t.Fatalf("no feature %s", name)
		return -1
	}
	maxCol, minCol, failCol := col("day:max"), col("day:min"), col(features.FeatFailures)
	if rs.n() == 0 {
		t.Fatal("no rows")
	}
	seenSlices := map[int]int{}
	for i := range rs.n() {
		d := int(rs.day[i])
		x := rs.x[i*rs.dim : (i+1)*rs.dim]
		if x[maxCol] != float64(d-1) {
			t.Fatalf("row of day %d: day:max = %v, want %d (a later day leaked into the features)", d, x[maxCol], d-1)
		}
		if x[minCol] != float64(d-7) {
			t.Fatalf("row of day %d: day:min = %v, want %d", d, x[minCol], d-7)
		}
		wantLabel := failDays[d] || failDays[d+1] || failDays[d+2]
		if rs.y[i] != wantLabel {
			t.Fatalf("row of day %d: label %v, want %v", d, rs.y[i], wantLabel)
		}
		pastFailures := 0.0
		for j := d - 7; j < d; j++ {
			if failDays[j] {
				pastFailures++
			}
		}
		if x[failCol] != pastFailures {
			t.Fatalf("row of day %d: %v past failures in features, want %v", d, x[failCol], pastFailures)
		}
		sl := span.sliceOf(d)
		if sl < 0 {
			t.Fatalf("row of purged day %d was built", d)
		}
		seenSlices[sl]++
	}
	if len(seenSlices) != 3 {
		t.Fatalf("rows fall in slices %v, want train, validation and holdout", seenSlices)
	}
}

// TestChampionKept: a worse challenger leaves the champion's model in the
// new release; a better one replaces it.
func TestChampionKept(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	good := simDir(t)
	bad := copyDir(t, good)

	logistic := []model.Technique{model.LogisticTechnique{}}
	m1 := mustPublish(t, publisher(good, priv), mustRun(t, options(good, priv, logistic)))
	if len(m1.Models) == 0 {
		t.Fatal("first release has no models")
	}
	for a, e := range m1.Models {
		if _, ok := e.Holdout["roc_auc"]; !ok || e.Technique != model.TechLogistic || e.Trained != 1 || e.Card == "" {
			t.Fatalf("%s: entry %+v lacks holdout metrics, technique or card", a, e)
		}
	}
	out := mustRun(t, options(good, priv, []model.Technique{invert{}}))
	for _, r := range out.Results {
		if _, had := m1.Models[r.Arepa]; had && r.Status != StatusKept {
			t.Fatalf("%s: inverted challenger got status %s (%s), want kept", r.Arepa, r.Status, r.Card.Decision)
		}
	}
	m2 := mustPublish(t, publisher(good, priv), out)
	if m2.Release != 2 {
		t.Fatalf("second release is %d", m2.Release)
	}
	for a, e1 := range m1.Models {
		e2 := m2.Models[a]
		if e2.Key != e1.Key || e2.SHA256 != e1.SHA256 || e2.Trained != 1 {
			t.Fatalf("%s: release 2 entry %+v does not point at the champion %+v", a, e2, e1)
		}
		if _, err := good.Get(ctx, release.ModelKey(a, 2), 0); !IsNotFound(err) {
			t.Fatalf("%s: a kept champion wrote a new model file (%v)", a, err)
		}
		if _, err := good.Get(ctx, release.CardKey(a, 2), 0); err != nil {
			t.Fatalf("%s: no card for release 2: %v", a, err)
		}
	}

	// The other way round: a bad champion is replaced.
	mInv := mustPublish(t, publisher(bad, priv), mustRun(t, options(bad, priv, []model.Technique{invert{}})))
	for a, e := range mInv.Models {
		if e.Technique != model.TechLogistic || e.Holdout == nil {
			t.Fatalf("%s: entry of a renamed technique: %+v", a, e)
		}
	}
	out = mustRun(t, options(bad, priv, logistic))
	replaced := 0
	for _, r := range out.Results {
		if r.Status == StatusNew {
			replaced++
			if r.Card.Champion == nil || r.Card.Champion.Holdout == nil {
				t.Fatalf("%s: the champion was not judged on the holdout", r.Arepa)
			}
		}
	}
	if replaced == 0 {
		t.Fatal("no inverted champion was replaced by a real model")
	}
}

// TestShardsEqualOneRun: n shards assembled give the same model files as
// one run.
func TestShardsEqualOneRun(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	one := simDir(t)
	sharded := copyDir(t, one)
	techs := []model.Technique{model.LogisticTechnique{}}

	mOne := mustPublish(t, publisher(one, priv), mustRun(t, options(one, priv, techs)))
	const n = 2
	for i := range n {
		o := options(sharded, priv, techs)
		o.Shard = Shard{i, n}
		if _, err := WriteStaging(ctx, sharded, mustRun(t, o), o.Shard); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadStaging(ctx, sharded, 1, runDate, n+1); err == nil {
		t.Fatal("assemble accepted a missing shard")
	}
	outs, err := ReadStaging(ctx, sharded, 1, runDate, n)
	if err != nil {
		t.Fatal(err)
	}
	mSh := mustPublish(t, publisher(sharded, priv), outs...)
	if len(mSh.Models) != len(mOne.Models) || len(mOne.Models) == 0 {
		t.Fatalf("sharded release has %d models, one run %d", len(mSh.Models), len(mOne.Models))
	}
	for a, e := range mOne.Models {
		es, ok := mSh.Models[a]
		if !ok {
			t.Fatalf("%s missing from the sharded release", a)
		}
		b1, err := one.Get(ctx, e.Key, 0)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := sharded.Get(ctx, es.Key, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) || e.SHA256 != es.SHA256 {
			t.Fatalf("%s: sharded model differs from the one-run model", a)
		}
	}
}

// failingBucket fails Put of one key.
type failingBucket struct {
	Bucket
	failKey string
}

func (f failingBucket) Put(ctx context.Context, key string, data []byte, meta map[string]string) error {
	if key == f.failKey {
		return errors.New("injected failure")
	}
	return f.Bucket.Put(ctx, key, data, meta)
}

// TestFailedPublishChangesNothing: a run that fails before models/current is
// written leaves the current release as it was, and agents see nothing new.
func TestFailedPublishChangesNothing(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	b := simDir(t)
	// Publishing the same outcome again writes every model anew under the
	// next release number.
	out := mustRun(t, options(b, priv, []model.Technique{model.LogisticTechnique{}}))
	mustPublish(t, publisher(b, priv), out)
	for _, fail := range []string{release.CardKey(out.Results[0].Arepa, 2), release.ManifestKey(2), release.CurrentKey} {
		_, err := publisher(failingBucket{b, fail}, priv).Publish(ctx, []*Outcome{out})
		if err == nil {
			t.Fatalf("publish with %s failing succeeded", fail)
		}
		cur, m, err := Current(ctx, b, priv.Public().(ed25519.PublicKey))
		if err != nil || cur != 1 || m.Release != 1 {
			t.Fatalf("after a failure at %s the current release is %d (%v), want 1", fail, cur, err)
		}
	}
	m := mustPublish(t, publisher(b, priv), out)
	if m.Release != 3 { // release 2's manifest was written by the run that failed at models/current
		t.Fatalf("next release is %d, want 3", m.Release)
	}
}

func TestPromoteRollbackList(t *testing.T) {
	ctx := context.Background()
	priv := testKey(t)
	b := simDir(t)
	p := publisher(b, priv)
	out := mustRun(t, options(b, priv, []model.Technique{model.GaussianTechnique{}}))
	m1 := mustPublish(t, p, out)
	p.NoCurrent = true
	m2 := mustPublish(t, p, out)
	if cur, _, _ := Current(ctx, b, nil); cur != 1 {
		t.Fatalf("NoCurrent publish moved current to %d", cur)
	}
	p.NoCurrent = false
	if _, err := p.Promote(ctx, m2.Release); err != nil {
		t.Fatal(err)
	}
	if cur, _, _ := Current(ctx, b, nil); cur != 2 {
		t.Fatalf("promote 2: current is %d", cur)
	}
	if _, err := p.Promote(ctx, 9); err == nil {
		t.Fatal("promoted a release that does not exist")
	}
	m3, err := p.Rollback(ctx, m1.Release)
	if err != nil {
		t.Fatal(err)
	}
	if m3.Release != 3 || !strings.Contains(m3.Note, "1") {
		t.Fatalf("rollback made release %d %q", m3.Release, m3.Note)
	}
	cur, m, err := Current(ctx, b, priv.Public().(ed25519.PublicKey))
	if err != nil || cur != 3 {
		t.Fatalf("after rollback current = %d, %v", cur, err)
	}
	for a, e := range m1.Models {
		if m.Models[a].Key != e.Key || m.Models[a].SHA256 != e.SHA256 {
			t.Fatalf("%s: rollback entry %+v, want release 1's %+v", a, m.Models[a], e)
		}
	}
	// Tamper with a model file of release 1: rollback to it must refuse.
	var victim release.Entry
	for _, e := range m1.Models {
		victim = e
		break
	}
	if err := b.Put(ctx, victim.Key, []byte(`{"tampered":true}`), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Rollback(ctx, 1); !errors.Is(err, release.ErrHash) {
		t.Fatalf("rollback to a tampered release: %v, want ErrHash", err)
	}
	infos, err := List(ctx, b, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 || !infos[2].Current || infos[0].Err != nil {
		t.Fatalf("List = %+v", infos)
	}
	// A manifest signed by another key is reported, not trusted.
	other := testKey(t)
	mb, sig, err := release.Sign(&release.Manifest{Release: 4, Created: time.Now(), Expires: time.Now().Add(time.Hour)}, other)
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Put(ctx, release.ManifestKey(4), mb, nil)
	_ = b.Put(ctx, release.SigKey(4), sig, nil)
	infos, _ = List(ctx, b, priv.Public().(ed25519.PublicKey))
	if len(infos) != 4 || !errors.Is(infos[3].Err, release.ErrSignature) {
		t.Fatalf("a foreign-signed release is not flagged: %+v", infos[3])
	}
}

// TestTypesWithoutData: a listed type nobody cooks gets no model and a
// warning, and the run still releases the others.
func TestTypesWithoutData(t *testing.T) {
	priv := testKey(t)
	b := simDir(t)
	o := options(b, priv, []model.Technique{model.LogisticTechnique{}})
	o.Types = append(o.Types, "never-cooked")
	out := mustRun(t, o)
	found := false
	for _, r := range out.Results {
		if r.Arepa == "never-cooked" {
			found = true
			if r.Status != StatusNoData || r.Warning == "" || r.Model != nil {
				t.Fatalf("never-cooked: %+v", r)
			}
		}
	}
	if !found {
		t.Fatal("the listed type is missing from the outcome")
	}
	m := mustPublish(t, publisher(b, priv), out)
	if _, ok := m.Models["never-cooked"]; ok || len(m.Models) == 0 {
		t.Fatalf("release models: %v", m.Arepas())
	}
	// Phase 2 kitchens are not read for phase 1.
	for _, k := range out.Kitchens {
		if k == "k-002" || k == "k-004" {
			t.Fatalf("phase-2 kitchen %s trained in phase 1", k)
		}
	}
	o.Phase = 9
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "no kitchen of phase 9") {
		t.Fatalf("phase without kitchens: %v", err)
	}
}

// TestModelsLearn is a sanity check on the simulated data: the chosen model
// ranks failing machines above healthy ones on the holdout.
func TestModelsLearn(t *testing.T) {
	priv := testKey(t)
	b := simDir(t)
	out := mustRun(t, options(b, priv, nil))
	sum := 0.0
	for _, r := range out.Results {
		if r.Status != StatusNew {
			t.Fatalf("%s: %s %s", r.Arepa, r.Status, r.Warning)
		}
		if n := len(r.Card.PRCurve); n < 2 || n > MaxCurvePoints {
			t.Errorf("%s: card has %d precision-recall points, want 2..%d", r.Arepa, n, MaxCurvePoints)
		}
		for _, c := range r.Card.Candidates {
			if c.Technique == r.Card.Chosen {
				auc := c.Holdout.ROCAUC
				if math.IsNaN(auc) {
					t.Fatalf("%s: holdout ROC-AUC undefined", r.Arepa)
				}
				sum += auc
				t.Logf("%s: %s holdout %s", r.Arepa, c.Technique, fmt.Sprintf("roc_auc=%.3f pr_auc=%.3f f1=%.3f", c.Holdout.ROCAUC, c.Holdout.PRAUC, c.Holdout.F1))
			}
		}
	}
	// Tiny data (a few hundred rows per type): ask only for clearly better
	// than chance on average.
	if mean := sum / float64(len(out.Results)); mean < 0.7 {
		t.Fatalf("mean holdout ROC-AUC of the chosen models %.3f, want at least 0.7", mean)
	}
}

// TestUntrustedCurrentIgnored: when the current release does not verify with
// our key (a key rotation, or someone else's manifest), its models are not
// champions: every type gets a new, properly signed model.
func TestUntrustedCurrentIgnored(t *testing.T) {
	b := simDir(t)
	logistic := []model.Technique{model.LogisticTechnique{}}
	old := testKey(t)
	out := mustRun(t, options(b, old, logistic))
	mustPublish(t, publisher(b, old), out)
	rotated := testKey(t)
	o := options(b, rotated, logistic)
	out2 := mustRun(t, o)
	if out2.ChampionRelease != 1 {
		t.Fatalf("champion release %d, want 1", out2.ChampionRelease)
	}
	for _, r := range out2.Results {
		if r.Status != StatusNew || r.Champion != nil {
			t.Fatalf("%s: status %s champion %v; an untrusted release gave a champion", r.Arepa, r.Status, r.Champion)
		}
	}
	m := mustPublish(t, publisher(b, rotated), out2)
	if _, _, err := Current(context.Background(), b, rotated.Public().(ed25519.PublicKey)); err != nil || m.Release != 2 {
		t.Fatalf("release %d signed with the new key: %v", m.Release, err)
	}
}

// TestFaultsAreNotFailures: a machine that only ever faults gives no
// positive row under the default rule, its faults show in its features,
// and a rule that names faults (an operator's choice) labels them.
func TestFaultsAreNotFailures(t *testing.T) {
	ctx := context.Background()
	b := objstore.NewDir(t.TempDir())
	span, err := NewSpan(runDate, 30, 7, 3, 5, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range span.days {
		day, _ := time.Parse(time.DateOnly, span.Day(i))
		var recs []record.Record
		for c := range 4 {
			recs = append(recs, record.Record{Machine: "m-1", Type: record.TypeCook, TS: day.Add(time.Duration(8+c) * time.Hour),
				Seq: int64(i*10 + c), Arepa: "a", Metrics: map[string]float64{"v": 1}})
		}
		if i%3 == 0 {
			recs = append(recs, record.Record{Machine: "m-1", Type: record.TypeEvent, TS: day.Add(20 * time.Hour),
				Seq: int64(i*10 + 9), Kind: record.KindFault, Code: "DOOR_SENSOR"})
		}
		data, _, err := simulate.EncodeWindow(recs, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put(ctx, window.Key("k-1", span.Day(i)), data, nil); err != nil {
			t.Fatal(err)
		}
	}
	spec := &features.Spec{Metrics: []string{"v"}, WindowDays: 7, Set: features.Set2}
	faultCol := slices.Index(spec.Names(), features.FeatFaults)
	for _, c := range []struct {
		name string
		rule record.FailureRule
		want bool // rows positive
	}{
		{"default rule", record.FailureRule{}, false},
		{"failure kind", record.DefaultFailureRule(), false},
		{"faults named", record.FailureRule{Kinds: []string{record.KindFault}}, true},
		{"other code", record.FailureRule{Kinds: []string{record.KindFault}, Codes: []string{"HEATER_OPEN"}}, false},
	} {
		span.failure = c.rule
		rs := kitchenRowSet(t, b, span, "a", spec)
		if rs.n() == 0 {
			t.Fatalf("%s: no rows", c.name)
		}
		for i := range rs.n() {
			if rs.y[i] != c.want {
				t.Fatalf("%s: row of day %d labelled %v, want %v", c.name, rs.day[i], rs.y[i], c.want)
			}
			if x := rs.x[i*rs.dim+faultCol]; x < 2 {
				t.Fatalf("%s: row of day %d counts %v faults in its window, want 2 or 3 (faults are inputs)", c.name, rs.day[i], x)
			}
		}
	}
}

// kitchenRowSet reads kitchen k-1's rows of type a laid out under spec.
func kitchenRowSet(t *testing.T, b Bucket, span *Span, a string, spec *features.Spec) *rowSet {
	t.Helper()
	out, err := kitchenRows(context.Background(), b, Kitchen{Name: "k-1", Loc: time.UTC}, span, map[string]bool{a: true}, nil, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var parts []*typeRows
	if r := out.rows[a]; r != nil {
		parts = append(parts, r)
	}
	rs, err := buildRowSet(parts, spec, nil, span)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
