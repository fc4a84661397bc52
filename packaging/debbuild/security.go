package debbuild

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

var overall = regexp.MustCompile(`Overall exposure level for \S+: (\d+(?:\.\d+)?)`)

// SecurityExposure runs `systemd-analyze security --offline=yes` on a unit
// file and returns its overall exposure (0 best, 10 worst). root, when set,
// is the tree the unit's dependencies are looked up in.
func SecurityExposure(ctx context.Context, root, unitFile string) (float64, error) {
	args := []string{"security", "--offline=yes", "--no-pager"}
	if root != "" {
		args = append(args, "--root="+root)
	}
	out, err := exec.CommandContext(ctx, "systemd-analyze", append(args, unitFile)...).CombinedOutput()
	m := overall.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("systemd-analyze security %s: no overall exposure in its output (%v):\n%s", unitFile, err, out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
