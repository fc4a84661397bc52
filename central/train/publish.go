package train

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/budare/budare/central/config"
	"github.com/budare/budare/internal/release"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Publisher signs and writes releases.
type Publisher struct {
	Bucket Bucket
	Key    ed25519.PrivateKey
	Expiry time.Duration
	Now    func() time.Time // nil means time.Now
	Log    *slog.Logger
	// NoCurrent publishes the release without making it current (promote
	// it later).
	NoCurrent bool
	// Targets are the operator's level targets (zero: the defaults).
	Targets config.Targets
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// NextRelease returns one more than the highest release in the store
// (manifests and models/current), so numbers only grow.
func NextRelease(ctx context.Context, b Bucket) (int64, error) {
	keys, err := b.List(ctx, release.ReleasesPrefix)
	if err != nil {
		return 0, err
	}
	var hi int64
	for _, k := range keys {
		if n, ok := release.ParseManifestKey(k); ok {
			hi = max(hi, n)
		}
	}
	cur, err := b.Get(ctx, release.CurrentKey, 0)
	switch {
	case err == nil:
		if n, err := release.ParseCurrent(cur); err == nil {
			hi = max(hi, n)
		}
	case !IsNotFound(err):
		return 0, err
	}
	return hi + 1, nil
}

// Publish writes one release from the outcomes of every shard: the new
// models and cards under the new release number first, then the signed
// manifest, then models/current. A failure before the last step leaves the
// current release as it was; files already written under the unused number
// are overwritten by the next run.
func (p *Publisher) Publish(ctx context.Context, outs []*Outcome) (*release.Manifest, error) {
	if len(outs) == 0 {
		return nil, ErrNothing
	}
	for _, o := range outs[1:] {
		if o.ChampionRelease != outs[0].ChampionRelease {
			return nil, fmt.Errorf("shards saw different current releases (%d and %d): a release was published while they ran; train again",
				outs[0].ChampionRelease, o.ChampionRelease)
		}
	}
	var results []Result
	seen := map[string]bool{}
	for _, o := range outs {
		for _, r := range o.Results {
			if seen[r.Arepa] {
				return nil, fmt.Errorf("arepa type %q trained by two shards", r.Arepa)
			}
			seen[r.Arepa] = true
			results = append(results, r)
		}
	}
	slices.SortFunc(results, func(a, b Result) int { return strings.Compare(a.Arepa, b.Arepa) })
	n, err := NextRelease(ctx, p.Bucket)
	if err != nil {
		return nil, err
	}
	now := p.now()
	m := &release.Manifest{V: release.Version, Release: n, Created: now, Expires: now.Add(p.Expiry),
		Phase: outs[0].Phase, Models: map[string]release.Entry{}}
	// Levels are chosen on every type's shipped model at once: the
	// machine-day risk combines them. With nothing to calibrate on (no
	// failure in the validation days) the current release's levels stay.
	levels, levelsCard := ChooseLevels(results, p.Targets.OrDefault())
	if levels == nil {
		if _, cur, err := Current(ctx, p.Bucket, nil); err == nil && cur != nil && cur.Levels != nil {
			levels = cur.Levels
			levelsCard.Note = "no failure in the validation days; the current release's thresholds stay"
			levelsCard.Service.Threshold, levelsCard.Stop.Threshold, levelsCard.Inspect.Threshold = levels.Service, levels.Stop, levels.Inspect
		}
	}
	m.Levels = levels
	var fresh, kept []string
	for _, r := range results {
		var e release.Entry
		switch {
		case r.Status == StatusNew:
			key := release.ModelKey(r.Arepa, n)
			if err := p.Bucket.Put(ctx, key, r.Model, nil); err != nil {
				return nil, fmt.Errorf("publish release %d: %w", n, err)
			}
			e = release.Describe(key, r.Model)
			e.Technique, e.Threshold, e.Trained = r.Technique, r.Card.Threshold, n
			for _, c := range r.Card.Candidates {
				if c.Technique == r.Card.Chosen {
					e.Holdout = holdoutMap(c.Holdout)
				}
			}
			fresh = append(fresh, r.Arepa)
		case r.Champion != nil:
			// Kept champion (or no data this time): the entry points at
			// the old model file, with the holdout it was just judged on.
			e = *r.Champion
			if r.Card != nil && r.Card.Champion != nil && r.Card.Champion.Holdout != nil {
				e.Holdout = holdoutMap(r.Card.Champion.Holdout)
			}
			kept = append(kept, r.Arepa)
		default:
			continue
		}
		if r.Card != nil {
			r.Card.Release = n
			r.Card.Levels = levelsCard
			cb, err := json.MarshalIndent(r.Card, "", " ")
			if err != nil {
				return nil, fmt.Errorf("card %s: %w", r.Arepa, err)
			}
			e.Card = release.CardKey(r.Arepa, n)
			if err := p.Bucket.Put(ctx, e.Card, append(cb, '\n'), nil); err != nil {
				return nil, fmt.Errorf("publish release %d: %w", n, err)
			}
		}
		m.Models[r.Arepa] = e
	}
	if len(m.Models) == 0 {
		return nil, ErrNothing
	}
	if err := p.sign(ctx, m); err != nil {
		return nil, err
	}
	attrs := []any{"release", n, "new", fresh, "kept", kept, "current", !p.NoCurrent}
	if levels != nil {
		attrs = append(attrs, "inspect", levels.Inspect, "service", levels.Service, "stop", levels.Stop)
	}
	p.log().Info("published release", attrs...)
	return m, nil
}

// sign writes the manifest and its signature, then (unless NoCurrent) makes
// it current.
func (p *Publisher) sign(ctx context.Context, m *release.Manifest) error {
	mb, sig, err := release.Sign(m, p.Key)
	if err != nil {
		return err
	}
	if err := p.Bucket.Put(ctx, release.SigKey(m.Release), sig, nil); err != nil {
		return fmt.Errorf("publish release %d: %w", m.Release, err)
	}
	if err := p.Bucket.Put(ctx, release.ManifestKey(m.Release), mb, nil); err != nil {
		return fmt.Errorf("publish release %d: %w", m.Release, err)
	}
	if p.NoCurrent {
		return nil
	}
	return p.setCurrent(ctx, m.Release)
}

func (p *Publisher) setCurrent(ctx context.Context, n int64) error {
	if err := p.Bucket.Put(ctx, release.CurrentKey, release.FormatCurrent(n), nil); err != nil {
		return fmt.Errorf("set current release to %d: %w", n, err)
	}
	return nil
}

// Promote makes an existing release current after checking its signature
// and every model file it lists.
func (p *Publisher) Promote(ctx context.Context, n int64) (*release.Manifest, error) {
	m, err := p.checked(ctx, n)
	if err != nil {
		return nil, err
	}
	if !p.now().Before(m.Expires) {
		return nil, fmt.Errorf("release %d expired at %s; agents would reject it (use rollback %d to republish its models)",
			n, m.Expires.Format(time.RFC3339), n)
	}
	return m, p.setCurrent(ctx, n)
}

// Rollback publishes a new, higher release whose entries point at the model
// files of release n, and makes it current. Agents refuse lower release
// numbers, so going back means going forward.
func (p *Publisher) Rollback(ctx context.Context, n int64) (*release.Manifest, error) {
	old, err := p.checked(ctx, n)
	if err != nil {
		return nil, err
	}
	next, err := NextRelease(ctx, p.Bucket)
	if err != nil {
		return nil, err
	}
	now := p.now()
	m := &release.Manifest{V: release.Version, Release: next, Created: now, Expires: now.Add(p.Expiry),
		Phase: old.Phase, Note: fmt.Sprintf("rollback to release %d", n), Models: old.Models, Levels: old.Levels}
	if err := p.sign(ctx, m); err != nil {
		return nil, err
	}
	p.log().Info("rolled back", "release", next, "models_of", n)
	return m, nil
}

// checked loads release n, verifies its signature with the signing key's
// public half, and checks every model file's size and hash.
func (p *Publisher) checked(ctx context.Context, n int64) (*release.Manifest, error) {
	m, err := LoadManifest(ctx, p.Bucket, n, p.Key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	for _, a := range m.Arepas() {
		e := m.Models[a]
		data, err := p.Bucket.Get(ctx, e.Key, 0)
		if err != nil {
			return nil, fmt.Errorf("release %d, %s: %w", n, a, err)
		}
		if err := e.Check(data); err != nil {
			return nil, fmt.Errorf("release %d, %s: %w", n, a, err)
		}
	}
	return m, nil
}

// ReleaseInfo is one line of `releases`.
type ReleaseInfo struct {
	Release  int64
	Current  bool
	Manifest *release.Manifest
	Err      error // signature or format problem
}

// List returns every release, oldest first, each verified with pub when set.
func List(ctx context.Context, b Bucket, pub ed25519.PublicKey) ([]ReleaseInfo, error) {
	keys, err := b.List(ctx, release.ReleasesPrefix)
	if err != nil {
		return nil, err
	}
	var cur int64
	if data, err := b.Get(ctx, release.CurrentKey, 0); err == nil {
		cur, _ = release.ParseCurrent(data)
	} else if !IsNotFound(err) {
		return nil, err
	}
	var out []ReleaseInfo
	for _, k := range keys {
		n, ok := release.ParseManifestKey(k)
		if !ok {
			continue
		}
		m, err := LoadManifest(ctx, b, n, pub)
		out = append(out, ReleaseInfo{Release: n, Current: n == cur, Manifest: m, Err: err})
	}
	slices.SortFunc(out, func(a, b ReleaseInfo) int { return int(a.Release - b.Release) })
	return out, nil
}

// Staging: a sharded run writes its outcome to a staging key; assemble reads
// all shards' outcomes and publishes one release.

// StagingKey is where shard i of n writes its outcome for a run date and
// phase.
func StagingKey(phase int, date string, s Shard) string {
	return fmt.Sprintf("staging/phase-%d/%s/shard-%d-of-%d.json", phase, date, s.I, s.N)
}

// WriteStaging stores a shard's outcome (models included, byte for byte).
func WriteStaging(ctx context.Context, b Bucket, o *Outcome, s Shard) (string, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("staging: %w", err)
	}
	key := StagingKey(o.Phase, o.Date, s)
	if err := b.Put(ctx, key, data, nil); err != nil {
		return "", fmt.Errorf("staging: %w", err)
	}
	return key, nil
}

// ReadStaging reads all n shards' outcomes for a run date and phase; every
// shard must be there.
func ReadStaging(ctx context.Context, b Bucket, phase int, date string, n int) ([]*Outcome, error) {
	if n < 1 {
		return nil, fmt.Errorf("shard count %d must be at least 1", n)
	}
	var outs []*Outcome
	var missing []string
	for i := range n {
		sh := Shard{i, n}
		key := StagingKey(phase, date, sh)
		data, err := b.Get(ctx, key, 0)
		if IsNotFound(err) {
			missing = append(missing, sh.String())
			continue
		}
		if err != nil {
			return nil, err
		}
		var o Outcome
		if err := json.Unmarshal(data, &o); err != nil {
			return nil, fmt.Errorf("staging %s: %w", key, err)
		}
		if o.Date != date || o.Phase != phase || o.Shard != sh.String() {
			return nil, fmt.Errorf("staging %s holds shard %s of %s phase %d", key, o.Shard, o.Date, o.Phase)
		}
		outs = append(outs, &o)
	}
	if len(missing) > 0 {
		key := StagingKey(phase, date, Shard{0, n})
		return nil, fmt.Errorf("shards %s of %s phase %d have not finished (no %s)", strings.Join(missing, ", "), date, phase,
			key[:strings.LastIndex(key, "/")+1]+"shard-*")
	}
	return outs, nil
}
