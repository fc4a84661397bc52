package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/ingest"
	"github.com/budare/budare/agent/runner"
)

// wireIngest prepares the ingester and its persistent MQTT session, and
// the systemd readiness and watchdog that follow ingest's progress.
func (a *Agent) wireIngest() error {
	cfg := a.cfg
	met, err := ingest.NewMetrics(a.registry)
	if err != nil {
		return fmt.Errorf("ingest metrics: %w", err)
	}
	a.ingester = ingest.New(a.store, ingest.Options{
		Kitchen: cfg.Kitchen, BatchMax: cfg.MQTT.BatchMax, BatchWait: cfg.MQTT.BatchWait.Duration,
		Log: a.log, Health: a.health, Metrics: met,
	})
	pw, tc, err := mqttCredentials(cfg)
	if err != nil {
		return err
	}
	// No last will here: the morning service's connection holds the agent's
	// status and will, so two connections never disagree on it.
	a.ingestMQ, err = ingest.NewClient(ingest.ClientOptions{
		Broker: cfg.MQTT.Broker, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username, Password: pw,
		TLS: tc, Kitchen: cfg.Kitchen, Log: a.log, Health: a.health, Metrics: met,
	}, a.ingester.Handle)
	if err != nil {
		return err
	}
	a.services = append(a.services,
		runner.Service{Name: "ingest", Run: a.runIngest},
		runner.Service{Name: "systemd", Run: a.runSystemd})
	return nil
}

// runIngest connects to the broker and commits what arrives until ctx ends;
// then it commits and acknowledges the batch in hand and disconnects.
func (a *Agent) runIngest(ctx context.Context) error {
	a.ingestMQ.Start()
	err := a.ingester.Run(ctx)
	// The acknowledgements of the last batch are queued ahead of DISCONNECT.
	a.ingestMQ.Close(500 * time.Millisecond)
	return err
}

// aliveWithin is how recently the ingest loop must have turned for the
// systemd watchdog to be fed. A loop retrying a failing commit still turns;
// only a hang (e.g. a write stuck on a dead disk) stops the pings.
const aliveWithin = 20 * time.Second

func (a *Agent) runSystemd(ctx context.Context) error {
	t := time.NewTimer(a.opt.ReadyGrace)
	defer t.Stop()
	select {
	case <-a.ingestMQ.Connected():
		_ = a.notifier.Status("ingesting from " + a.cfg.MQTT.Broker)
	case <-t.C:
		a.log.Warn("broker not reachable yet; reporting ready anyway and retrying", "broker", a.cfg.MQTT.Broker)
		_ = a.notifier.Status("waiting for the kitchen broker " + a.cfg.MQTT.Broker)
	case <-ctx.Done():
		return nil
	}
	if err := a.notifier.Ready(); err != nil {
		a.log.Warn("systemd readiness notification failed", "err", err)
	}
	err := a.notifier.RunWatchdog(ctx, func() bool { return a.ingester.Alive(aliveWithin) })
	if err != nil {
		a.log.Warn("systemd watchdog ping failed", "err", err)
	}
	<-ctx.Done()
	_ = a.notifier.Stopping()
	return nil
}

// mqttCredentials reads what every MQTT connection of the agent presents to
// the broker (ingest, the morning's publisher, the actions command): the
// password of mqtt.password_file and the TLS configuration of the [mqtt]
// files, one CA rule for all.
func mqttCredentials(cfg *config.Config) (password string, tc *tls.Config, err error) {
	if password, err = cfg.MQTTPassword(); err != nil {
		return "", nil, fmt.Errorf("mqtt.password_file: %w", err)
	}
	if tc, err = cfg.MQTTTLS(); err != nil {
		return "", nil, err
	}
	return password, tc, nil
}
