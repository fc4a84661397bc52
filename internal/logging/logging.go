// Package logging sets up log/slog the same way for both budare binaries:
// text on stderr by default (journald captures it under systemd), JSON with
// --log-format json, and under journald no timestamp of our own (journald
// stamps every line) and each line's syslog priority as an sd-daemon "<N>"
// prefix.
package logging

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Formats a logger can write.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Options are the logging flags every long-running command takes.
type Options struct {
	Format string
	Level  slog.Level
}

// Register adds --log-format and --log-level to fs, defaulting to text at
// info level.
func (o *Options) Register(fs *flag.FlagSet) {
	o.Format = FormatText
	fs.Var((*formatFlag)(&o.Format), "log-format", "log format: text or json")
	fs.TextVar(&o.Level, "log-level", slog.LevelInfo, "lowest level logged: debug, info, warn or error")
}

// New returns a logger writing to w. When w is the stream journald reads
// (JOURNAL_STREAM names it), the time attribute is left out because journald
// records its own, more precise, timestamp for every line.
func (o Options) New(w io.Writer) (*slog.Logger, error) {
	return o.newLogger(w, UnderJournald(os.Getenv("JOURNAL_STREAM"), w))
}

func (o Options) newLogger(w io.Writer, journald bool) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: o.Level}
	var pw *priorityWriter
	if journald {
		opts.ReplaceAttr = dropTime
		// Each line carries its priority, so errors reach `journalctl -p err`.
		pw = &priorityWriter{w: w}
		w = pw
	}
	var h slog.Handler
	switch o.Format {
	case FormatText, "":
		h = slog.NewTextHandler(w, opts)
	case FormatJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("logging: unknown log format %q (want text or json)", o.Format)
	}
	if pw != nil {
		h = &priorityHandler{inner: h, pw: pw}
	}
	return slog.New(h), nil
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

type formatFlag string

func (f *formatFlag) String() string { return string(*f) }

func (f *formatFlag) Set(s string) error {
	switch s {
	case FormatText, FormatJSON:
		*f = formatFlag(s)
		return nil
	}
	return errors.New("want text or json")
}
