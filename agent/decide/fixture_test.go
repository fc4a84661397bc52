package decide

import (
	"testing"
	"time"

	"github.com/budare/budare/agent/decide/decidetest"
	"github.com/budare/budare/agent/modelsync"
	"github.com/budare/budare/agent/store"
)

// machineSpec describes one synthetic machine's cooking (decidetest.Machine).
type machineSpec struct {
	name  string
	arepa string
	days  int     // days of cooking before the decided day (most recent first)
	trend float64 // vibration_mm_s added per day
	skip  int     // leave out the most recent skip days
	cooks int     // cooks per day (default 20)
}

// fill writes the machines' cook records for the days before day (local).
func fill(t testing.TB, st *store.Store, loc *time.Location, day string, ms ...machineSpec) {
	t.Helper()
	out := make([]decidetest.Machine, len(ms))
	for i, m := range ms {
		out[i] = decidetest.Machine{Name: m.name, Arepa: m.arepa, Days: m.days, Trend: m.trend, Skip: m.skip, Cooks: m.cooks}
	}
	decidetest.Fill(t, st, loc, day, out...)
}

func openStore(t testing.TB, dir string, loc *time.Location) *store.Store {
	t.Helper()
	return decidetest.OpenStore(t, dir, loc)
}

func memRelease(t testing.TB, dir string, st *store.Store, arepas ...string) *modelsync.Release {
	t.Helper()
	return decidetest.Release(t, dir, st, arepas...)
}
