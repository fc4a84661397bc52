// Package decidetest writes synthetic kitchens for the decision's tests and
// benchmarks (Fill, OpenStore, Release; Kitchen for the benchmark:
// an agent config, a release public key, a local store with machines'
// cooking over the last days, and an installed signed model release).
package decidetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/budare/budare/agent/modelsync"
	mst "github.com/budare/budare/agent/modelsync/modelsynctest"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/record"
)

var arepas = []string{"reina-pepiada", "domino", "pabellon", "catira", "pelua", "sifrina"}

// Kitchen writes the benchmark kitchen into dir: agent.toml, release.pub,
// data/agent.db and data/models (release 1 installed).
func Kitchen(dir string, machines, days, cooks, types int, date, tz string) error {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	keyFile := filepath.Join(dir, "release.pub")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`kitchen = "k-bench"
data_dir = %q
timezone = %q
listen = ""

[mqtt]
broker = "tcp://127.0.0.1:1"

[models]
release_public_key_file = %q

[decision]
start_of_day = "05:30"
`, data, tz, keyFile)
	if err := os.WriteFile(filepath.Join(dir, "agent.toml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(data, "agent.db"), store.Options{Location: loc})
	if err != nil {
		return err
	}
	defer st.Close()
	d0, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil {
		return err
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	types = min(types, len(arepas))
	for m := range machines {
		name := fmt.Sprintf("m-%03d", m+1)
		trend := 0.0
		if m%10 == 0 {
			trend = 0.05 + 0.3*rng.Float64() // a tenth of the machines degrade
		}
		var b store.Batch
		seq := int64(0)
		for back := days; back >= 1; back-- {
			start := time.Date(d0.Year(), d0.Month(), d0.Day()-back, 7, 0, 0, 0, loc)
			x := float64(days - back)
			for c := range cooks {
				seq++
				ts := start.Add(time.Duration(c) * 12 * time.Hour / time.Duration(cooks)).UTC()
				b.Records = append(b.Records, record.Record{Machine: name, Type: record.TypeCook, TS: ts, Seq: seq,
					Arepa: arepas[(m+c)%types], Metrics: map[string]float64{
						"plate_temp_c":    230 + 3*rng.NormFloat64(),
						"cook_time_s":     400 + 20*rng.NormFloat64(),
						"energy_wh":       38 + rng.NormFloat64(),
						"motor_current_a": 2.1 + 0.1*rng.NormFloat64(),
						"vibration_mm_s":  math.Max(0, 1.4+trend*x+0.1*rng.NormFloat64()),
						"door_cycles":     float64(2 + rng.IntN(2)),
					}})
			}
			if rng.IntN(20) == 0 {
				seq++
				b.Records = append(b.Records, record.Record{Machine: name, Type: record.TypeEvent,
					TS: start.Add(3 * time.Hour).UTC(), Seq: seq, Kind: record.KindFault, Code: "TEMP_DRIFT"})
			}
		}
		if _, err := st.Commit(&b); err != nil {
			return err
		}
	}
	src := &mst.Mem{}
	ms := map[string]*model.Model{}
	for _, a := range arepas[:types] {
		ms[a] = mst.Model(a, 0)
	}
	if _, err := mst.Publish(context.Background(), src.Put, mst.Options{Release: 1, Models: ms, Key: priv}); err != nil {
		return err
	}
	s, err := modelsync.New(modelsync.Options{Dir: filepath.Join(data, "models"), PublicKey: pub, Source: src, State: st})
	if err != nil {
		return err
	}
	if _, err := s.Sync(context.Background()); err != nil {
		return err
	}
	return nil
}
