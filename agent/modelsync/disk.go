package modelsync

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
)

// On-disk layout under Dir (data_dir/models):
//
//	current                          name of the installed release directory
//	r<release>-<unix ns>-<random>/manifest.json
//	r<release>-<unix ns>-<random>/manifest.json.sig
//	r<release>-<unix ns>-<random>/models/<arepa>.json
//	.tmp-<random>/                   a release being written; removed on start
//
// A release directory is written completely under a temporary name,
// fsynced, renamed into place, and only then named by "current" (itself
// replaced by rename), so a crash leaves either the old or the new release,
// never a mix.

const (
	currentFile  = "current"
	manifestFile = "manifest.json"
	sigFile      = "manifest.json.sig"
	modelsSub    = "models"
	tmpPrefix    = ".tmp-"
	// keepDirs is how many release directories stay on disk: the current
	// one and the one before it, as a fallback if the current one is damaged.
	keepDirs = 2
)

// Release is an installed, verified model release.
type Release struct {
	Number   int64
	Manifest *release.Manifest
	// Models holds the installed models by arepa type: the kitchen's types
	// that the manifest lists (a subset of Manifest.Models).
	Models map[string]*model.Model
	// files keeps each installed model file's bytes for reuse by the next
	// install of the same file (same SHA-256), avoiding a download.
	files map[string][]byte
	raw   []byte // manifest bytes
	sig   []byte
	Dir   string
}

// Arepas returns the installed arepa types, sorted.
func (r *Release) Arepas() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.Models))
	for a := range r.Models {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Model returns the model of arepa type a, or nil.
func (r *Release) Model(a string) *model.Model {
	if r == nil {
		return nil
	}
	return r.Models[a]
}

// Expired reports whether the release's manifest has expired at now.
func (r *Release) Expired(now time.Time) bool {
	return r != nil && !now.Before(r.Manifest.Expires)
}

// install writes r's manifest, signature and model files to a new release
// directory under dir and points "current" at it. On return without error
// the new release is durable.
func install(dir string, r *Release, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("models dir: %w", err)
	}
	tmp := filepath.Join(dir, tmpPrefix+randomHex())
	if err := os.MkdirAll(filepath.Join(tmp, modelsSub), 0o750); err != nil {
		return "", fmt.Errorf("models dir: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := writeFileSync(filepath.Join(tmp, manifestFile), r.raw); err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(tmp, sigFile), r.sig); err != nil {
		return "", err
	}
	for a, b := range r.files {
		if err := writeFileSync(filepath.Join(tmp, modelsSub, a+".json"), b); err != nil {
			return "", err
		}
	}
	if err := syncDir(filepath.Join(tmp, modelsSub)); err != nil {
		return "", err
	}
	if err := syncDir(tmp); err != nil {
		return "", err
	}
	// The random suffix keeps names unique when the same release is
	// installed again (a new arepa type) within one clock tick.
	name := fmt.Sprintf("r%d-%d-%s", r.Number, now.UnixNano(), randomHex()[:6])
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return "", fmt.Errorf("install release %d: %w", r.Number, err)
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return "", err
	}
	ptmp := filepath.Join(dir, tmpPrefix+currentFile+"-"+randomHex())
	if err := writeFileSync(ptmp, []byte(name+"\n")); err != nil {
		return "", err
	}
	if err := os.Rename(ptmp, filepath.Join(dir, currentFile)); err != nil {
		os.Remove(ptmp)
		return "", fmt.Errorf("switch to release %d: %w", r.Number, err)
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// cleanup removes temporary directories and all release directories but
// the newest keepDirs (the current one always stays).
func cleanup(dir, current string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type rd struct {
		name string
		n    int64
		ts   int64
	}
	var dirs []rd
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
			continue
		}
		if n, ts, ok := parseDirName(e.Name()); ok && e.IsDir() {
			dirs = append(dirs, rd{e.Name(), n, ts})
		}
	}
	slices.SortFunc(dirs, func(a, b rd) int {
		if c := cmp.Compare(b.ts, a.ts); c != 0 {
			return c // newest first
		}
		return strings.Compare(b.name, a.name)
	})
	kept := 0
	for _, d := range dirs {
		if d.name == current || kept < keepDirs {
			kept++
			continue
		}
		os.RemoveAll(filepath.Join(dir, d.name))
	}
}

func parseDirName(name string) (release, ts int64, ok bool) {
	s, ok := strings.CutPrefix(name, "r")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, false
	}
	b, _, _ = strings.Cut(b, "-")
	n, err1 := strconv.ParseInt(a, 10, 64)
	t, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return 0, 0, false
	}
	return n, t, true
}

// LoadInstalled loads the installed release from dir, verifying its
// signature and every model file again (the disk is not trusted more than
// the network). Expiry is not checked here: an installed release keeps
// deciding while central is unreachable, and the caller reports it as
// expired. If the current release directory is damaged, the newest intact
// older one is used. It returns nil and no error when nothing is installed.
func LoadInstalled(dir string, pub ed25519.PublicKey) (*Release, error) {
	cur, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("installed models: %w", err)
	}
	name := strings.TrimSpace(string(cur))
	r, cerr := loadDir(filepath.Join(dir, name), pub)
	if cerr == nil {
		return r, nil
	}
	// Fall back to the newest other intact directory.
	ents, _ := os.ReadDir(dir)
	type cand struct {
		name  string
		n, ts int64
	}
	var cs []cand
	for _, e := range ents {
		if n, ts, ok := parseDirName(e.Name()); ok && e.Name() != name {
			cs = append(cs, cand{e.Name(), n, ts})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	for _, c := range cs {
		if r, err := loadDir(filepath.Join(dir, c.name), pub); err == nil {
			return r, fmt.Errorf("installed release %s is damaged (%v); using %s", name, cerr, c.name)
		}
	}
	return nil, fmt.Errorf("installed release %s is damaged: %w", name, cerr)
}

// diskLayout is an installed release directory as a release.Source (an
// objstore.Dir over it).
var diskLayout = release.Layout{Manifest: manifestFile, Sig: sigFile,
	Model: func(a string, _ release.Entry) string { return modelsSub + "/" + a + ".json" }}

func loadDir(d string, pub ed25519.PublicKey) (*Release, error) {
	ents, err := os.ReadDir(filepath.Join(d, modelsSub))
	if err != nil {
		return nil, err
	}
	arepas := []string{}
	for _, e := range ents {
		if a, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			arepas = append(arepas, a)
		}
	}
	// The zero time is before any expiry: see LoadInstalled.
	l, err := release.Load(context.Background(), objstore.NewDir(d), diskLayout,
		release.LoadOptions{Policy: release.Policy{PublicKey: pub}, Arepas: arepas})
	if err != nil {
		return nil, err
	}
	for _, a := range arepas {
		if _, listed := l.Manifest.Models[a]; !listed {
			return nil, fmt.Errorf("model file %s.json is not in release %d", a, l.Manifest.Release)
		}
	}
	return &Release{Number: l.Manifest.Release, Manifest: l.Manifest, Models: l.Models,
		files: l.Files, raw: l.Raw, sig: l.Sig, Dir: d}, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", path, err)
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
