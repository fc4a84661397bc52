package progress

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBarLines(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	b := New(&buf, "reading windows", "windows", Options{Now: c.now, Every: time.Second})
	b.SetTotal(400)
	c.t = c.t.Add(10 * time.Second)
	b.Add(100)
	b.Add(1) // within Every of the last line: nothing printed
	c.t = c.t.Add(10 * time.Second)
	b.Add(99)
	c.t = c.t.Add(20 * time.Second)
	b.Add(200)
	b.Done()
	lines := strings.Split(buf.String(), "\r")[1:]
	want := []string{
		"reading windows: 100/400 windows (25%), 10.0 windows/s, 30s left\x1b[K",
		"reading windows: 200/400 windows (50%), 10.0 windows/s, 20s left\x1b[K",
		"reading windows: 400/400 windows (100%), 10.0 windows/s\x1b[K",
		"reading windows: 400/400 windows (100%), 10.0 windows/s\x1b[K\n",
	}
	if len(lines) != len(want) {
		t.Fatalf("printed %q, want %d lines", buf.String(), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}

func TestUnknownTotal(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	b := New(&buf, "simulating", "days", Options{Now: c.now})
	c.t = c.t.Add(2 * time.Second)
	b.Add(5)
	if got := buf.String(); got != "\rsimulating: 5 days, 2.5 days/s\x1b[K" {
		t.Fatalf("printed %q", got)
	}
}

// Off a terminal (a log file, a pipe, a buffer) nothing is shown, and the
// nil Bar ForTerminal returns takes every call.
func TestQuietOffTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []io.Writer{f, &bytes.Buffer{}} {
		b := ForTerminal(w, "reading", "windows")
		if b != nil {
			t.Fatalf("%T: a Bar off a terminal", w)
		}
		b.SetTotal(3)
		b.Add(1)
		b.Done()
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Fatalf("%d bytes written to a log file", st.Size())
	}
}
