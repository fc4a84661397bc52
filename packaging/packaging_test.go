// Package packaging_test checks the files in packaging/ that are not Go
// code: systemd units, Kubernetes manifests and the Mosquitto sample, the
// last one by running a real broker with it.
package packaging_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unit is a parsed systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func readUnit(t *testing.T, name string) unit {
	t.Helper()
	f, err := os.Open(filepath.Join("systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: cannot parse %q", name, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unit) last(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func TestAgentUnit(t *testing.T) {
	u := readUnit(t, "budare-agent.service")
	want := map[string]string{
		"Type":                    "notify",
		"Restart":                 "always",
		"StateDirectory":          "budare",
		"DynamicUser":             "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectControlGroups":    "yes",
		"ProtectClock":            "yes",
		"ProtectHostname":         "yes",
		"RestrictNamespaces":      "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictRealtime":        "yes",
		"RestrictSUIDSGID":        "yes",
		"SystemCallArchitectures": "native",
		"UMask":                   "0077",
		"ProcSubset":              "pid",
		"ProtectProc":             "invisible",
		"PrivateUsers":            "yes",
		"ExecStart":               "/usr/bin/budare-agent run --config /etc/budare/agent.toml",
	}
	for k, v := range want {
		if _, ok := u["Service"][k]; !ok {
			t.Errorf("[Service] %s missing", k)
		} else if got := u.last("Service", k); got != v {
			t.Errorf("[Service] %s=%s, want %s", k, got, v)
		}
	}
	if !slices.Contains(u["Service"]["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%v lacks @system-service", u["Service"]["SystemCallFilter"])
	}
	if u.last("Service", "WatchdogSec") == "" {
		t.Error("WatchdogSec missing: the agent's watchdog pings would go unchecked")
	}
	var creds []string
	for _, c := range u["Service"]["LoadCredential"] {
		id, path, _ := strings.Cut(c, ":")
		if path != "/etc/budare/credentials/"+id {
			t.Errorf("LoadCredential=%s: want the file /etc/budare/credentials/%s", c, id)
		}
		creds = append(creds, id)
	}
	if !slices.Equal(creds, []string{"mqtt-password", "s3-access-key", "s3-secret-key"}) {
		t.Errorf("credentials %v, want mqtt-password s3-access-key s3-secret-key", creds)
	}
	if u.last("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("WantedBy=%q", u.last("Install", "WantedBy"))
	}
}

func TestCentralUnits(t *testing.T) {
	train := readUnit(t, "budare-central-train.service")
	timer := readUnit(t, "budare-central-train.timer")
	serve := readUnit(t, "budare-central-serve.service")
	if got := train.last("Service", "Type"); got != "oneshot" {
		t.Errorf("train Type=%s, want oneshot", got)
	}
	if _, ok := train["Install"]; ok {
		t.Error("the train service has an [Install] section: the timer starts it, enabling it would train at every boot")
	}
	if !strings.HasPrefix(train.last("Service", "ExecStart"), "/usr/bin/budare-central train --config /etc/budare/central.toml --types /etc/budare/arepa-types.txt") {
		t.Errorf("train ExecStart=%s", train.last("Service", "ExecStart"))
	}
	if timer.last("Timer", "Persistent") != "true" || timer.last("Timer", "RandomizedDelaySec") == "" || timer.last("Timer", "OnCalendar") == "" {
		t.Errorf("timer [Timer] = %v: want OnCalendar, Persistent=true and RandomizedDelaySec", timer["Timer"])
	}
	if u := timer.last("Timer", "Unit"); u != "" && u != "budare-central-train.service" {
		t.Errorf("timer starts %s", u)
	}
	if timer.last("Install", "WantedBy") != "timers.target" {
		t.Errorf("timer WantedBy=%s, want timers.target", timer.last("Install", "WantedBy"))
	}
	if !strings.HasPrefix(serve.last("Service", "ExecStart"), "/usr/bin/budare-central serve --config /etc/budare/central.toml") {
		t.Errorf("serve ExecStart=%s", serve.last("Service", "ExecStart"))
	}
	for name, u := range map[string]unit{"train": train, "serve": serve} {
		for _, k := range []string{"DynamicUser", "ProtectSystem", "NoNewPrivileges", "PrivateUsers", "MemoryDenyWriteExecute"} {
			if u.last("Service", k) == "" {
				t.Errorf("%s: %s missing", name, k)
			}
		}
	}
}
