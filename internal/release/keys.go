package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/budare/budare/internal/secretfile"
)

// Key files are standard PEM: PKCS#8 "PRIVATE KEY" and PKIX "PUBLIC KEY", so
// openssl can read them. A public key may also be given as one line of base64
// of its 32 raw bytes.

// GenerateKeys makes an ed25519 key pair and writes it to privPath (mode
// 0600) and pubPath (0644). It never overwrites anything: either file
// existing is an error before anything is written (a public key path may
// well name an existing signing key by mistake).
func GenerateKeys(privPath, pubPath string) (ed25519.PublicKey, error) {
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s already exists; keygen never overwrites a file (move it away or choose another name)", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("key file: %w", err)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	pubPEM, err := EncodePublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return nil, fmt.Errorf("write private key: %w", err)
	}
	if err := writeNew(pubPath, pubPEM, 0o644); err != nil {
		// Created a moment ago by us, and useless without its public half.
		_ = os.Remove(privPath)
		return nil, fmt.Errorf("write public key: %w", err)
	}
	return pub, nil
}

// writeNew creates path with data; it fails if path exists (O_EXCL, so
// even a file created since the check above is never overwritten).
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// EncodePublicKey is pub as the PEM PKIX "PUBLIC KEY" the agents load.
func EncodePublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// LoadPrivateKey reads a PEM PKCS#8 ed25519 private key file.
// It refuses a file group or others can read (secretfile.CheckMode, with
// credDir the $CREDENTIALS_DIRECTORY): whoever reads the signing key can
// sign models every agent installs.
func LoadPrivateKey(path, credDir string) (ed25519.PrivateKey, error) {
	if err := secretfile.CheckMode(path, credDir); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKey decodes a PEM PKCS#8 ed25519 private key.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#8 key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not ed25519", k)
	}
	return priv, nil
}

// LoadPublicKey reads a public key file (PEM PKIX, or one line of base64).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release public key: %w", err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("release public key %s: %w", path, err)
	}
	return k, nil
}

// ParsePublicKey decodes a PEM PKIX ed25519 public key or base64 of its 32 bytes.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\"", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("not a PKIX key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("key is %T, not ed25519", k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("neither PEM nor base64 of %d bytes", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}
