// Package progress shows how far long work is (windows or days read, the
// rate, the time left) on a terminal, and stays silent when the output is
// a log (a file, a pipe, journald): there progress lines would be noise.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar is one piece of long work. A nil *Bar is valid and shows nothing, so
// callers need no checks: ForTerminal returns nil off a terminal.
type Bar struct {
	w     io.Writer
	label string
	unit  string
	now   func() time.Time
	every time.Duration

	mu    sync.Mutex
	total int
	done  int
	start time.Time
	last  time.Time
}

// Options tune New.
type Options struct {
	Now   func() time.Time // default time.Now
	Every time.Duration    // least time between two lines; default 200ms
}

// New shows progress on w whatever w is (tests; ForTerminal for programs).
// label says what is being done ("reading windows"), unit what is counted
// ("windows").
func New(w io.Writer, label, unit string, o Options) *Bar {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Every <= 0 {
		o.Every = 200 * time.Millisecond
	}
	return &Bar{w: w, label: label, unit: unit, now: o.Now, every: o.Every, start: o.Now()}
}

// ForTerminal is New when w is a terminal, else nil (nothing is shown).
func ForTerminal(w io.Writer, label, unit string) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	return New(w, label, unit, Options{})
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SetTotal sets how many units the work has (0: unknown).
func (b *Bar) SetTotal(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.total = n
	b.mu.Unlock()
}

// Add counts n more units done; safe from several goroutines. A line is
// printed at most every Options.Every.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if now := b.now(); now.Sub(b.last) >= b.every {
		b.last = now
		b.print(now, "\r")
	}
}

// Done prints the final line and ends it.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.print(b.now(), "\r")
	fmt.Fprintln(b.w)
}

// print writes the line: "reading windows: 120/480 windows (25%), 35.2 windows/s, 10s left".
func (b *Bar) print(now time.Time, prefix string) {
	el := now.Sub(b.start)
	line := fmt.Sprintf("%s: %d", b.label, b.done)
	if b.total > 0 {
		line += fmt.Sprintf("/%d %s (%d%%)", b.total, b.unit, 100*b.done/b.total)
	} else {
		line += " " + b.unit
	}
	if el > 0 && b.done > 0 {
		rate := float64(b.done) / el.Seconds()
		line += fmt.Sprintf(", %.1f %s/s", rate, b.unit)
		if b.total > b.done {
			left := time.Duration(float64(b.total-b.done) / rate * float64(time.Second))
			line += fmt.Sprintf(", %s left", left.Round(time.Second))
		}
	}
	// Clear the rest of the previous, possibly longer, line.
	fmt.Fprintf(b.w, "%s%s\x1b[K", prefix, line)
}
