package debbuild

import (
	"os/exec"
	"strings"
	"testing"
)

func TestDebianVersion(t *testing.T) {
	tests := []struct {
		describe, want string
		wantErr        bool
	}{
		{"v1.2.3", "1.2.3", false},
		{"1.2.3", "1.2.3", false},
		{"v1.2.3-rc1", "1.2.3~rc1", false},
		{"v1.2.3-4-gabc1234", "1.2.3+git4.abc1234", false},
		{"v1.2.3-rc.2-4-gabc1234", "1.2.3~rc.2+git4.abc1234", false},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+git4.abc1234+dirty", false},
		{"abc1234", "0.0.0~gitabc1234", false},
		{"abc1234-dirty", "0.0.0~gitabc1234+dirty", false},
		{"dev", "0.0.0~dev", false},
		{"", "0.0.0~dev", false},
		{"release-2026", "", true},
		{"v1.2", "", true},
		{"v1.2.3_beta", "", true},
		{"ABC1234", "", true},
	}
	for _, tc := range tests {
		got, err := DebianVersion(tc.describe)
		if tc.wantErr {
			if err == nil {
				t.Errorf("DebianVersion(%q) = %q, want an error", tc.describe, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("DebianVersion(%q) = %q, %v; want %q", tc.describe, got, err, tc.want)
		}
	}
}

// TestDebianVersionOrder checks with dpkg itself that versions sort the way
// the builds happened, so an upgrade is never refused as a downgrade.
func TestDebianVersionOrder(t *testing.T) {
	order := []string{"dev", "abc1234", "v0.1.0-rc1", "v0.1.0", "v0.1.0-3-gabc1234", "v0.1.0-12-gdef5678", "v0.2.0"}
	for i := 1; i < len(order); i++ {
		a, err := DebianVersion(order[i-1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := DebianVersion(order[i])
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("dpkg", "--compare-versions", a, "lt", b).CombinedOutput(); err != nil {
			t.Errorf("dpkg does not sort %s (%s) before %s (%s): %v %s", a, order[i-1], b, order[i], err, out)
		}
	}
}

func FuzzDebianVersion(f *testing.F) {
	for _, s := range []string{"v1.2.3-4-gabc1234-dirty", "abc1234", "dev", "v1.2.3-rc1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, describe string) {
		v, err := DebianVersion(describe)
		if err != nil {
			return
		}
		if !debianUpstream.MatchString(v) || strings.Contains(v, "-") {
			t.Errorf("DebianVersion(%q) = %q: not a valid native Debian version", describe, v)
		}
	})
}
