package debbuild

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// v1.2.3, v1.2.3-rc1, v1.2.3-4-gabc1234, v1.2.3-rc1-4-gabc1234
	describeTag = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.]+?))?(?:-(\d+)-g([0-9a-f]{4,40}))?$`)
	// a bare abbreviated commit, from `git describe --always` without tags
	describeSHA = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
	// Debian policy 5.6.12: an upstream version starts with a digit and uses
	// only alphanumerics and . + ~ (no hyphen: that would start a revision).
	debianUpstream = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
)

// DebianVersion maps `git describe --tags --always --dirty` output to a
// Debian version that sorts the way the builds happened:
//
//	v1.2.3              1.2.3
//	v1.2.3-rc1          1.2.3~rc1        (before 1.2.3)
//	v1.2.3-4-gabc1234   1.2.3+git4.abc1234 (after 1.2.3)
//	abc1234             0.0.0~gitabc1234 (no tag yet)
//	dev                 0.0.0~dev
//
// and a -dirty suffix becomes +dirty.
func DebianVersion(describe string) (string, error) {
	d := strings.TrimSpace(describe)
	dirty := strings.HasSuffix(d, "-dirty")
	d = strings.TrimSuffix(d, "-dirty")
	var v string
	switch {
	case d == "dev" || d == "":
		v = "0.0.0~dev"
	case describeSHA.MatchString(d):
		v = "0.0.0~git" + d
	default:
		m := describeTag.FindStringSubmatch(d)
		if m == nil {
			return "", fmt.Errorf("version %q: want a git describe of a vX.Y.Z tag, a commit, or dev", describe)
		}
		v = m[1]
		if m[2] != "" {
			v += "~" + m[2]
		}
		if m[3] != "" {
			v += "+git" + m[3] + "." + m[4]
		}
	}
	if dirty {
		v += "+dirty"
	}
	if !debianUpstream.MatchString(v) {
		return "", fmt.Errorf("version %q: maps to %q, which is not a valid Debian version", describe, v)
	}
	return v, nil
}
