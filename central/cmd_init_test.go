package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/budare/budare/internal/inventory"

	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/testenv"
)

// TestInitAgainstMinIO runs init against a real MinIO: it creates the
// bucket, uploads the inventory the trainer then reads, writes the public
// key, and is idempotent; a different inventory needs --replace and a bad
// one is refused with its line named.
func TestInitAgainstMinIO(t *testing.T) {
	srv := testenv.MinIO(t)
	dir := t.TempDir()
	ak, sk, err := srv.WriteCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "release.key")
	cfgFile := filepath.Join(dir, "central.toml")
	cfg := fmt.Sprintf("timezone = \"UTC\"\nsigning_key_file = %q\n[s3]\nendpoint = %q\nbucket = \"chain\"\naccess_key_file = %q\nsecret_key_file = %q\ntls = false\n",
		keyFile, srv.Endpoint, ak, sk)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := inv("kitchens.csv", "kitchen,phase,timezone\nk-001,1,America/Caracas\nk-002,2,America/Bogota\n")
	other := inv("other.csv", "kitchen,phase,timezone\nk-001,1,America/Caracas\nk-003,1,UTC\n")
	bad := inv("bad.csv", "kitchen,phase,timezone\nk-001,1,America/Caracas\nk-004,one,UTC\n")
	runCLI(t, "keygen", "--private", keyFile)
	if err := os.Remove(filepath.Join(dir, "release.pub")); err != nil {
		t.Fatal(err)
	}
	initCmd := func(args ...string) (string, int) {
		var out bytes.Buffer
		code := run(context.Background(), append([]string{"init", "--config", cfgFile}, args...), &out, &out)
		return out.String(), code
	}

	out, code := initCmd("--inventory", good)
	for _, want := range []string{`bucket "chain" on ` + srv.Endpoint + ": created", "kitchens.csv: uploaded, 2 kitchen(s)",
		"release.pub: written", `"k-001"  (phase 1; timezone = "America/Caracas")`, `"k-002"`,
		`endpoint = "` + srv.Endpoint + `"`, `bucket = "chain"`, "tls = false", "release_public_key_file ="} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("first init: exit %d, want %q in:\n%s", code, want, out)
		}
	}
	out, code = initCmd("--inventory", good)
	for _, want := range []string{": exists", "kitchens.csv: unchanged, 2 kitchen(s)", "release.pub: exists"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("second init: exit %d, want %q in:\n%s", code, want, out)
		}
	}
	if out, code = initCmd(); code != 0 || !strings.Contains(out, "kitchens.csv: kept, 2 kitchen(s)") {
		t.Fatalf("init without --inventory: exit %d:\n%s", code, out)
	}
	if out, code = initCmd("--inventory", other); code != 1 || !strings.Contains(out, "--replace") || !strings.Contains(out, "[k-003]") {
		t.Fatalf("different inventory without --replace: exit %d:\n%s", code, out)
	}
	if out, code = initCmd("--inventory", bad, "--replace"); code != 1 || !strings.Contains(out, "line 3: phase") {
		t.Fatalf("bad inventory: exit %d:\n%s", code, out)
	}
	if out, code = initCmd("--inventory", other, "--replace"); code != 0 || !strings.Contains(out, "replaced, 2 kitchen(s) (was 2; added [k-003], removed [k-002])") {
		t.Fatalf("--replace: exit %d:\n%s", code, out)
	}

	// The trainer reads what init uploaded; the agents' key verifies releases.
	var s3cfg objstore.Config
	off := false
	s3cfg.Endpoint, s3cfg.Bucket, s3cfg.AccessKeyFile, s3cfg.SecretKeyFile, s3cfg.TLS = srv.Endpoint, "chain", ak, sk, &off
	st, err := objstore.New(s3cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Get(context.Background(), inventory.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := inventory.Decode(b)
	if err != nil || len(ks) != 2 || ks[1].Name != "k-003" {
		t.Fatalf("trainer reads %+v, %v", ks, err)
	}
	pub, err := release.LoadPublicKey(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := release.LoadPrivateKey(keyFile, "")
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("written public key is not the signing key's (%v)", err)
	}
}
