package main

import (
	"context"
	"errors"
	"io"
)

// cmdServe is not built yet; its owner replaces this file.
func cmdServe(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
