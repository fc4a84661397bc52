package decidetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/record"
)

// Machine describes one synthetic machine's cooking, for Fill.
type Machine struct {
	Name  string
	Arepa string
	Days  int     // days of cooking before the decided day (most recent first)
	Trend float64 // vibration_mm_s added per day
	Skip  int     // leave out the most recent Skip days
	Cooks int     // cooks per day (default 20)
}

// Fill writes the machines' cook records for the days before day (local),
// at hours spread over the local day.
func Fill(t testing.TB, st *store.Store, loc *time.Location, day string, ms ...Machine) {
	t.Helper()
	var b store.Batch
	for _, m := range ms {
		cooks := m.Cooks
		if cooks == 0 {
			cooks = 20
		}
		seq := int64(0)
		for back := m.Days; back >= 1+m.Skip; back-- {
			start, err := record.DayStart(day, -back, loc)
			if err != nil {
				t.Fatal(err)
			}
			dayIdx := float64(m.Days - back)
			for c := range cooks {
				ts := start.Add(6*time.Hour + time.Duration(c)*20*time.Minute).UTC()
				seq++
				b.Records = append(b.Records, record.Record{Machine: m.Name, Type: record.TypeCook, TS: ts, Seq: seq,
					Arepa: m.Arepa, Metrics: map[string]float64{
						"plate_temp_c":    230 + float64(c%3),
						"vibration_mm_s":  1.4 + m.Trend*dayIdx + 0.01*float64(c%2),
						"motor_current_a": 2.1,
					}})
			}
		}
	}
	if _, err := st.Commit(&b); err != nil {
		t.Fatal(err)
	}
}

// Location loads a time zone or fails the test.
func Location(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// OpenStore opens a store in dir, closed when the test ends.
func OpenStore(t testing.TB, dir string, loc *time.Location) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Release returns a verified release of the fixture models of arepas,
// installed under dir through a real Syncer from an in-memory central store.
func Release(t testing.TB, dir string, st *store.Store, arepas ...string) *modelsync.Release {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	src := &mst.Mem{}
	ms := map[string]*model.Model{}
	for _, a := range arepas {
		ms[a] = mst.Model(a, 0)
	}
	if _, err := mst.Publish(context.Background(), src.Put, mst.Options{Release: 9, Models: ms, Key: priv}); err != nil {
		t.Fatal(err)
	}
	s, err := modelsync.New(modelsync.Options{Dir: filepath.Join(dir, "models"), PublicKey: pub, Source: src, State: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.Current()
}
