// Package debbuild builds budare's Debian packages with nfpm: for each
// architecture it cross-compiles both binaries (CGO off), generates their man
// pages from their own --help, and packs binary, systemd units, example
// configuration (as conffiles), man page, copyright and changelog.
package debbuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Maintainer goes into every package's control file and changelog.
const Maintainer = "budare maintainers <ops@budare.invalid>"

// Options say what to build and where.
type Options struct {
	Root    string    // repository root (holds go.mod)
	Out     string    // directory the .deb files are written to
	Version string    // `git describe --tags --always --dirty` or "dev"
	Commit  string    // full commit hash for --version; empty: unknown
	Arches  []string  // Debian/Go architecture names: amd64, arm64
	Date    time.Time // stamped into man pages, changelogs and file times
	Go      string    // go command; "go" when empty
	Log     io.Writer // progress lines; discarded when nil
}

// Artifact is one built package.
type Artifact struct {
	Package    string // budare-agent
	Arch       string
	Version    string // the Debian version
	Path       string
	Size       int64 // bytes of the .deb
	BinarySize int64 // bytes of the binary it carries
}

// Arches are the architectures budare ships for.
var Arches = []string{"amd64", "arm64"}

// Build makes one package per binary and architecture.
func Build(ctx context.Context, o Options) ([]Artifact, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Arches) == 0 {
		o.Arches = Arches
	}
	for _, a := range o.Arches {
		if !slices.Contains(Arches, a) {
			return nil, fmt.Errorf("architecture %q: budare packages %s", a, strings.Join(Arches, " and "))
		}
	}
	if o.Date.IsZero() {
		o.Date = time.Now()
	}
	o.Date = o.Date.UTC().Truncate(time.Second)
	version, err := DebianVersion(o.Version)
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("repository root %s: %w", root, err)
	}
	specs := packages()
	for _, s := range specs {
		for _, f := range s.sources() {
			if _, err := os.Stat(filepath.Join(root, f)); err != nil {
				return nil, fmt.Errorf("package %s needs %s: %w", s.name, f, err)
			}
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "budare-deb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	bins := map[string]string{} // arch -> directory holding both binaries
	for _, arch := range o.Arches {
		dir := filepath.Join(work, "bin", arch)
		fmt.Fprintf(o.Log, "building binaries for linux/%s\n", arch)
		if err := goBuild(ctx, o.Go, root, "linux", arch, stamp(o), dir); err != nil {
			return nil, err
		}
		bins[arch] = dir
	}
	// The man page comes from running the binary, so it needs one for this
	// machine; the help text is the same on every architecture.
	hostDir, ok := bins[runtime.GOARCH]
	if runtime.GOOS != "linux" || !ok {
		hostDir = filepath.Join(work, "bin", "host")
		if err := goBuild(ctx, o.Go, root, runtime.GOOS, runtime.GOARCH, stamp(o), hostDir); err != nil {
			return nil, err
		}
	}

	var out []Artifact
	for _, s := range specs {
		gen := filepath.Join(work, "gen", s.name)
		if err := os.MkdirAll(gen, 0o755); err != nil {
			return nil, err
		}
		help, err := ReadHelp(ctx, filepath.Join(hostDir, s.name), gen)
		if err != nil {
			return nil, fmt.Errorf("reading the help for the man page: %w", err)
		}
		page := s.man
		page.Name, page.Version, page.Date, page.Help = s.name, version, o.Date.Format("2006-01-02"), help
		generated := map[string][]byte{
			"man":       gz([]byte(page.Roff())),
			"copyright": []byte(copyright(o.Date)),
			"changelog": gz([]byte(changelog(s.name, version, o.Version, o.Date))),
			"postinst":  []byte(s.postinst()),
			"prerm":     []byte(s.prerm()),
			"postrm":    []byte(postrm),
		}
		for name, data := range generated {
			if err := os.WriteFile(filepath.Join(gen, name), data, 0o644); err != nil {
				return nil, err
			}
		}
		for _, arch := range o.Arches {
			bin := filepath.Join(bins[arch], s.name)
			a, err := s.pack(root, gen, bin, arch, version, o)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(o.Log, "%s %d bytes (binary %d bytes)\n", a.Path, a.Size, a.BinarySize)
			out = append(out, a)
		}
	}
	return out, nil
}

// stamp is the -X flags --version prints: version, commit and build date
// (the package's date, so rebuilding from the same commit gives the same
// binaries).
func stamp(o Options) string {
	s := "-X main.version=" + o.Version + " -X main.date=" + o.Date.UTC().Format(time.RFC3339)
	if o.Commit != "" {
		s += " -X main.commit=" + o.Commit
	}
	return s
}

// goBuild compiles both binaries into dir as budare-agent and budare-central,
// in one go command so their shared packages compile once and link in
// parallel.
func goBuild(ctx context.Context, gocmd, root, goos, arch, stamp, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// PIE (still CGO off, no libc) gives the packaged binaries ASLR; it needs
	// only the dynamic loader every Debian system has.
	cmd := exec.CommandContext(ctx, gocmd, "build", "-trimpath", "-buildmode=pie",
		"-ldflags", "-s -w "+stamp,
		"-o", dir+string(filepath.Separator), "./agent", "./central")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+arch, "GOFLAGS=-buildvcs=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s/%s: %w\n%s", goos, arch, err, stderr.String())
	}
	for _, name := range []string{"agent", "central"} {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, "budare-"+name)); err != nil {
			return err
		}
	}
	return nil
}

// pack writes one .deb.
func (s spec) pack(root, gen, bin, arch, version string, o Options) (Artifact, error) {
	st, err := os.Stat(bin)
	if err != nil {
		return Artifact{}, err
	}
	doc := "/usr/share/doc/" + s.name
	contents := files.Contents{
		file(bin, "/usr/bin/"+s.name, 0o755, o.Date),
		file(filepath.Join(gen, "man"), "/usr/share/man/man1/"+s.name+".1.gz", 0o644, o.Date),
		file(filepath.Join(gen, "copyright"), doc+"/copyright", 0o644, o.Date),
		file(filepath.Join(gen, "changelog"), doc+"/changelog.gz", 0o644, o.Date),
		{Destination: "/etc/budare/credentials", Type: files.TypeDir,
			FileInfo: &files.ContentFileInfo{Mode: 0o700, MTime: o.Date}},
	}
	for _, u := range s.units {
		contents = append(contents, file(filepath.Join(root, "packaging/systemd", u), "/usr/lib/systemd/system/"+u, 0o644, o.Date))
	}
	for _, c := range s.conffiles {
		f := file(filepath.Join(root, c.src), c.dst, 0o644, o.Date)
		f.Type = files.TypeConfigNoReplace
		contents = append(contents, f)
	}
	for _, c := range s.docs {
		contents = append(contents, file(filepath.Join(root, c.src), doc+"/"+c.dst, 0o644, o.Date))
	}
	for _, c := range s.data {
		contents = append(contents, file(filepath.Join(root, c.src), c.dst, 0o644, o.Date))
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name:          s.name,
		Arch:          arch,
		Platform:      "linux",
		Version:       version,
		VersionSchema: "none",
		Section:       "misc",
		Priority:      "optional",
		Maintainer:    Maintainer,
		Description:   s.description,
		Homepage:      "https://github.com/budare/budare",
		License:       "proprietary",
		MTime:         o.Date,
		Overridables: nfpm.Overridables{
			Contents: contents,
			Suggests: s.suggests,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(gen, "postinst"),
				PreRemove:   filepath.Join(gen, "prerm"),
				PostRemove:  filepath.Join(gen, "postrm"),
			},
			Deb: nfpm.Deb{Compression: "xz"},
		},
	})
	path := filepath.Join(o.Out, deb.Default.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return Artifact{}, err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return Artifact{}, fmt.Errorf("packing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return Artifact{}, err
	}
	ds, err := os.Stat(path)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Package: s.name, Arch: arch, Version: version, Path: path, Size: ds.Size(), BinarySize: st.Size()}, nil
}

func file(src, dst string, mode os.FileMode, mtime time.Time) *files.Content {
	return &files.Content{Source: src, Destination: dst, Type: files.TypeFile,
		FileInfo: &files.ContentFileInfo{Mode: mode, MTime: mtime}}
}

// gz compresses like `gzip -9n`: no file name or time in the header, so the
// same input gives the same bytes (lintian checks man pages and changelogs).
func gz(data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level: no error
	_, _ = w.Write(data)                                  // into memory: no error
	_ = w.Close()
	return b.Bytes()
}

// FindRoot walks up from dir to the directory holding go.mod.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the current directory: run from the budare repository")
		}
		dir = parent
	}
}
