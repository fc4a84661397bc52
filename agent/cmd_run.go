package main

import (
	"context"
	"errors"
	"io"
)

// cmdRun is not built yet; its owner replaces this file.
func cmdRun(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}

// cmdCheckConfig is not built yet; its owner replaces this file.
func cmdCheckConfig(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
