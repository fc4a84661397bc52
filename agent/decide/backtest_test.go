package decide

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/central/backtest"
	"github.com/budare/budare/central/config"
	"github.com/budare/budare/central/simulate"
	"github.com/budare/budare/central/train"
	"github.com/budare/budare/internal/action"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/record"
	"github.com/budare/budare/internal/release"
)

// TestBacktestDecidesAsTheAgent drives both: the central backtest replays a
// few mornings of a small simulated chain, and the agent's Decider decides
// the same mornings from its own bbolt store holding the same records, with
// the backtest's release. Every action must be the same, field for field:
// what the backtest scores is what the displays would have shown.
func TestBacktestDecidesAsTheAgent(t *testing.T) {
	ctx := context.Background()
	dir := objstore.NewDir(t.TempDir())
	truth, err := simulate.Write(ctx, simulate.Config{Seed: 7, Kitchens: 2, Machines: 6, Types: 3, Days: 52, End: "2026-11-20", Phases: 1, MeanDaysBetweenFailures: 12}, dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	type morning struct {
		day    action.Day
		models map[string]*model.Model
		levels *release.Levels
	}
	var got []morning
	res, err := backtest.Run(ctx, backtest.Options{Bucket: dir, From: "2026-11-14", To: "2026-11-17", Phase: 1,
		Types: truth.Types, Train: cfg.Train,
		OnDay: func(d action.Day, models map[string]*model.Model, levels *release.Levels) error {
			got = append(got, morning{d, models, levels})
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Releases) == 0 || len(got) != 2*4 {
		t.Fatalf("backtest made %d releases and %d kitchen-days, want 1+ and 8", len(res.Releases), len(got))
	}
	decided := 0
	for _, k := range truth.Kitchens {
		loc, err := time.LoadLocation(k.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		st := decidetest.OpenStore(t, t.TempDir(), loc)
		// The agent's store holds what the kitchen's agent would have
		// ingested before the last morning replayed.
		var b store.Batch
		for d := 20; d >= 1; d-- {
			day := time.Date(2026, 11, 17-d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			if _, _, err := train.ReadWindow(ctx, dir, k.Name, day, func(r *record.Record) { b.Records = append(b.Records, *r) }); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Commit(&b); err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if m.day.Kitchen != k.Name {
				continue
			}
			rel := &modelsync.Release{Number: m.day.ModelRelease, Manifest: &release.Manifest{Levels: m.levels}, Models: m.models}
			dc := &Decider{Kitchen: k.Name, Location: loc, Records: st, Models: func() *modelsync.Release { return rel }, SeenDays: 14}
			agent, err := dc.Decide(ctx, m.day.Date, m.day.DecidedAt)
			if err != nil {
				t.Fatal(err)
			}
			if len(agent.Actions) != len(m.day.Actions) || len(agent.Actions) == 0 {
				t.Fatalf("%s %s: agent decided %d machines, backtest %d", k.Name, m.day.Date, len(agent.Actions), len(m.day.Actions))
			}
			for i, a := range agent.Actions {
				if !reflect.DeepEqual(a, m.day.Actions[i]) {
					t.Fatalf("%s %s: the agent's action\n%+v\ndiffers from the backtest's\n%+v", k.Name, m.day.Date, a, m.day.Actions[i])
				}
				if a.Level != action.LevelUnknown {
					decided++
				}
			}
		}
	}
	if decided == 0 {
		t.Fatal("every action was unknown: the comparison proves nothing")
	}
}
