//go:build !linux

package store

// ReleaseMapped is a no-op where the agent does not measure its RSS.
func (s *Store) ReleaseMapped() error { return nil }
