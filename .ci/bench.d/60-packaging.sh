#!/usr/bin/env bash
# Packaging figures: .deb and binary sizes per architecture (the packages
# `make deb` builds), the agent unit's systemd security exposure
# (0 = fully locked down, 10 = unprotected; goal at most 1.5), and the
# packaged agent's idle RSS while connected to a real Mosquitto (goal at
# most 20 MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$out"
}
trap cleanup EXIT
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
go run ./packaging/build -version "$version" -out "$out" 2>/dev/null |
	while IFS=$'\t' read -r pkg arch _path deb bin; do
		key="${pkg//-/_}_${arch}"
		echo "deb_bytes_${key}=${deb#deb_bytes=}"
		echo "binary_bytes_${key}=${bin#binary_bytes=}"
	done
score() {
	systemd-analyze security --offline=yes --no-pager "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
echo "systemd_security_score_agent=$(score packaging/systemd/budare-agent.service)"
echo "systemd_security_score_central_train=$(score packaging/systemd/budare-central-train.service)"
echo "systemd_security_score_central_serve=$(score packaging/systemd/budare-central-serve.service)"

# Idle RSS: the packaged amd64 agent, subscribed to an empty kitchen broker,
# after 20 s with nothing to do.
dpkg-deb -x "$(ls "$out"/budare-agent_*_amd64.deb)" "$out/root"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$out/data"
{
	echo "listener $port 127.0.0.1"
	echo "allow_anonymous true"
	# As root Mosquitto would switch to user mosquitto, locked out of $out.
	if [[ $(id -u) -eq 0 ]]; then echo "user root"; fi
} >"$out/mosquitto.conf"
"${BUDARE_MOSQUITTO_BIN:-/usr/sbin/mosquitto}" -c "$out/mosquitto.conf" >"$out/mosquitto.log" 2>&1 &
pids+=($!)
cat >"$out/agent.toml" <<CONF
kitchen = "k-017"
data_dir = "$out/data"
timezone = "America/Caracas"
listen = ""
[mqtt]
broker = "tcp://127.0.0.1:$port"
client_id = "budare-agent-k-017"
CONF
sleep 1
"$out/root/usr/bin/budare-agent" run --config "$out/agent.toml" >"$out/agent.log" 2>&1 &
apid=$!
pids+=("$apid")
sleep 20
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$apid/status")
echo "agent_idle_rss_kib=$rss"
echo "agent_idle_rss_mib=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
