package main

import (
	"context"
	"fmt"
	"io"
)

// cmdRollback publishes a new release pointing at an older release's models:
//
//	budare-central rollback --config FILE N
func cmdRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	n, p, err := releaseCommand(ctx, "rollback", "to", "release whose models to go back to (or give it as the argument)", args, stderr)
	if err != nil {
		return err
	}
	m, err := p.Rollback(ctx, n)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "release %d published and current: the models of release %d\n", m.Release, n)
	return err
}
