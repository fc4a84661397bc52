package simulate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/budare/budare/internal/mqttpub"
	"github.com/budare/budare/internal/record"
)

// PublishStats counts what Publish sent.
type PublishStats struct {
	Days     int `json:"days"`
	Messages int `json:"messages"`
}

// Publish simulates as Generate does and publishes one kitchen's records of
// its last `days` days to an MQTT broker as the machines would (QoS 1, v1
// payloads), so a real agent can ingest a simulated kitchen. The other
// kitchens are simulated too, so the kitchen's data equals what Write puts
// in its windows for the same config.
//
// speed > 0 replays the last day as live machines would, speed times faster
// than real time (1440: a day a minute), after the days before it went out
// at once, as a gateway's backlog does; 0 publishes everything at once.
func Publish(ctx context.Context, cfg Config, broker, kitchen string, days int, speed float64) (PublishStats, error) {
	var st PublishStats
	if err := cfg.fill(); err != nil {
		return st, err
	}
	if days <= 0 || days > cfg.Days {
		days = cfg.Days
	}
	pub, err := mqttpub.NewPublisher(ctx, broker, "budare-simulate-"+kitchen, 500)
	if err != nil {
		return st, err
	}
	defer pub.Close()
	dayIndex, found := 0, false
	var pace pacer
	_, err = Generate(ctx, cfg, func(k Kitchen, day string, recs []record.Record) error {
		if k.Name != kitchen {
			return nil
		}
		found = true
		dayIndex++
		if dayIndex <= cfg.Days-days {
			return nil
		}
		// Machines publish in time order, interleaved.
		recs = slices.Clone(recs)
		slices.SortStableFunc(recs, func(a, b record.Record) int { return a.TS.Compare(b.TS) })
		msgs := make([]mqttpub.Msg, 0, len(recs))
		for _, r := range recs {
			p, err := record.Payload(r)
			if err != nil {
				return err
			}
			msgs = append(msgs, mqttpub.Msg{Topic: record.Topic(kitchen, r), Payload: p, Machine: r.Machine, Seq: r.Seq})
		}
		live := 0.0
		if dayIndex == cfg.Days {
			live = speed
		}
		if err := publishPaced(ctx, pub, msgs, recs, live, &pace); err != nil {
			return err
		}
		st.Days++
		st.Messages += len(msgs)
		return nil
	})
	if err != nil {
		return st, err
	}
	if !found {
		return st, fmt.Errorf("simulate: no kitchen %q among the %d simulated (k-001..k-%03d)", kitchen, cfg.Kitchens, cfg.Kitchens)
	}
	return st, nil
}

// pacer maps simulated time to wall time: the first record published is
// the origin.
type pacer struct {
	sim, wall time.Time
}

// publishPaced publishes msgs (recs are their records, in the same order)
// at once for speed 0, else in slices of at most paceStep of simulated
// time, each when its wall time comes.
func publishPaced(ctx context.Context, pub *mqttpub.Publisher, msgs []mqttpub.Msg, recs []record.Record, speed float64, p *pacer) error {
	if speed <= 0 || len(msgs) == 0 {
		return pub.Publish(ctx, msgs)
	}
	if p.sim.IsZero() {
		p.sim, p.wall = recs[0].TS, time.Now()
	}
	const paceStep = 100 * time.Millisecond // of wall time
	for i := 0; i < len(msgs); {
		// Everything due within the next step goes in one batch.
		due := p.wall.Add(time.Duration(float64(recs[i].TS.Sub(p.sim)) / speed))
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		limit := p.sim.Add(time.Duration(float64(time.Since(p.wall)+paceStep) * speed))
		j := i + 1
		for j < len(msgs) && !recs[j].TS.After(limit) {
			j++
		}
		if err := pub.Publish(ctx, msgs[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}
