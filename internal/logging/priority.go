package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Syslog priorities journald files lines under (sd-daemon(3)): a line
// written to the journal stream that starts with "<N>" gets priority N, so
// `journalctl -p err` shows the errors and only them.
const (
	prioErr     = 3
	prioWarning = 4
	prioInfo    = 6
	prioDebug   = 7
)

// Priority maps a slog level to its syslog priority.
func Priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return prioErr
	case l >= slog.LevelWarn:
		return prioWarning
	case l >= slog.LevelInfo:
		return prioInfo
	default:
		return prioDebug
	}
}

// prefix is "<N>" for priority N.
func prefix(p int) []byte { return []byte{'<', byte('0' + p), '>'} }

// priorityWriter puts the current record's priority before each line the
// inner handler writes. slog's handlers write a record in one Write.
type priorityWriter struct {
	mu   sync.Mutex // held from setting prio to the record's Write
	w    io.Writer
	prio int
	buf  []byte
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	p.buf = append(append(p.buf[:0], prefix(p.prio)...), b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// priorityHandler prefixes every record with its syslog priority.
type priorityHandler struct {
	inner slog.Handler
	pw    *priorityWriter
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.pw.mu.Lock()
	defer h.pw.mu.Unlock()
	h.pw.prio = Priority(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &priorityHandler{inner: h.inner.WithAttrs(as), pw: h.pw}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{inner: h.inner.WithGroup(name), pw: h.pw}
}

// FailurePrefix is what a program puts before its last line on w when it
// fails (the one line naming the cause): "<3>" on the journal stream, so
// the reason a unit failed is found with `journalctl -p err`, else "".
func FailurePrefix(w io.Writer) string {
	if UnderJournald(os.Getenv("JOURNAL_STREAM"), w) {
		return string(prefix(prioErr))
	}
	return ""
}
