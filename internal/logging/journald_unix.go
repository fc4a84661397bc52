//go:build unix

package logging

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// UnderJournald reports whether w is the stream systemd connected to journald.
// systemd sets JOURNAL_STREAM to "<device>:<inode>" of that stream; a child
// process inherits the variable even when its stderr goes elsewhere, so the
// stream itself is compared, as systemd.exec(5) advises.
func UnderJournald(journalStream string, w io.Writer) bool {
	if journalStream == "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	var dev, ino uint64
	if n, err := fmt.Sscanf(journalStream, "%d:%d", &dev, &ino); n != 2 || err != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}
