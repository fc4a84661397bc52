package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func testManifest(t *testing.T, n int64, model []byte) *Manifest {
	t.Helper()
	e := Describe(ModelKey("reina-pepiada", n), model)
	e.Technique = "logreg"
	e.Threshold = 0.4
	e.Trained = n
	e.Holdout = map[string]float64{"pr_auc": 0.8}
	return &Manifest{Release: n, Created: t0, Expires: t0.Add(30 * 24 * time.Hour),
		Models: map[string]Entry{"reina-pepiada": e}}
}

func keys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestSignVerify(t *testing.T) {
	pub, priv := keys(t)
	otherPub, otherPriv := keys(t)
	model := []byte(`{"technique":"logreg","w":[1,2,3]}`)
	m := testManifest(t, 5, model)
	mb, sig, err := Sign(m, priv)
	if err != nil {
		t.Fatal(err)
	}
	_, otherSig, err := Sign(testManifest(t, 5, model), otherPriv)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(mb, []byte(`"threshold": 0.4`), []byte(`"threshold": 0.9`), 1)
	if bytes.Equal(tampered, mb) {
		t.Fatal("tampering did not change the manifest")
	}
	now := t0.Add(time.Hour)
	tests := []struct {
		name     string
		manifest []byte
		sig      []byte
		pub      ed25519.PublicKey
		now      time.Time
		min      int64
		want     error
	}{
		{"ok", mb, sig, pub, now, 0, nil},
		{"ok same release", mb, sig, pub, now, 5, nil},
		{"raw signature", mb, ed25519.Sign(priv, mb), pub, now, 0, nil},
		{"tampered manifest", tampered, sig, pub, now, 0, ErrSignature},
		{"other key", mb, sig, otherPub, now, 0, ErrSignature},
		{"signed by other key", mb, otherSig, pub, now, 0, ErrSignature},
		{"garbage signature", mb, []byte("hello"), pub, now, 0, ErrSignature},
		{"empty public key", mb, sig, nil, now, 0, ErrSignature},
		{"rollback", mb, sig, pub, now, 6, ErrRollback},
		{"expired", mb, sig, pub, t0.Add(31 * 24 * time.Hour), 0, ErrExpired},
		{"expires exactly now", mb, sig, pub, m.Expires, 0, ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.manifest, tc.sig, tc.pub, tc.now, tc.min)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if got != nil {
					t.Fatal("Verify returned a manifest with an error")
				}
				return
			}
			if got.Release != 5 || got.Models["reina-pepiada"].Technique != "logreg" {
				t.Fatalf("Verify returned %+v", got)
			}
			if err := got.Models["reina-pepiada"].Check(model); err != nil {
				t.Fatalf("Check of the signed model: %v", err)
			}
		})
	}
}

func TestEntryCheck(t *testing.T) {
	model := []byte(`{"technique":"logreg","w":[1,2,3]}`)
	e := Describe("models/a/1/model.json", model)
	flipped := bytes.Clone(model)
	flipped[5] ^= 1
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"same", model, nil},
		{"one bit flipped", flipped, ErrHash},
		{"truncated", model[:len(model)-1], ErrHash},
		{"longer", append(bytes.Clone(model), ' '), ErrHash},
		{"empty", nil, ErrHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.Check(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			got, err := e.ReadChecked(bytes.NewReader(tc.data))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadChecked = %v, want %v", err, tc.want)
			}
			if err == nil && !bytes.Equal(got, model) {
				t.Fatal("ReadChecked returned other bytes")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	model := []byte("x")
	mod := func(f func(m *Manifest)) *Manifest {
		m := testManifest(t, 3, model)
		f(m)
		return m
	}
	tests := []struct {
		name string
		m    *Manifest
		ok   bool
	}{
		{"ok", mod(func(*Manifest) {}), true},
		{"no models", mod(func(m *Manifest) { m.Models = nil }), true},
		{"zero release", mod(func(m *Manifest) { m.Release = 0 }), false},
		{"expires before created", mod(func(m *Manifest) { m.Expires = m.Created.Add(-time.Second) }), false},
		{"bad hash", mod(func(m *Manifest) {
			e := m.Models["reina-pepiada"]
			e.SHA256 = "abc"
			m.Models["reina-pepiada"] = e
		}), false},
		{"path in type", mod(func(m *Manifest) { m.Models["../x"] = m.Models["reina-pepiada"] }), false},
		{"dotdot key", mod(func(m *Manifest) {
			e := m.Models["reina-pepiada"]
			e.Key = "models/../../etc/passwd"
			m.Models["reina-pepiada"] = e
		}), false},
		{"zero size", mod(func(m *Manifest) {
			e := m.Models["reina-pepiada"]
			e.Size = 0
			m.Models["reina-pepiada"] = e
		}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.V = Version
			err := tc.m.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Validate error %v is not ErrMalformed", err)
			}
		})
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	privPath, pubPath := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	pub, err := GenerateKeys(privPath, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := GenerateKeys(privPath, pubPath); err == nil {
		t.Fatal("GenerateKeys overwrote an existing private key")
	}
	priv, err := LoadPrivateKey(privPath, "")
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(pub2) || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatal("loaded keys do not match the generated pair")
	}
	mb, sig, err := Sign(testManifest(t, 1, []byte("m")), priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(mb, sig, pub2, t0, 0); err != nil {
		t.Fatalf("verify with the loaded public key: %v", err)
	}
	if _, err := LoadPrivateKey(pubPath, ""); err == nil {
		t.Fatal("a public key loaded as a private key")
	}
	if _, err := ParsePublicKey([]byte("not a key")); err == nil {
		t.Fatal("garbage parsed as a public key")
	}
}

func TestCurrentAndKeys(t *testing.T) {
	for _, s := range []string{"7", "7\n", " 7 "} {
		if n, err := ParseCurrent([]byte(s)); err != nil || n != 7 {
			t.Errorf("ParseCurrent(%q) = %d, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "0", "-1", "x", "7.5"} {
		if _, err := ParseCurrent([]byte(s)); err == nil {
			t.Errorf("ParseCurrent(%q) accepted", s)
		}
	}
	if n, err := ParseCurrent(FormatCurrent(42)); err != nil || n != 42 {
		t.Errorf("FormatCurrent round trip = %d, %v", n, err)
	}
	if n, ok := ParseManifestKey(ManifestKey(12)); !ok || n != 12 {
		t.Errorf("ParseManifestKey(ManifestKey(12)) = %d, %v", n, ok)
	}
	for _, k := range []string{SigKey(12), "models/releases/x.json", "models/releases/012.json", "models/current"} {
		if _, ok := ParseManifestKey(k); ok {
			t.Errorf("ParseManifestKey(%q) accepted", k)
		}
	}
	if !strings.HasPrefix(ModelKey("a", 3), "models/a/3/") {
		t.Error(ModelKey("a", 3))
	}
}

func FuzzParse(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	mb, _, err := Sign(&Manifest{Release: 1, Created: t0, Expires: t0.Add(time.Hour),
		Models: map[string]Entry{"a": Describe("models/a/1/model.json", []byte("x"))}}, priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mb)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v is not ErrMalformed", err)
			}
			return
		}
		// Anything Parse accepts must survive signing and verifying.
		m2, sig, err := Sign(m, priv)
		if err != nil {
			t.Fatalf("Sign of a parsed manifest: %v", err)
		}
		if _, err := Verify(m2, sig, priv.Public().(ed25519.PublicKey), m.Created, 0); err != nil && !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify of a re-signed manifest: %v", err)
		}
	})
}
