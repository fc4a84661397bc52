#!/usr/bin/env bash
# make demo: the whole budare system on one machine, on loopback.
#
#   MinIO (object store) + Mosquitto (kitchen broker)
#   -> budare-central simulate: 3 kitchens, 56 days of windows, inventory
#   -> budare-central train: one signed model per arepa type (release 1)
#   -> budare-central backtest: the last two weeks replayed and scored
#   -> budare-agent run for kitchen k-001, fed by its simulated machines over MQTT
#   -> the start-of-day decision, retained on MQTT for the machines' displays
#   -> budare-central serve: the dashboard
#
# It keeps running until Ctrl-C; BUDARE_DEMO_EXIT=1 stops after the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
work="${BUDARE_DEMO_DIR:-$(mktemp -d /tmp/budare-demo.XXXXXX)}"
mkdir -p "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "demo: stopped; files kept in $work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
wait_port() { # port seconds
	for _ in $(seq $(($2 * 10))); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "demo: nothing listens on 127.0.0.1:$1 after $2 s" >&2
	return 1
}

say "object store: MinIO on loopback"
s3port=$(free_port)
akey="demo$RANDOM"
skey="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$work/minio" "$work/creds"
printf '%s\n' "$akey" >"$work/creds/s3-access-key"
printf '%s\n' "$skey" >"$work/creds/s3-secret-key"
chmod 600 "$work/creds/"*
MINIO_ROOT_USER="$akey" MINIO_ROOT_PASSWORD="$skey" MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CI_CD=1 \
	"$BUDARE_MINIO_BIN" server "$work/minio" --quiet --address "127.0.0.1:$s3port" \
	--console-address "127.0.0.1:$(free_port)" >"$work/minio.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
	curl -fs "http://127.0.0.1:$s3port/minio/health/cluster" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs "http://127.0.0.1:$s3port/minio/health/cluster" >/dev/null || { echo "demo: MinIO did not start; see $work/minio.log" >&2; exit 1; }
echo "MinIO at 127.0.0.1:$s3port, data in $work/minio"

say "kitchen broker: Mosquitto on loopback"
mqport=$(free_port)
mkdir -p "$work/mosquitto"
cat >"$work/mosquitto/mosquitto.conf" <<CONF
# packaging/mosquitto/budare.conf, reduced to one anonymous loopback listener.
listener $mqport 127.0.0.1
allow_anonymous true
persistence true
persistence_location $work/mosquitto/
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
CONF
"${BUDARE_MOSQUITTO_BIN:-mosquitto}" -c "$work/mosquitto/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
wait_port "$mqport" 10
broker="tcp://127.0.0.1:$mqport"
echo "Mosquitto at $broker"

say "central: signing key, config, simulated kitchens"
tz="America/Caracas" # k-001's time zone in the simulator
today=$(TZ="$tz" date +%F)
yesterday=$(TZ="$tz" date -d "$today -1 day" +%F)
"$BIN/budare-central" keygen --private "$work/release.key" --public "$work/release.pub" >/dev/null
cat >"$work/central.toml" <<CONF
timezone = "$tz"
signing_key_file = "$work/release.key"
release_expiry = "30d"
[s3]
endpoint = "127.0.0.1:$s3port"
bucket = "budare"
access_key_file = "$work/creds/s3-access-key"
secret_key_file = "$work/creds/s3-secret-key"
tls = false
[serve]
listen = "127.0.0.1:$(free_port)"
CONF
sim=(--seed 7 --kitchens 3 --machines 12 --types 4 --menu 3 --days 56 --end "$yesterday" --phases 1)
"$BIN/budare-central" simulate --config "$work/central.toml" "${sim[@]}" --types-file "$work/arepa-types.txt"

say "central: nightly training of phase 1 (one model per arepa type, signed release)"
"$BIN/budare-central" train --config "$work/central.toml" --types "$work/arepa-types.txt" --phase 1 --date "$today"
"$BIN/budare-central" releases --config "$work/central.toml"

say "central: backtest of the last two weeks (weekly retraining, the agent's decision code, scored against the failures that followed)"
"$BIN/budare-central" backtest --config "$work/central.toml" --types "$work/arepa-types.txt" --phase 1 \
	--from "$(TZ="$tz" date -d "$today -17 day" +%F)" --to "$(TZ="$tz" date -d "$today -4 day" +%F)" \
	--out "$work/backtest" --log-level warn

say "agent: kitchen k-001"
mkdir -p "$work/agent"
agent_listen="127.0.0.1:$(free_port)"
cat >"$work/agent.toml" <<CONF
kitchen = "k-001"
data_dir = "$work/agent"
timezone = "$tz"
listen = "$agent_listen"
[mqtt]
broker = "$broker"
[s3]
endpoint = "127.0.0.1:$s3port"
access_key_file = "$work/creds/s3-access-key"
secret_key_file = "$work/creds/s3-secret-key"
tls = false
[models]
release_public_key_file = "$work/release.pub"
poll_interval = "30s"
[decision]
start_of_day = "00:00"
CONF
"$BIN/budare-agent" check-config --config "$work/agent.toml"
"$BIN/budare-agent" run --config "$work/agent.toml" 2>"$work/agent.log" &
agent_pid=$!
pids+=($agent_pid)
wait_port "${agent_listen##*:}" 20

say "machines of k-001 publish their last 8 days over MQTT (QoS 1)"
"$BIN/budare-central" simulate "${sim[@]}" --mqtt "$broker" --kitchen k-001 --publish-days 8 | tee "$work/published.json"
want=$(sed -n 's/.*"messages":\([0-9]*\).*/\1/p' "$work/published.json")
for _ in $(seq 600); do
	got=$("$BIN/budare-agent" inspect --config "$work/agent.toml" --json | sed -n 's/^{"records":\([0-9]*\).*/\1/p; s/.*"records": *\([0-9]*\),.*/\1/p' | head -1)
	[[ "${got:-0}" -ge "$want" ]] && break
	sleep 0.2
done
echo "agent stored ${got:-0} of $want records"

say "start-of-day decision: retained actions, as a display subscribing now sees them"
for _ in $(seq 300); do
	n=$(mosquitto_sub -h 127.0.0.1 -p "$mqport" -t 'budare/k-001/+/action' -W 1 -F '%t' 2>/dev/null | wc -l || true)
	[[ "$n" -ge 12 ]] && break
	sleep 0.5
done
mosquitto_sub -h 127.0.0.1 -p "$mqport" -t 'budare/k-001/+/action' -W 1 -F '%t %p' 2>/dev/null |
	sed -E 's#budare/k-001/([^/]*)/action .*"level":"([a-z]*)".*"risk":([0-9.e-]*).*"reasons":\[("[^"]*")?.*#\1  \2  risk=\3  \4#' | sort || true
mosquitto_sub -h 127.0.0.1 -p "$mqport" -t 'budare/k-001/agent/status' -W 1 -F 'status: %p' 2>/dev/null || true

say "agent: closed days uploaded to the object store (the upload loop looks every minute)"
for _ in $(seq 90); do
	"$BIN/budare-agent" inspect --config "$work/agent.toml" --json | grep -q '"pending":0' && break
	sleep 1
done

say "agent inspect"
"$BIN/budare-agent" inspect --config "$work/agent.toml"

say "dashboard"
"$BIN/budare-central" serve --config "$work/central.toml" 2>"$work/serve.log" &
pids+=($!)
dash=$(sed -n 's/^listen = "\(.*\)"/\1/p' "$work/central.toml")
wait_port "${dash##*:}" 10
echo "dashboard: http://$dash/   (kitchen page: http://$dash/kitchen/k-001)"
echo "logs and data: $work"

if [[ "${BUDARE_DEMO_EXIT:-}" == 1 ]]; then
	exit 0
fi
echo "running; Ctrl-C stops everything"
wait "$agent_pid"
