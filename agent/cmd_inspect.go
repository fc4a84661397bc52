package main

import (
	"context"
	"errors"
	"io"
)

// cmdInspect is not built yet; its owner replaces this file.
func cmdInspect(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
