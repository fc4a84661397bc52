#!/usr/bin/env bash
# make demo: the whole budare system on one machine, with nothing but Go:
# the object store is a directory (s3.dir) and each kitchen's agent runs its
# own MQTT broker (mqtt.embedded). No root, no Mosquitto, no MinIO.
#
#   budare-central simulate: N kitchens, weeks of windows, the inventory
#   -> budare-central train: one signed model per arepa type (release 1)
#   -> budare-central backtest: the last two weeks replayed and scored
#   -> one budare-agent per kitchen, fed over MQTT by its simulated machines:
#      a backlog of 7 days, then the last day live, time accelerated (--speed)
#   -> the start-of-day decisions, retained on MQTT for the machines' displays
#   -> budare-central serve: the dashboard
#
# It keeps running until Ctrl-C; BUDARE_DEMO_EXIT=1 stops once every
# machine's retained action has arrived. The size is set by
# BUDARE_DEMO_KITCHENS, _MACHINES, _DAYS and _SPEED (simulated seconds per
# second of the live day; 0 = at once).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
kitchens=${BUDARE_DEMO_KITCHENS:-3}
machines=${BUDARE_DEMO_MACHINES:-12}
days=${BUDARE_DEMO_DAYS:-56}
speed=${BUDARE_DEMO_SPEED:-1440} # the last day replayed in a minute
work="${BUDARE_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/budare-demo.XXXXXX")}"
mkdir -p "$work"
pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "demo: stopped; files kept in $work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$SECONDS
say() { printf '\n\033[1m== [%3ds] %s\033[0m\n' $((SECONDS - start)) "$*"; }

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

say "central: signing key and config; the bucket is the directory $work/bucket"
tz="America/Caracas" # the simulator's kitchens are in Caracas
today=$(TZ="$tz" date +%F)
yesterday=$(TZ="$tz" date -d "$today -1 day" +%F)
"$BIN/budare-central" keygen --private "$work/release.key" --public "$work/release.pub" >/dev/null
cat >"$work/central.toml" <<CONF
timezone = "$tz"
signing_key_file = "$work/release.key"
release_expiry = "30d"
[s3]
dir = "$work/bucket"
[serve]
listen = "127.0.0.1:$(free_port)"
CONF
names=()
for i in $(seq "$kitchens"); do names+=("$(printf 'k-%03d' "$i")"); done
# The agents decide each morning at start_of_day. The demo's morning is a
# minute or so away: after the history below is simulated, trained on and
# fed to them, so the decisions see a full week.
sod_epoch=$(( ($(date +%s) + ${BUDARE_DEMO_LEAD:-45} + 59) / 60 * 60 ))
sod=$(TZ="$tz" date -d "@$sod_epoch" +%H:%M)
say "agents: one per kitchen (${names[*]}), each with its own embedded MQTT broker; their morning decision at $sod ($tz)"
for k in "${names[@]}"; do
	mkdir -p "$work/$k"
	cat >"$work/$k/agent.toml" <<CONF
kitchen = "$k"
data_dir = "$work/$k/data"
timezone = "$tz"
listen = "127.0.0.1:$(free_port)"
[mqtt]
embedded = "127.0.0.1:$(free_port)"
[s3]
dir = "$work/bucket"
[models]
release_public_key_file = "$work/release.pub"
poll_interval = "5s"
[decision]
start_of_day = "$sod"
CONF
	"$BIN/budare-agent" check-config --config "$work/$k/agent.toml" >/dev/null
	"$BIN/budare-agent" run --config "$work/$k/agent.toml" 2>"$work/$k/agent.log" &
	pids+=($!)
	listen=$(sed -n 's/^listen = "\(.*\)"/\1/p' "$work/$k/agent.toml")
	wait_port "${listen##*:}" 20
	echo "$k: agent on http://$listen/, broker $(sed -n 's/^embedded = "\(.*\)"/tcp:\/\/\1/p' "$work/$k/agent.toml"), log $work/$k/agent.log"
done

say "central: simulate $kitchens kitchens x $machines machines, $days days of history"
sim=(--seed 7 --kitchens "$kitchens" --machines "$machines" --types 4 --menu 3 --days "$days" --end "$yesterday" --phases 1)
"$BIN/budare-central" simulate --config "$work/central.toml" "${sim[@]}" --types-file "$work/arepa-types.txt" --log-level warn

say "central: nightly training (one model per arepa type, signed release)"
"$BIN/budare-central" train --config "$work/central.toml" --types "$work/arepa-types.txt" --phase 1 --date "$today" --log-level warn
"$BIN/budare-central" releases --config "$work/central.toml"

say "central: backtest of the last two weeks (weekly retraining, the agent's decision code, scored against the failures that followed)"
"$BIN/budare-central" backtest --config "$work/central.toml" --types "$work/arepa-types.txt" --phase 1 \
	--from "$(TZ="$tz" date -d "$today -17 day" +%F)" --to "$(TZ="$tz" date -d "$today -4 day" +%F)" \
	--out "$work/backtest" --log-level warn

say "machines publish over MQTT (QoS 1): 7 days of backlog at once, then yesterday live at x$speed"
for k in "${names[@]}"; do
	broker=$(sed -n 's/^embedded = "\(.*\)"/tcp:\/\/\1/p' "$work/$k/agent.toml")
	"$BIN/budare-central" simulate "${sim[@]}" --mqtt "$broker" --kitchen "$k" --publish-days 8 --speed "$speed" >"$work/$k/published.json" 2>"$work/$k/feed.log" &
	pids+=($!)
done

say "start-of-day decisions at $sod: retained actions, as a display subscribing now sees them"
for k in "${names[@]}"; do
	"$BIN/budare-agent" actions --config "$work/$k/agent.toml" --want "$machines" --timeout 180s
	echo
done

say "agent inspect (${names[0]})"
"$BIN/budare-agent" inspect --config "$work/${names[0]}/agent.toml"

say "dashboard"
"$BIN/budare-central" serve --config "$work/central.toml" 2>"$work/serve.log" &
pids+=($!)
dash=$(sed -n 's/^listen = "\(.*\)"/\1/p' "$work/central.toml")
wait_port "${dash##*:}" 10
echo "dashboard: http://$dash/   (kitchen page: http://$dash/kitchen/${names[0]})"
echo "logs and data: $work"
say "ready in $((SECONDS - start)) s"

if [[ "${BUDARE_DEMO_EXIT:-}" == 1 ]]; then
	exit 0
fi
echo "running; Ctrl-C stops everything"
wait "${pids[0]}"
