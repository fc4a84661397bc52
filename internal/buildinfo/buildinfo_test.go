package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	vcs := func(rev, tm, mod string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: mod}}
	}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"ldflags win", "v1.2.0", "abc123", "2026-12-01T10:00:00Z",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("fff", "2020-01-01T00:00:00Z", "false")},
			Info{Version: "v1.2.0", Commit: "abc123", Date: "2026-12-01T10:00:00Z"}},
		{"go build in a checkout", "dev", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef", "2026-11-30T08:00:00Z", "true")},
			Info{Version: "dev", Commit: "0123456789abcdef", Date: "2026-11-30T08:00:00Z", Modified: true}},
		{"go install of a tag", "dev", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}},
			Info{Version: "v1.3.0"}},
		{"go install of a pseudo-version", "dev", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260212201848-7aac2a2c5b7c"}},
			Info{Version: "v0.0.0-20260212201848-7aac2a2c5b7c", Commit: "7aac2a2c5b7c", Date: "2026-02-12T20:18:48Z"}},
		{"pseudo-version after a tag", "", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20260212201848-7aac2a2c5b7c"}},
			Info{Version: "v1.2.4-0.20260212201848-7aac2a2c5b7c", Commit: "7aac2a2c5b7c", Date: "2026-02-12T20:18:48Z"}},
		{"no build info", "", "", "", nil, Info{Version: "dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := merge(tc.version, tc.commit, tc.date, tc.bi); got != tc.want {
				t.Fatalf("merge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	s := Info{Version: "v1.0.0", Commit: "abc", Date: "2026-12-01T10:00:00Z", Modified: true}.String()
	if s != "v1.0.0 (commit abc-dirty, built 2026-12-01T10:00:00Z)" {
		t.Fatalf("String = %q", s)
	}
	if s := (Info{Version: "dev"}).String(); !strings.Contains(s, "commit unknown") || !strings.Contains(s, "built unknown") {
		t.Fatalf("String = %q", s)
	}
}

// The test binary itself has build information: Read never loses it.
func TestReadOwnBuild(t *testing.T) {
	if in := Read("", "", ""); in.Version == "" {
		t.Fatalf("Read = %+v: no version", in)
	}
}
