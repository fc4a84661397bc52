package main

import (
	"context"
	"errors"
	"io"
)

// cmdTrain is not built yet; its owner replaces this file.
func cmdTrain(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}

// cmdAssemble is not built yet; its owner replaces this file.
func cmdAssemble(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}

// cmdKeygen is not built yet; its owner replaces this file.
func cmdKeygen(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}

// cmdReleases is not built yet; its owner replaces this file.
func cmdReleases(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}

// cmdPromote is not built yet; its owner replaces this file.
func cmdPromote(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}

// cmdRollback is not built yet; its owner replaces this file.
func cmdRollback(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not implemented yet")
}
