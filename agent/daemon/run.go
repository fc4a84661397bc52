package daemon

import (
	"context"

	"github.com/budare/budare/agent/runner"
)

// Run runs the agent's services side by side — ingest, systemd readiness
// and watchdog, the HTTP endpoint, model sync, the morning service, upload —
// until ctx ends or one of them fails, then closes the agent.
func (a *Agent) Run(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	log.Info("budare-agent starting", "version", a.opt.Version, "kitchen", cfg.Kitchen, "store", cfg.StorePath(),
		"broker", cfg.MQTT.Broker, "listen", cfg.Listen)
	err := runner.Run(ctx, log, append(a.httpService(), a.services...)...)
	if cerr := a.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		log.Info("budare-agent stopped cleanly")
	}
	return err
}
