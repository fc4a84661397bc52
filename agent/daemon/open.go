package daemon

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/budare/budare/agent/broker"
	"github.com/budare/budare/agent/config"
	"github.com/budare/budare/agent/status"
	"github.com/budare/budare/agent/store"
	"github.com/budare/budare/internal/objstore"
	"github.com/budare/budare/internal/release"
	"github.com/budare/budare/internal/sdnotify"
)

// open takes what the agent holds, in the order a failed start should
// report: the embedded broker (first up, so the agent's own clients find
// it), systemd's notifier, the data directory and its store, the HTTP
// listener, the central bucket and the release key.
func (a *Agent) open() error {
	cfg, log := a.cfg, a.log
	if cfg.MQTT.Embedded != "" {
		b, err := broker.Start(broker.Options{Addr: cfg.MQTT.Embedded, Dir: cfg.BrokerDir(), Logger: log.With("component", "broker")})
		if err != nil {
			return err
		}
		a.broker = b
		log.Info("embedded MQTT broker listening", "addr", b.Addr(), "dir", cfg.BrokerDir())
	}
	var err error
	if a.notifier, err = sdnotify.New(); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir %s: %w (create it, owned by the agent's user, or fix data_dir in the config)", cfg.DataDir, err)
	}
	a.store, err = store.Open(cfg.StorePath(), store.Options{Location: cfg.Location, Timeout: a.opt.StoreLockTimeout,
		Verify: true, Log: log})
	if err != nil {
		return err
	}
	if cfg.Listen != "" {
		if a.listener, err = status.Listen(cfg.Listen); err != nil {
			return err
		}
	}
	if a.bucket, err = openBucket(cfg); err != nil {
		return err
	}
	a.pubKey, a.keyErr = publicKey(cfg)
	return nil
}

// openBucket opens the central object store, nil without an [s3] section.
func openBucket(cfg *config.Config) (objstore.Bucket, error) {
	if !cfg.HasS3 {
		return nil, nil
	}
	return objstore.Open(cfg.S3, cfg.CredentialsDir)
}

// modelsDir is where installed model releases live.
func modelsDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "models") }

// publicKey loads the release public key, or nil with a reason when none is
// configured.
func publicKey(cfg *config.Config) (ed25519.PublicKey, error) {
	if cfg.Models.ReleasePublicKeyFile == "" {
		return nil, errors.New("models.release_public_key_file is not set: no model is trusted, every machine is \"unknown\"")
	}
	return release.LoadPublicKey(cfg.Models.ReleasePublicKeyFile)
}
