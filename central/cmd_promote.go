package main

import (
	"context"
	"fmt"
	"io"

	"github.com/budare/budare/central/train"
)

// cmdPromote makes an existing, valid release current:
//
//	budare-central promote --config FILE N
func cmdPromote(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	n, p, err := releaseCommand(ctx, "promote", "release", "release to make current (or give it as the argument)", args, stderr)
	if err != nil {
		return err
	}
	cur, _, err := train.Current(ctx, p.Bucket, nil)
	if err != nil {
		return err
	}
	if cur > n {
		p.Log.Warn("promoting a lower release: agents that accepted a higher one keep it; use rollback to make them go back",
			"current", cur, "release", n)
	}
	if _, err := p.Promote(ctx, n); err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "release %d is current\n", n)
	return err
}
