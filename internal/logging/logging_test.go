package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantFormat string
		wantLevel  slog.Level
		wantErr    bool
	}{
		{nil, FormatText, slog.LevelInfo, false},
		{[]string{"--log-format", "json"}, FormatJSON, slog.LevelInfo, false},
		{[]string{"-log-format=text", "--log-level=debug"}, FormatText, slog.LevelDebug, false},
		{[]string{"--log-level", "WARN"}, FormatText, slog.LevelWarn, false},
		{[]string{"--log-level", "error"}, FormatText, slog.LevelError, false},
		{[]string{"--log-format", "xml"}, "", 0, true},
		{[]string{"--log-level", "loud"}, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var o Options
			o.Register(fs)
			err := fs.Parse(tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) accepted it", tc.args)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Format != tc.wantFormat || o.Level != tc.wantLevel {
				t.Errorf("got format %q level %v, want %q %v", o.Format, o.Level, tc.wantFormat, tc.wantLevel)
			}
		})
	}
}

func TestOutput(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		journald bool
		wantTime bool
		json     bool
	}{
		{"text", Options{Format: FormatText}, false, true, false},
		{"text under journald", Options{Format: FormatText}, true, false, false},
		{"json", Options{Format: FormatJSON}, false, true, true},
		{"json under journald", Options{Format: FormatJSON}, true, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := tc.opts.newLogger(&buf, tc.journald)
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("hidden")
			// A nested "time" key is the caller's data and must survive.
			log.Info("stored batch", "n", 42, slog.Group("g", "time", "kept"))
			line := strings.TrimSpace(buf.String())
			if tc.journald {
				var ok bool
				if line, ok = strings.CutPrefix(line, "<6>"); !ok {
					t.Fatalf("under journald an info line must start with <6>: %q", line)
				}
			}
			if strings.Contains(line, "hidden") {
				t.Errorf("debug line logged at info level: %s", line)
			}
			if strings.Count(line, "\n") != 0 {
				t.Fatalf("want one line, got %q", line)
			}
			var hasTime bool
			if tc.json {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %q: %v", line, err)
				}
				_, hasTime = m["time"]
				if m["msg"] != "stored batch" || m["n"] != float64(42) {
					t.Errorf("fields missing: %v", m)
				}
				if g, _ := m["g"].(map[string]any); g["time"] != "kept" {
					t.Errorf("nested time dropped: %v", m)
				}
			} else {
				hasTime = strings.HasPrefix(line, "time=")
				if !strings.Contains(line, `msg="stored batch" n=42`) || !strings.Contains(line, "g.time=kept") {
					t.Errorf("fields missing: %q", line)
				}
			}
			if hasTime != tc.wantTime {
				t.Errorf("time attribute present = %v, want %v: %q", hasTime, tc.wantTime, line)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := (Options{Format: "yaml"}).New(io.Discard); err == nil {
		t.Fatal("New accepted format yaml")
	}
}

func TestUnderJournald(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	match := fmt.Sprintf("%d:%d", uint64(st.Dev), st.Ino)
	other := fmt.Sprintf("%d:%d", uint64(st.Dev), st.Ino+1)
	tests := []struct {
		name, env string
		w         io.Writer
		want      bool
	}{
		{"unset", "", f, false},
		{"this stream", match, f, true},
		{"inherited, stream redirected", other, f, false},
		{"garbage", "journal", f, false},
		{"not a file", match, &bytes.Buffer{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnderJournald(tc.env, tc.w); got != tc.want {
				t.Errorf("UnderJournald(%q) = %v, want %v", tc.env, got, tc.want)
			}
		})
	}
	// End to end through Options.New: the journald stream gets no time.
	t.Setenv("JOURNAL_STREAM", match)
	log, err := Options{Format: FormatText}.New(f)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	if got := FailurePrefix(f); got != "<3>" {
		t.Errorf("FailurePrefix on the journal stream = %q, want <3>", got)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "time=") || !strings.HasPrefix(string(b), "<6>level=INFO msg=hello") {
		t.Errorf("under journald: %q", b)
	}
}

func TestJournaldPriorities(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug, "<7>"},
		{slog.LevelInfo, "<6>"},
		{slog.LevelWarn, "<4>"},
		{slog.LevelError, "<3>"},
		{slog.LevelError + 4, "<3>"},
		{slog.LevelInfo + 2, "<6>"},
	}
	for _, format := range []string{FormatText, FormatJSON} {
		var buf bytes.Buffer
		log, err := Options{Format: format, Level: slog.LevelDebug}.newLogger(&buf, true)
		if err != nil {
			t.Fatal(err)
		}
		// Derived loggers share the prefixing.
		log = log.With("kitchen", "k-1").WithGroup("g")
		for _, tt := range tests {
			log.Log(context.Background(), tt.level, "m", "k", "v\nnot a new line")
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != len(tests) {
			t.Fatalf("%s: %d lines for %d records: %q", format, len(lines), len(tests), buf.String())
		}
		for i, tt := range tests {
			if !strings.HasPrefix(lines[i], tt.want) || strings.Count(lines[i], "<") != 1 {
				t.Errorf("%s: level %v logged as %q, want prefix %s", format, tt.level, lines[i], tt.want)
			}
		}
	}
	// Off the journal: no prefixes.
	var buf bytes.Buffer
	log, _ := Options{}.newLogger(&buf, false)
	log.Error("boom")
	if strings.HasPrefix(buf.String(), "<") {
		t.Errorf("prefix written off the journal: %q", buf.String())
	}
	if got := FailurePrefix(&buf); got != "" {
		t.Errorf("FailurePrefix off the journal = %q", got)
	}
}
