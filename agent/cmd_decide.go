package main

import (
	"context"
	"errors"
	"io"
)

// cmdDecide is not built yet; its owner replaces this file.
func cmdDecide(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
