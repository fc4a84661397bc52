package logging

import (
	"bytes"
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
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "time=") || !strings.Contains(string(b), "msg=hello") {
		t.Errorf("under journald: %q", b)
	}
}
