package main

import (
	"context"
	"errors"
	"io"
)

// cmdSimulate is not built yet; its owner replaces this file.
func cmdSimulate(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
