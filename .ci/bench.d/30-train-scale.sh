#!/usr/bin/env bash
# Scale run of the nightly trainer: 1,000 machines (50 kitchens x 20) x 20
# arepa types x 60 days simulated, then one `budare-central train` over a
# 56-day span, measured with GNU time. Goal: at most 5 minutes on 2 cores,
# peak RSS at most 2 GiB. The bucket is a local directory (--dir) laid out
# like the object store, so the figure is the trainer's, not the network's.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -qq time >/dev/null
	else
		sudo apt-get install -y -qq time >/dev/null
	fi
fi
BIN=${BUDARE_CENTRAL_BIN:-bin/budare-central}
[ -x "$BIN" ] || CGO_ENABLED=0 go build -trimpath -o "$BIN" ./central
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$BIN" keygen --private "$work/release.key" >/dev/null
cat >"$work/central.toml" <<TOML
timezone = "America/Caracas"
signing_key_file = "$work/release.key"
[train]
span_days = 56
workers = 2
TOML

start=$(date +%s%N)
"$BIN" simulate --out "$work/bucket" --seed 42 --kitchens 50 --machines 20 --types 20 --days 60 \
	--end 2026-11-25 --phases 1 --types-file "$work/types.txt" --log-level warn >"$work/sim.json"
end=$(date +%s%N)
echo "train_scale_simulate_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"

GOMAXPROCS=2 /usr/bin/time -v -o "$work/time.txt" "$BIN" train --config "$work/central.toml" --dir "$work/bucket" \
	--types "$work/types.txt" --phase 1 --date 2026-11-26 --json --log-level warn >"$work/train.json"

wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
user=$(awk -F': ' '/User time/ {print $2}' "$work/time.txt")
sys=$(awk -F': ' '/System time/ {print $2}' "$work/time.txt")
models=$(grep -c '"status": "new"' "$work/train.json" || true)
rows=$(grep -o '"rows": [0-9]*' "$work/train.json" | head -1 | awk '{print $2}')
records=$(grep -o '"records": [0-9]*' "$work/train.json" | head -1 | awk '{print $2}')
echo "train_scale_machines=1000"
echo "train_scale_types=20"
echo "train_scale_days=60"
echo "train_scale_records=$records"
echo "train_scale_rows=$rows"
echo "train_scale_new_models=$models"
echo "train_scale_seconds=$(printf '%.1f' "$secs")"
echo "train_scale_cpu_seconds=$(awk -v a="$user" -v b="$sys" 'BEGIN { printf "%.1f", a + b }')"
echo "train_scale_peak_rss_mib=$((rss_kb / 1024))"
echo "train_scale_goal_seconds=300"
echo "train_scale_goal_rss_mib=2048"
