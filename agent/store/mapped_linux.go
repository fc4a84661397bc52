//go:build linux

package store

import (
	"fmt"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// ReleaseMapped drops the process's page-table references to the store's
// memory-mapped file. bbolt reads through a read-only shared mapping, and
// every page it ever touched stays counted in the agent's resident set
// (RssFile) until the next remap: an ingest stream that appends to every
// machine's newest leaf touches the whole file over time. The pages stay in
// the kernel's page cache, so a later read faults them back cheaply; only the
// agent's RSS shrinks. Done inside a read transaction, which holds bbolt's
// mmap lock, so the mapping cannot move underneath.
func (s *Store) ReleaseMapped() error {
	return s.db.View(func(tx *bolt.Tx) error {
		info := tx.DB().Info()
		size := uintptr(tx.Size())
		if size == 0 {
			return nil
		}
		// uintptr arguments: no unsafe.Pointer conversion needed.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, info.Data, size, syscall.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("madvise store mapping: %w", errno)
		}
		return nil
	})
}
