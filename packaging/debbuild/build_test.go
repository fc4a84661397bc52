package debbuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"

	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxAgentExposure is the goal for `systemd-analyze security` on the agent.
const maxAgentExposure = 1.5

// TestPackages builds the amd64 packages from this checkout and inspects
// them the way an operator's tools would: dpkg-deb, lintian, systemd-analyze,
// man, and the binaries themselves.
func TestPackages(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "lintian", "systemd-analyze", "groff"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run `bash .ci/setup.sh` (installs it) or apt-get install it", tool)
		}
	}
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	const describe = "v0.3.1-4-gdeadbee"
	out := t.TempDir()
	date := time.Date(2026, 11, 26, 5, 30, 0, 0, time.UTC)
	ctx := context.Background()
	start := time.Now()
	arts, err := Build(ctx, Options{Root: root, Out: out, Version: describe, Commit: "deadbeef00", Arches: []string{"amd64"}, Date: date})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d packages in %v", len(arts), time.Since(start).Round(time.Second))
	if len(arts) != 2 {
		t.Fatalf("built %d packages, want 2: %+v", len(arts), arts)
	}
	byName := map[string]Artifact{}
	for _, a := range arts {
		byName[a.Package] = a
		t.Logf("%s %s: deb %d bytes, binary %d bytes", a.Package, a.Arch, a.Size, a.BinarySize)
		if want := fmt.Sprintf("%s_0.3.1+git4.deadbee_amd64.deb", a.Package); filepath.Base(a.Path) != want {
			t.Errorf("file name %s, want %s", filepath.Base(a.Path), want)
		}
	}

	// Unpack both into one tree, as if installed on one machine.
	sysroot := t.TempDir()
	for _, a := range arts {
		run(t, "dpkg-deb", "-x", a.Path, sysroot)
	}

	t.Run("control", func(t *testing.T) {
		for _, tc := range []struct{ pkg, conffiles string }{
			{"budare-agent", "/etc/budare/agent.toml\n"},
			{"budare-central", "/etc/budare/arepa-types.txt\n/etc/budare/central.toml\n"},
		} {
			deb := byName[tc.pkg].Path
			fields := map[string]string{"Package": tc.pkg, "Version": "0.3.1+git4.deadbee", "Architecture": "amd64", "Maintainer": Maintainer}
			for f, want := range fields {
				if got := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, f)); got != want {
					t.Errorf("%s: %s = %q, want %q", tc.pkg, f, got, want)
				}
			}
			if got := run(t, "dpkg-deb", "-I", deb, "conffiles"); got != tc.conffiles {
				t.Errorf("%s: conffiles %q, want %q", tc.pkg, got, tc.conffiles)
			}
			info := run(t, "dpkg-deb", "-I", deb)
			for _, script := range []string{"postinst", "prerm", "postrm"} {
				if !regexp.MustCompile(`\d+ lines\s+\*\s+` + script + `\s`).MatchString(info) {
					t.Errorf("%s: %s missing or not executable:\n%s", tc.pkg, script, info)
				}
			}
		}
	})

	t.Run("contents", func(t *testing.T) {
		want := map[string]map[string]string{
			"budare-agent": {
				"./usr/bin/budare-agent":                                      "-rwxr-xr-x",
				"./usr/lib/systemd/system/budare-agent.service":               "-rw-r--r--",
				"./etc/budare/agent.toml":                                     "-rw-r--r--",
				"./etc/budare/credentials/":                                   "drwx------",
				"./usr/share/man/man1/budare-agent.1.gz":                      "-rw-r--r--",
				"./usr/share/doc/budare-agent/copyright":                      "-rw-r--r--",
				"./usr/share/doc/budare-agent/changelog.gz":                   "-rw-r--r--",
				"./usr/share/doc/budare-agent/examples/mosquitto-budare.conf": "-rw-r--r--",
				"./usr/share/doc/budare-agent/examples/mosquitto-budare.acl":  "-rw-r--r--",
			},
			"budare-central": {
				"./usr/bin/budare-central":                                       "-rwxr-xr-x",
				"./usr/lib/systemd/system/budare-central-train.service":          "-rw-r--r--",
				"./usr/lib/systemd/system/budare-central-train.timer":            "-rw-r--r--",
				"./usr/lib/systemd/system/budare-central-serve.service":          "-rw-r--r--",
				"./etc/budare/central.toml":                                      "-rw-r--r--",
				"./etc/budare/arepa-types.txt":                                   "-rw-r--r--",
				"./etc/budare/credentials/":                                      "drwx------",
				"./usr/share/man/man1/budare-central.1.gz":                       "-rw-r--r--",
				"./usr/share/doc/budare-central/copyright":                       "-rw-r--r--",
				"./usr/share/doc/budare-central/changelog.gz":                    "-rw-r--r--",
				"./usr/share/doc/budare-central/examples/k8s/train-cronjob.yaml": "-rw-r--r--",
				"./usr/share/doc/budare-central/examples/k8s/train-stages.yaml":  "-rw-r--r--",
				"./usr/share/doc/budare-central/examples/k8s/serve.yaml":         "-rw-r--r--",
				"./usr/share/budare/cmapss/train_FD001.txt.gz":                   "-rw-r--r--",
				"./usr/share/budare/cmapss/test_FD001.txt.gz":                    "-rw-r--r--",
				"./usr/share/budare/cmapss/RUL_FD001.txt.gz":                     "-rw-r--r--",
				"./usr/share/budare/cmapss/train_FD002.txt.gz":                   "-rw-r--r--",
				"./usr/share/budare/cmapss/test_FD002.txt.gz":                    "-rw-r--r--",
				"./usr/share/budare/cmapss/RUL_FD002.txt.gz":                     "-rw-r--r--",
			},
		}
		for pkg, files := range want {
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "-c", byName[pkg].Path)), "\n") {
				f := strings.Fields(line) // mode owner size date time path
				if len(f) != 6 {
					t.Fatalf("%s: unexpected dpkg-deb -c line %q", pkg, line)
				}
				if f[1] != "root/root" {
					t.Errorf("%s: %s owned by %s, want root/root", pkg, f[5], f[1])
				}
				got[f[5]] = f[0]
			}
			for path, mode := range files {
				if got[path] != mode {
					t.Errorf("%s: %s has mode %q, want %q", pkg, path, got[path], mode)
				}
			}
			for path, mode := range got {
				if !strings.HasPrefix(mode, "d") && files[path] == "" {
					t.Errorf("%s: unexpected file %s", pkg, path)
				}
			}
		}
	})

	t.Run("binaries", func(t *testing.T) {
		for _, name := range []string{"budare-agent", "budare-central"} {
			bin := filepath.Join(sysroot, "usr/bin", name)
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			machine, typ := f.Machine, f.Type
			libs, _ := f.ImportedLibraries()
			f.Close()
			if machine != elf.EM_X86_64 || typ != elf.ET_DYN || len(libs) != 0 {
				t.Errorf("%s: machine %v type %v libraries %v; want an x86-64 PIE needing no library", name, machine, typ, libs)
			}
			want := name + " " + describe + " (commit deadbeef00, built " + date.UTC().Format(time.RFC3339) + ")"
			if got := strings.TrimSpace(run(t, bin, "version")); got != want {
				t.Errorf("%s version = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("lintian", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, "lintian", "--fail-on", "error", "--tag-display-limit", "0", byName["budare-agent"].Path, byName["budare-central"].Path)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		t.Logf("lintian:\n%s", buf.String())
		if err != nil {
			t.Errorf("lintian failed: %v", err)
		}
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.HasPrefix(l, "E: ") {
				t.Errorf("lintian error: %s", l)
			}
		}
	})

	t.Run("man", func(t *testing.T) {
		for _, name := range []string{"budare-agent", "budare-central"} {
			page := gunzip(t, filepath.Join(sysroot, "usr/share/man/man1", name+".1.gz"))
			top := run(t, filepath.Join(sysroot, "usr/bin", name), "--help")
			if !strings.Contains(page, verbatim(top)) {
				t.Errorf("%s.1 does not carry `%s --help` verbatim", name, name)
			}
			cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
			cmd.Stdin = strings.NewReader(page)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("%s.1: groff: %v %s", name, err, out)
			}
		}
		cl := gunzip(t, filepath.Join(sysroot, "usr/share/doc/budare-agent/changelog.gz"))
		if !strings.HasPrefix(cl, "budare-agent (0.3.1+git4.deadbee) ") {
			t.Errorf("changelog does not start with the package version:\n%s", cl)
		}
	})

	t.Run("readme", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(root, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"budare-agent", "budare-central"} {
			top := run(t, filepath.Join(sysroot, "usr/bin", name), "--help")
			block := "```\n$ " + name + " --help\n" + top + "```\n"
			if !bytes.Contains(readme, []byte(block)) {
				t.Errorf("README.md does not show the current `%s --help`; put this block in the packaging section:\n%s", name, block)
			}
		}
	})

	// The packaged agent, run as systemd would run budare-agent.service,
	// reports readiness, pings the watchdog and says when it stops.
	t.Run("sd_notify", func(t *testing.T) {
		testAgentNotifies(t, filepath.Join(sysroot, "usr/bin/budare-agent"))
	})

	// The units and manifests must only use flags the binaries accept.
	t.Run("flags", func(t *testing.T) {
		var uses [][]string // binary, command, args...
		units, _ := filepath.Glob(filepath.Join(sysroot, "usr/lib/systemd/system/*.service"))
		for _, u := range units {
			b, err := os.ReadFile(u)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				k, v, _ := strings.Cut(line, "=")
				if k == "ExecStart" || k == "ExecStartPre" {
					f := strings.Fields(v)
					uses = append(uses, append([]string{filepath.Base(f[0])}, f[1:]...))
				}
			}
		}
		manifests, _ := filepath.Glob(filepath.Join(root, "packaging/k8s/*.yaml"))
		for _, m := range manifests {
			for _, args := range containerArgs(t, m) {
				uses = append(uses, append([]string{"budare-central"}, args...))
			}
		}
		if len(uses) < 6 {
			t.Fatalf("found only %d command lines in the units and manifests", len(uses))
		}
		for _, u := range uses {
			cmd, rest := u[1:2], u[2:]
			if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") { // a stage: train rows
				cmd, rest = u[1:3], u[3:]
			}
			text, err := runHelp(ctx, filepath.Join(sysroot, "usr/bin", u[0]), t.TempDir(), append(slices.Clone(cmd), "-h")...)
			if err != nil {
				t.Errorf("%s %s -h: %v", u[0], strings.Join(cmd, " "), err)
				continue
			}
			help := []byte(text)
			for _, a := range rest {
				name, ok := strings.CutPrefix(a, "--")
				if !ok {
					continue
				}
				name, _, _ = strings.Cut(name, "=")
				if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).Match(help) {
					t.Errorf("%s %s does not accept --%s (used in %q)", u[0], strings.Join(cmd, " "), name, strings.Join(u, " "))
				}
			}
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		units := unitRoot(t, sysroot)
		out := verify(t, units, filepath.Join(units, "usr/lib/systemd/system"), "budare-")
		if out != "" {
			t.Errorf("systemd-analyze verify:\n%s", out)
		}
		// The check can fail: a mistyped unit is reported.
		broken := filepath.Join(units, "usr/lib/systemd/system/budare-broken.service")
		unit, err := os.ReadFile(filepath.Join(units, "usr/lib/systemd/system/budare-agent.service"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(broken, bytes.Replace(unit, []byte("Type=notify"), []byte("Type=notifyy"), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(broken)
		if out := verify(t, units, broken, "budare-broken"); !strings.Contains(out, "notifyy") {
			t.Errorf("systemd-analyze verify accepted Type=notifyy: %q", out)
		}
	})

	t.Run("systemd-analyze security", func(t *testing.T) {
		units := unitRoot(t, sysroot)
		for _, u := range []string{"budare-agent.service", "budare-central-train.service", "budare-central-serve.service"} {
			score, err := SecurityExposure(ctx, units, filepath.Join(units, "usr/lib/systemd/system", u))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("systemd-analyze security --offline=yes %s: %.1f", u, score)
			if score > maxAgentExposure {
				t.Errorf("%s exposure %.1f, want at most %.1f", u, score, maxAgentExposure)
			}
		}
	})
}

// containerArgs returns every container's args in a multi-document YAML file.
func containerArgs(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("%s: %v", path, err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if cs, ok := x["containers"].([]any); ok {
					for _, c := range cs {
						// Other images (the training driver's kubectl) run
						// their own programs.
						if img, _ := c.(map[string]any)["image"].(string); !strings.Contains(img, "budare-central") {
							continue
						}
						if args, ok := c.(map[string]any)["args"].([]any); ok {
							var a []string
							for _, s := range args {
								a = append(a, fmt.Sprint(s))
							}
							out = append(out, a)
						}
					}
				}
				for _, y := range x {
					walk(y)
				}
			case []any:
				for _, y := range x {
					walk(y)
				}
			}
		}
		walk(doc)
	}
}

// unitRoot is the unpacked packages plus the host's own units, which ours
// refer to (multi-user.target, network-online.target, ...).
func unitRoot(t *testing.T, sysroot string) string {
	t.Helper()
	host := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(host, "multi-user.target")); err != nil {
		t.Fatalf("systemd's own units are missing (%v): install the systemd package", err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", "-a", host, filepath.Join(root, "usr/lib/systemd/"))
	run(t, "cp", "-a", filepath.Join(sysroot, "usr"), filepath.Join(sysroot, "etc"), root)
	return root
}

// verify runs systemd-analyze verify on unit files inside root and returns
// the lines that concern units whose name starts with prefix.
func verify(t *testing.T, root, path, prefix string) string {
	t.Helper()
	var files []string
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, prefix+"*"))
	} else {
		files = []string{path}
	}
	if len(files) == 0 {
		t.Fatalf("no units matching %s in %s", prefix, path)
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--root=" + root, "--man=no"}, files...)...)
	out, err := cmd.CombinedOutput()
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, prefix) {
			ours = append(ours, l)
		} else if strings.TrimSpace(l) != "" {
			t.Logf("systemd-analyze verify (host unit): %s", l)
		}
	}
	if err != nil && len(ours) == 0 {
		ours = append(ours, fmt.Sprintf("exit: %v", err))
	}
	return strings.Join(ours, "\n")
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
