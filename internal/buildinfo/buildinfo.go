// Package buildinfo says which build a program is: version, commit and
// build date. The Makefile and the Debian build stamp them with -ldflags;
// a `go build` in a checkout or a `go install module@version` gets them
// from the build information the go command embeds.
package buildinfo

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"time"
)

// Info is one build's identity; empty fields are unknown.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"` // RFC 3339, UTC
	Modified bool   `json:"modified,omitempty"`
}

// pseudoRE matches a pseudo-version's time and revision, e.g.
// v0.0.0-20260212201848-7aac2a2c5b7c (also the v1.2.4-0.2026... forms).
var pseudoRE = regexp.MustCompile(`(?:^|[-.])(\d{14})-([0-9a-f]{12,40})(?:\+.*)?$`)

// Read combines what -ldflags stamped (version, commit, date; "" or "dev"
// for none) with the embedded build information, ldflags winning.
func Read(version, commit, date string) Info {
	bi, _ := debug.ReadBuildInfo()
	return merge(version, commit, date, bi)
}

func merge(version, commit, date string, bi *debug.BuildInfo) Info {
	in := Info{Version: version, Commit: commit, Date: date}
	if bi == nil {
		if in.Version == "" {
			in.Version = "dev"
		}
		return in
	}
	var vcsRev, vcsTime string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			vcsRev = s.Value
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	mv := bi.Main.Version
	if in.Version == "" || in.Version == "dev" {
		if mv != "" && mv != "(devel)" {
			in.Version = mv // go install module@version
		} else {
			in.Version = "dev"
		}
	}
	if in.Commit == "" {
		in.Commit = vcsRev
	}
	if in.Date == "" {
		in.Date = vcsTime
	}
	// A go install of a pseudo-version has no vcs settings, but its version
	// names the commit and its time.
	if m := pseudoRE.FindStringSubmatch(mv); m != nil {
		if in.Commit == "" {
			in.Commit = m[2]
		}
		if t, err := time.Parse("20060102150405", m[1]); in.Date == "" && err == nil {
			in.Date = t.UTC().Format(time.RFC3339)
		}
	}
	return in
}

// String is the --version line after the program's name:
// "v1.4.0 (commit 3f2c..., built 2026-12-01T10:00:00Z)".
func (i Info) String() string {
	commit, date := i.Commit, i.Date
	if commit == "" {
		commit = "unknown"
	}
	if i.Modified {
		commit += "-dirty"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, built %s)", i.Version, commit, date)
}
