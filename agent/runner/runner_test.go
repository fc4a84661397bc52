package runner

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestRunStopsAllWhenOneFails(t *testing.T) {
	stopped := make(chan string, 2)
	boom := errors.New("boom")
	err := Run(context.Background(), slog.New(slog.DiscardHandler),
		Service{Name: "long", Run: func(ctx context.Context) error { <-ctx.Done(); stopped <- "long"; return ctx.Err() }},
		Service{Name: "oneshot", Run: func(context.Context) error { return nil }},
		Service{Name: "bad", Run: func(context.Context) error { time.Sleep(10 * time.Millisecond); return boom }},
	)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the failing service's error", err)
	}
	if got := <-stopped; got != "long" {
		t.Errorf("long service not stopped")
	}
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	err := Run(ctx, slog.New(slog.DiscardHandler),
		Service{Name: "a", Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		Service{Name: "b", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }},
	)
	if err != nil {
		t.Fatalf("Run = %v, want nil on a requested stop", err)
	}
}
