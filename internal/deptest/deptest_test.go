// Package deptest pins the import rules of the tree, in the manner of
// tailscale's deptest: the two programs stand on internal and never link each
// other, internal links neither, and test-only helpers never reach a binary.
// A rule broken here is a design change that should be made on purpose.
package deptest

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/budare/budare/"

// deps lists the packages pattern links, its own included, as import paths
// relative to the module.
func deps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, pattern)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr.String())
	}
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], module) {
			continue
		}
		pkg := strings.TrimPrefix(f[0], module)
		ds := got[pkg]
		for _, d := range f[1:] {
			if strings.HasPrefix(d, module) {
				ds = append(ds, strings.TrimPrefix(d, module))
			}
		}
		got[pkg] = ds // listed even when it links nothing of the module
	}
	if len(got) == 0 {
		t.Fatalf("go list %s: no packages of this module", pattern)
	}
	return got
}

func TestImportRules(t *testing.T) {
	tests := []struct {
		pattern   string
		forbidden []string // module-relative prefixes no package of pattern may link
		exempt    []string // packages of pattern the rule does not apply to
	}{
		{"./agent/...", []string{"central"}, nil},
		{"./central/...", []string{"agent"}, nil},
		{"./internal/...", []string{"agent", "central"}, nil},
		// What ships: the binaries never link the test helpers.
		{"./agent", []string{"internal/testenv", "internal/golden", "internal/golden/contract", "agent/decide/decidetest", "agent/modelsync/modelsynctest"}, nil},
		{"./central", []string{"internal/testenv", "internal/golden", "internal/golden/contract"}, nil},
		// The agent is assembled in one place, which only its main links.
		{"./agent/...", []string{"agent/daemon"}, []string{"agent"}},
		// runner only runs services; what they are is the assembly's.
		{"./agent/runner", []string{"agent"}, nil},
		// The decision is pure: scheduling, publishing and uploading it are
		// agent/morning's, the MQTT connection agent/pubconn's.
		{"./agent/decide", []string{"agent/morning", "agent/pubconn", "agent/ingest", "agent/upload", "agent/daemon"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			for pkg, ds := range deps(t, tt.pattern) {
				if slices.Contains(tt.exempt, pkg) {
					continue
				}
				for _, d := range ds {
					for _, f := range tt.forbidden {
						if d == f || strings.HasPrefix(d, f+"/") {
							t.Errorf("%s links %s; the rule is that %s never links %s", pkg, d, tt.pattern, f)
						}
					}
				}
			}
		})
	}
}
