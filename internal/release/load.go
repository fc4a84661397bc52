package release

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/budare/budare/internal/model"
	"github.com/budare/budare/internal/objstore"
)

// Source is where a release is read from: the central bucket, or the
// agent's installed copy (an objstore.Dir over its directory).
type Source interface {
	Get(ctx context.Context, key string, limit int64) ([]byte, error)
}

// Layout names a release's objects in a Source.
type Layout struct {
	Manifest, Sig string
	// Model is the key of arepa type a's model file.
	Model func(a string, e Entry) string
}

// Published is the layout of release n in the central bucket.
func Published(n int64) Layout {
	return Layout{Manifest: ManifestKey(n), Sig: SigKey(n), Model: func(_ string, e Entry) string { return e.Key }}
}

// Policy is what opening a manifest checks.
type Policy struct {
	// PublicKey, when set, is the key the signature must verify with. The
	// agent always sets it; the trainer when it has one; the dashboard, which
	// only shows releases, does not.
	PublicKey ed25519.PublicKey
	// Now, when set, is the instant the release must not have expired at.
	// Zero skips the check: an installed release keeps deciding while
	// central is unreachable, and an expired champion can still be kept.
	Now time.Time
	// MinRelease refuses an older release (ErrRollback); 0 accepts any.
	MinRelease int64
	// Release, when set, is the number the manifest must carry (the one
	// its key or models/current named).
	Release int64
}

// Open verifies a manifest's bytes and signature under p and returns it
// parsed. Errors wrap ErrSignature, ErrMalformed, ErrRollback or ErrExpired.
func (p Policy) Open(raw, sig []byte) (*Manifest, error) {
	var (
		m   *Manifest
		err error
	)
	if p.PublicKey != nil {
		m, err = Verify(raw, sig, p.PublicKey, p.Now, p.MinRelease)
	} else if m, err = Parse(raw); err == nil {
		err = m.checkAge(p.Now, p.MinRelease)
	}
	if err != nil {
		return nil, err
	}
	if p.Release != 0 && m.Release != p.Release {
		return nil, fmt.Errorf("%w: manifest of release %d says release %d", ErrMalformed, p.Release, m.Release)
	}
	return m, nil
}

// DecodeModel checks a model file against its entry (size and SHA-256,
// ErrHash) and decodes it (ErrMalformed).
func DecodeModel(e Entry, data []byte) (*model.Model, error) {
	if err := e.Check(data); err != nil {
		return nil, err
	}
	md, err := model.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, e.Key, err)
	}
	return md, nil
}

// Loaded is a release read by Load.
type Loaded struct {
	Manifest *Manifest
	Raw, Sig []byte // the manifest's bytes and signature file, as read
	// Models and Files hold each loaded arepa type's decoded model and
	// checked bytes.
	Models map[string]*model.Model
	Files  map[string][]byte
	// Errs holds, with LoadOptions.Partial, why a model did not load.
	Errs map[string]error
}

// LoadOptions says what Load reads and checks.
type LoadOptions struct {
	Policy
	// Arepas are the types whose models are loaded; nil loads every type
	// of the manifest. Types the manifest does not list are skipped.
	Arepas []string
	// MaxManifestBytes bounds the manifest and its signature (0: no bound).
	MaxManifestBytes int64
	// MaxModelBytes refuses the release (ErrTooLarge) before any model is
	// read when the signed manifest gives a wanted model more bytes
	// (0: no bound): a gateway never downloads what it would refuse.
	MaxModelBytes int64
	// Reuse returns bytes already held for a model (a previous release's
	// file), or nil to read it; what it returns is checked like a download.
	Reuse func(arepa string, e Entry) []byte
	// Partial loads what it can: a model that is missing or does not check
	// or decode is left out and its error kept in Loaded.Errs, instead of
	// failing the release. Errors reading the source still fail.
	Partial bool
}

// Load reads release layout from src: the manifest, its signature when a
// public key is set, and the models of opt.Arepas, each checked against
// the manifest and decoded. A model file is never read beyond the size
// the manifest gives it.
func Load(ctx context.Context, src Source, layout Layout, opt LoadOptions) (*Loaded, error) {
	raw, err := src.Get(ctx, layout.Manifest, opt.MaxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", layout.Manifest, err)
	}
	var sig []byte
	if opt.PublicKey != nil {
		if sig, err = src.Get(ctx, layout.Sig, opt.MaxManifestBytes); err != nil {
			return nil, fmt.Errorf("read signature %s: %w", layout.Sig, err)
		}
	}
	m, err := opt.Open(raw, sig)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Manifest: m, Raw: raw, Sig: sig, Models: map[string]*model.Model{}, Files: map[string][]byte{}, Errs: map[string]error{}}
	arepas := opt.Arepas
	if arepas == nil {
		arepas = m.Arepas()
	}
	if opt.MaxModelBytes > 0 {
		for _, a := range arepas {
			if e, ok := m.Models[a]; ok && e.Size > opt.MaxModelBytes {
				return nil, fmt.Errorf("%w: %s is %d bytes in the manifest, above the limit of %d; not downloaded",
					ErrTooLarge, e.Key, e.Size, opt.MaxModelBytes)
			}
		}
	}
	for _, a := range arepas {
		e, ok := m.Models[a]
		if !ok {
			continue
		}
		var (
			data []byte
			md   *model.Model
			err  error
		)
		if held := reuse(opt.Reuse, a, e); held != nil {
			data = held
			md, err = DecodeModel(e, data)
		} else {
			data, md, err = loadModel(ctx, src, layout.Model(a, e), e)
		}
		if err != nil {
			if opt.Partial && (IsRefusal(err) || errors.Is(err, objstore.ErrNotFound)) {
				l.Errs[a] = err
				continue
			}
			return nil, err
		}
		l.Models[a], l.Files[a] = md, data
	}
	return l, nil
}

func reuse(f func(string, Entry) []byte, a string, e Entry) []byte {
	if f == nil {
		return nil
	}
	return f(a, e)
}

func loadModel(ctx context.Context, src Source, key string, e Entry) ([]byte, *model.Model, error) {
	data, err := src.Get(ctx, key, e.Size+1)
	if errors.Is(err, objstore.ErrTooLarge) {
		return nil, nil, fmt.Errorf("%w: %s is larger than the manifest's %d bytes", ErrHash, key, e.Size)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read model %s: %w", key, err)
	}
	md, err := DecodeModel(e, data)
	if err != nil {
		return nil, nil, err
	}
	return data, md, nil
}

// IsRefusal reports whether err says the release (or one of its files) is
// not to be trusted, as opposed to the source being unreachable.
func IsRefusal(err error) bool {
	for _, e := range []error{ErrMalformed, ErrSignature, ErrRollback, ErrExpired, ErrHash, ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// maxCurrent bounds models/current, which holds a number and a newline.
const maxCurrent = 1 << 10

// Current reads models/current from src: the current release number, or 0
// when there is none yet.
func Current(ctx context.Context, src Source) (int64, error) {
	b, err := src.Get(ctx, CurrentKey, maxCurrent)
	if errors.Is(err, objstore.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("current release: %w", err)
	}
	return ParseCurrent(b)
}
