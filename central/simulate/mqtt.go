package simulate

import (
	"context"
	"fmt"
	"slices"

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
func Publish(ctx context.Context, cfg Config, broker, kitchen string, days int) (PublishStats, error) {
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
		if err := pub.Publish(ctx, msgs); err != nil {
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
