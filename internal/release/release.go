// Package release is the signed model release shared by the central trainer,
// which writes it, and the agent, which trusts nothing it downloads until
// Verify and Entry.Check say so.
//
// A release is a manifest (models/releases/<n>.json) listing, per arepa type,
// the object key, SHA-256 and size of its model file, signed with ed25519
// (models/releases/<n>.json.sig holds the base64 signature of the manifest's
// exact bytes). models/current holds the number of the current release.
package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Version is the manifest format version (field "v").
const Version = 1

// Object-store keys.
const (
	CurrentKey     = "models/current"
	ReleasesPrefix = "models/releases/"
)

// ManifestKey is the key of release n's manifest.
func ManifestKey(n int64) string { return fmt.Sprintf("%s%d.json", ReleasesPrefix, n) }

// SigKey is the key of release n's signature.
func SigKey(n int64) string { return ManifestKey(n) + ".sig" }

// ModelKey is the key of the model file of arepa type a trained for release n.
func ModelKey(arepa string, n int64) string { return fmt.Sprintf("models/%s/%d/model.json", arepa, n) }

// CardKey is the key of the model card next to ModelKey(arepa, n).
func CardKey(arepa string, n int64) string { return fmt.Sprintf("models/%s/%d/card.json", arepa, n) }

// Manifest is one signed model release.
type Manifest struct {
	V       int              `json:"v"`
	Release int64            `json:"release"`
	Created time.Time        `json:"created"`
	Expires time.Time        `json:"expires"`
	Phase   int              `json:"phase,omitempty"`
	Note    string           `json:"note,omitempty"` // e.g. "rollback to 7"
	Models  map[string]Entry `json:"models"`         // by arepa type
	// Levels are the thresholds on the machine-day risk that map it to an
	// action level, chosen by the trainer on validation days from the
	// operator's targets. Absent in releases made before they existed; the
	// agent then falls back to its configured or built-in thresholds.
	Levels *Levels `json:"levels,omitempty"`
}

// Levels maps a machine-day risk (the highest of its per-arepa risks) to a
// level: stop at or above Stop, service at or above Service, inspect at or
// above Inspect. A threshold above 1 never fires.
type Levels struct {
	Inspect float64 `json:"inspect"`
	Service float64 `json:"service"`
	Stop    float64 `json:"stop"`
}

// Validate checks 0 < inspect <= service <= stop (a threshold may be above
// 1: that level is switched off because validation could not support it).
func (l *Levels) Validate() error {
	if l == nil {
		return nil
	}
	for _, x := range []float64{l.Inspect, l.Service, l.Stop} {
		if math.IsNaN(x) || math.IsInf(x, 0) || x <= 0 || x > 2 {
			return fmt.Errorf("%w: level threshold %v out of range (0, 2]", ErrMalformed, x)
		}
	}
	if !(l.Inspect <= l.Service && l.Service <= l.Stop) {
		return fmt.Errorf("%w: level thresholds not ordered: inspect %v, service %v, stop %v", ErrMalformed, l.Inspect, l.Service, l.Stop)
	}
	return nil
}

// Entry is one arepa type's model in a release.
type Entry struct {
	Key       string `json:"key"` // object key of model.json
	Card      string `json:"card,omitempty"`
	SHA256    string `json:"sha256"` // hex
	Size      int64  `json:"size"`
	Technique string `json:"technique"`
	// Threshold is the decision threshold on the model's score, chosen on
	// validation data by the trainer.
	Threshold float64 `json:"threshold"`
	// Trained is the release in which this model file was first published;
	// a kept champion or a rollback points at an older one.
	Trained int64 `json:"trained"`
	// Holdout holds the model's metrics on the latest holdout it was judged on
	// (roc_auc, pr_auc, f1, precision, recall, brier).
	Holdout map[string]float64 `json:"holdout,omitempty"`
}

// Errors returned by Verify and Entry.Check, so callers can count rejections
// by reason with errors.Is.
var (
	ErrMalformed = errors.New("malformed release")
	ErrSignature = errors.New("bad signature")
	ErrRollback  = errors.New("release older than the last accepted one")
	ErrExpired   = errors.New("release expired")
	ErrHash      = errors.New("model file does not match the manifest")
	ErrTooLarge  = errors.New("model larger than the agent's limit")
)

// Reason returns a short label for a Verify or Check error ("signature",
// "rollback", "expired", "hash", "malformed", "too_large"), or "other".
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrSignature):
		return "signature"
	case errors.Is(err, ErrRollback):
		return "rollback"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrHash):
		return "hash"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	}
	return "other"
}

// Arepas returns the manifest's arepa types, sorted.
func (m *Manifest) Arepas() []string {
	return slices.Sorted(maps.Keys(m.Models))
}

// Validate checks the manifest's own consistency (not its signature).
func (m *Manifest) Validate() error {
	if m.V != Version {
		return fmt.Errorf("%w: v=%d, want %d", ErrMalformed, m.V, Version)
	}
	if m.Release <= 0 {
		return fmt.Errorf("%w: release %d is not positive", ErrMalformed, m.Release)
	}
	if m.Created.IsZero() || m.Expires.IsZero() {
		return fmt.Errorf("%w: created or expires missing", ErrMalformed)
	}
	if !m.Expires.After(m.Created) {
		return fmt.Errorf("%w: expires %s is not after created %s", ErrMalformed,
			m.Expires.Format(time.RFC3339), m.Created.Format(time.RFC3339))
	}
	for a, e := range m.Models {
		if a == "" || strings.ContainsAny(a, "/\\") {
			return fmt.Errorf("%w: bad arepa type %q", ErrMalformed, a)
		}
		if e.Key == "" || strings.Contains(e.Key, "..") {
			return fmt.Errorf("%w: %s: bad key %q", ErrMalformed, a, e.Key)
		}
		if b, err := hex.DecodeString(e.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: %s: sha256 %q is not 64 hex digits", ErrMalformed, a, e.SHA256)
		}
		if e.Size <= 0 {
			return fmt.Errorf("%w: %s: size %d is not positive", ErrMalformed, a, e.Size)
		}
	}
	return m.Levels.Validate()
}

// Sign validates m, marshals it and signs the bytes. It returns the manifest
// bytes and the signature file content (base64 and a newline).
func Sign(m *Manifest, priv ed25519.PrivateKey) (manifest, sig []byte, err error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, nil, fmt.Errorf("sign release: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if m.V == 0 {
		m.V = Version
	}
	if err := m.Validate(); err != nil {
		return nil, nil, fmt.Errorf("sign release %d: %w", m.Release, err)
	}
	manifest, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("sign release %d: %w", m.Release, err)
	}
	manifest = append(manifest, '\n')
	s := ed25519.Sign(priv, manifest)
	return manifest, []byte(base64.StdEncoding.EncodeToString(s) + "\n"), nil
}

// decodeSig accepts the base64 text Sign writes, or a raw 64-byte signature.
func decodeSig(sig []byte) ([]byte, error) {
	t := bytes.TrimSpace(sig)
	if b, err := base64.StdEncoding.DecodeString(string(t)); err == nil && len(b) == ed25519.SignatureSize {
		return b, nil
	}
	if len(sig) == ed25519.SignatureSize {
		return sig, nil
	}
	return nil, fmt.Errorf("%w: signature is neither base64 nor %d raw bytes", ErrSignature, ed25519.SignatureSize)
}

// Verify checks a downloaded manifest against its signature and the agent's
// policy and returns it parsed. It fails when the signature does not verify
// with pub (ErrSignature), the manifest is not well formed (ErrMalformed), its
// release is lower than minRelease (ErrRollback) or it has expired at now
// (ErrExpired). Pass minRelease 0 when nothing was accepted yet. The model
// files must still be checked with Entry.Check before use.
func Verify(manifest, sig []byte, pub ed25519.PublicKey, now time.Time, minRelease int64) (*Manifest, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key has %d bytes, want %d", ErrSignature, len(pub), ed25519.PublicKeySize)
	}
	s, err := decodeSig(sig)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, manifest, s) {
		return nil, fmt.Errorf("%w: manifest signature does not verify with the configured public key", ErrSignature)
	}
	m, err := Parse(manifest)
	if err != nil {
		return nil, err
	}
	if err := m.checkAge(now, minRelease); err != nil {
		return nil, err
	}
	return m, nil
}

// checkAge refuses a release older than minRelease (ErrRollback) or expired
// at now (ErrExpired). The zero now is before every expiry.
func (m *Manifest) checkAge(now time.Time, minRelease int64) error {
	if m.Release < minRelease {
		return fmt.Errorf("%w: release %d < %d", ErrRollback, m.Release, minRelease)
	}
	if !now.Before(m.Expires) {
		return fmt.Errorf("%w: release %d expired at %s", ErrExpired, m.Release, m.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// Parse decodes and validates a manifest without checking any signature. The
// trainer uses it on manifests it wrote itself; the agent must use Verify.
func Parse(manifest []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(manifest))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the manifest", ErrMalformed)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Check reports whether data is the model file e describes (size and SHA-256).
func (e Entry) Check(data []byte) error {
	if int64(len(data)) != e.Size {
		return fmt.Errorf("%w: %s has %d bytes, manifest says %d", ErrHash, e.Key, len(data), e.Size)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != strings.ToLower(e.SHA256) {
		return fmt.Errorf("%w: %s has sha256 %s, manifest says %s", ErrHash, e.Key, got, e.SHA256)
	}
	return nil
}

// ReadChecked reads a model file from r, never more than e.Size+1 bytes, and
// returns it only if it matches e.
func (e Entry) ReadChecked(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, e.Size+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", e.Key, err)
	}
	if err := e.Check(data); err != nil {
		return nil, err
	}
	return data, nil
}

// Describe fills key, hash and size of e from the model file's bytes.
func Describe(key string, data []byte) Entry {
	sum := sha256.Sum256(data)
	return Entry{Key: key, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

// ParseCurrent decodes the content of models/current: a release number.
func ParseCurrent(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: models/current holds %q, not a positive release number", ErrMalformed, truncate(s, 40))
	}
	return n, nil
}

// FormatCurrent is the content of models/current for release n.
func FormatCurrent(n int64) []byte { return []byte(strconv.FormatInt(n, 10) + "\n") }

// ParseManifestKey returns the release number of a manifest key
// (models/releases/<n>.json), or false for any other key (signatures too).
func ParseManifestKey(key string) (int64, bool) {
	s, ok := strings.CutPrefix(key, ReleasesPrefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".json")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
