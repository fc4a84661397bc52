package debbuild

import (
	"fmt"
	"strings"
	"time"
)

type srcDst struct{ src, dst string }

// spec is one package: what it carries beyond binary, man page, copyright
// and changelog.
type spec struct {
	name        string
	description string // first line is the synopsis
	units       []string
	enable      []string // units an upgrade restarts and removal stops
	conffiles   []srcDst // repository path -> /etc path
	docs        []srcDst // repository path -> name under /usr/share/doc/<pkg>
	data        []srcDst // repository path -> absolute path of read-only data
	suggests    []string
	man         ManPage
}

// sources are the repository files a spec packs (besides the binary).
func (s spec) sources() []string {
	var f []string
	for _, u := range s.units {
		f = append(f, "packaging/systemd/"+u)
	}
	for _, c := range s.conffiles {
		f = append(f, c.src)
	}
	for _, c := range s.docs {
		f = append(f, c.src)
	}
	for _, c := range s.data {
		f = append(f, c.src)
	}
	return f
}

// cmapssData is NASA's C-MAPSS data (public domain) that `budare-central
// eval cmapss` reads by default from /usr/share/budare/cmapss.
func cmapssData() []srcDst {
	var out []srcDst
	for _, n := range []string{"train_FD001", "test_FD001", "RUL_FD001", "train_FD002", "test_FD002", "RUL_FD002"} {
		out = append(out, srcDst{"central/cmapss/testdata/" + n + ".txt.gz", "/usr/share/budare/cmapss/" + n + ".txt.gz"})
	}
	return out
}

func packages() []spec {
	return []spec{
		{
			name: "budare-agent",
			description: `kitchen agent for budare predictive maintenance
budare-agent runs on a kitchen's gateway. It stores every cooking record the
arepa machines publish on the kitchen's MQTT broker in a local store,
acknowledging each message only once it is on disk, uploads one window per
day to the central object store, keeps the newest signed models, and each
morning publishes a maintenance action per machine.`,
			units:     []string{"budare-agent.service"},
			enable:    []string{"budare-agent.service"},
			conffiles: []srcDst{{"packaging/agent.example.toml", "/etc/budare/agent.toml"}},
			docs: []srcDst{{"packaging/mosquitto/budare.conf", "examples/mosquitto-budare.conf"},
				{"packaging/mosquitto/budare.acl", "examples/mosquitto-budare.acl"}},
			suggests: []string{"mosquitto"},
			man: ManPage{
				Summary: "kitchen agent for budare predictive maintenance",
				Intro: `budare-agent collects the cooking metrics of a kitchen's arepa machines
from its MQTT broker into a local bbolt store, acknowledging each message to
the broker only after it is on disk, uploads daily windows to the central
object store, verifies and installs signed model releases, and at the start
of each local day publishes one maintenance action per machine.

Under systemd it runs as budare-agent.service: it reports readiness and
pings the watchdog (Type=notify, WatchdogSec=), keeps its state in
/var/lib/budare and reads its secrets from $CREDENTIALS_DIRECTORY.`,
				Sections: [][2]string{{"Credentials", `The unit loads these files with LoadCredential= and the agent finds
them in $CREDENTIALS_DIRECTORY when a *_file key in the configuration holds
a bare name: mqtt-password, s3-access-key, s3-secret-key.
Keep them in /etc/budare/credentials/, owned by root, mode 0600.`}},
				Files: [][2]string{
					{"/etc/budare/agent.toml", "configuration (TOML)"},
					{"/etc/budare/credentials/", "secrets handed to the service as credentials"},
					{"/var/lib/budare/", "local store, upload state and models"},
					{"/usr/share/doc/budare-agent/examples/mosquitto-budare.conf", "settings a kitchen's Mosquitto broker needs"},
					{"/usr/share/doc/budare-agent/examples/mosquitto-budare.acl", "the access control list budare.conf points to (install as /etc/mosquitto/budare.acl)"},
				},
				SeeAlso: []string{"budare-central(1)", "systemd.exec(5)", "systemd-creds(1)", "mosquitto.conf(5)"},
			},
		},
		{
			name: "budare-central",
			description: `central trainer and dashboard for budare predictive maintenance
budare-central retrains one model per arepa type every night on the windows
uploaded by every kitchen of a phase, publishes a model only when it beats
the current one on the same holdout, signs each release, and serves a
dashboard of actions, machine health and model quality.`,
			units:  []string{"budare-central-train.service", "budare-central-train.timer", "budare-central-serve.service"},
			enable: []string{"budare-central-train.timer", "budare-central-serve.service"},
			conffiles: []srcDst{
				{"packaging/central.example.toml", "/etc/budare/central.toml"},
				{"packaging/arepa-types.example.txt", "/etc/budare/arepa-types.txt"},
			},
			docs: []srcDst{
				{"packaging/k8s/train-cronjob.yaml", "examples/k8s/train-cronjob.yaml"},
				{"packaging/k8s/train-stages.yaml", "examples/k8s/train-stages.yaml"},
				{"packaging/k8s/serve.yaml", "examples/k8s/serve.yaml"},
			},
			data: cmapssData(),
			man: ManPage{
				Summary: "central trainer and dashboard for budare predictive maintenance",
				Intro: `budare-central trains one model per arepa type on the daily windows the
kitchens' agents upload, compares each new model with the current one and
with alternative techniques on a time-based holdout, publishes the winners
as an ed25519-signed release, and serves a dashboard.

Under systemd, budare-central-train.timer starts budare-central-train.service
every night and budare-central-serve.service runs the dashboard.`,
				Sections: [][2]string{{"Credentials", `The units load these files with LoadCredential= and budare-central finds
them in $CREDENTIALS_DIRECTORY when a *_file key in the configuration holds
a bare name: s3-access-key, s3-secret-key and, for training,
release-signing-key. Keep them in /etc/budare/credentials/, owned by root,
mode 0600.`}},
				Files: [][2]string{
					{"/etc/budare/central.toml", "configuration (TOML)"},
					{"/etc/budare/arepa-types.txt", "the arepa types to train, one per line"},
					{"/etc/budare/credentials/", "secrets handed to the services as credentials"},
					{"/usr/share/doc/budare-central/examples/k8s/", "Kubernetes manifests for sharded training and the dashboard"},
					{"/usr/share/budare/cmapss/", "NASA C-MAPSS FD001 and FD002, the data eval cmapss reads by default"},
				},
				SeeAlso: []string{"budare-agent(1)", "systemd.timer(5)", "systemd.exec(5)"},
			},
		},
	}
}

// postinst reloads systemd so it sees new or changed units, and on upgrade
// restarts what was running with the new binary. A fresh install starts
// nothing: the operator configures first, then enables.
func (s spec) postinst() string {
	return fmt.Sprintf(`#!/bin/sh
set -e
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ]; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			systemctl try-restart %s >/dev/null || true
		fi
	fi
fi
exit 0
`, strings.Join(s.enable, " "))
}

func (s spec) prerm() string {
	return fmt.Sprintf(`#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
	systemctl stop %[1]s >/dev/null || true
	systemctl disable %[1]s >/dev/null 2>&1 || true
fi
exit 0
`, strings.Join(s.enable, " "))
}

// postrm leaves /var/lib/budare alone even on purge: it may hold records not
// yet uploaded, and deleting them is the operator's call.
const postrm = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
exit 0
`

func copyright(date time.Time) string {
	return fmt.Sprintf(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: budare
Upstream-Contact: %s

Files: *
Copyright: %d The budare authors
License: proprietary
 All rights reserved. Distributed to the restaurant chain's operators for
 use on their own machines only.
`, Maintainer, date.Year())
}

// changelog is a one-entry Debian changelog for a native package, which
// lintian requires; the release history lives in git.
func changelog(pkg, version, describe string, date time.Time) string {
	return fmt.Sprintf(`%s (%s) unstable; urgency=medium

  * Build of %s.

 -- %s  %s
`, pkg, version, describe, Maintainer, date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}
