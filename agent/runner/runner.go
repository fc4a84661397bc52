// Package runner runs the agent's long-lived services (ingest, the HTTP
// endpoint, upload, model sync, decisions...) side by side until the
// context ends or one of them fails, then stops them all.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Service is one long-running part of the agent. Run must return when ctx
// ends: nil (or ctx's error) for a clean stop, an error when it cannot go on.
// A service that fails stops the whole agent (systemd restarts it), so a
// service should retry what can heal by itself (network, object store) and
// fail only on what cannot.
type Service struct {
	Name string
	Run  func(ctx context.Context) error
}

// Run starts every service and waits for all of them. The first one to fail
// cancels the others; its error is returned. When ctx ends every service is
// asked to stop and Run returns nil once all have stopped cleanly.
func Run(ctx context.Context, log *slog.Logger, services ...Service) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Run(ctx)
			if err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil {
				err = nil // stopped because asked to
			}
			if err == nil && ctx.Err() == nil {
				log.Debug("service finished", "service", s.Name)
				return
			}
			if err != nil {
				log.Error("service failed; stopping the agent", "service", s.Name, "err", err)
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("%s: %w", s.Name, err)
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	return first
}
