#!/usr/bin/env bash
# Scale runs of the nightly trainer, measured with GNU time; the buckets are
# local directories (--dir) laid out like the object store, so the figures
# are the trainer's, not the network's.
#
# 1. One `train` of 1,000 machines (50 kitchens x 20) x 20 arepa types x 60
#    days simulated (56-day span), with the fast window decoder and, side by
#    side on a copy of the same bucket, with encoding/json alone (--decoder
#    json, the path before it). Goals: at most 5 minutes on 2 cores, peak RSS
#    at most 2 GiB, and the fast path at least 1.5x faster than 57.8 s.
# 2. A chain night: 4,000 machines (200 kitchens x 20) x 20 types x 42-day
#    span as a staged run — 4 rows shards (by kitchen), then 4 fit shards (by
#    type), then assemble, one after another on this machine — and as one
#    `train` on the same windows. Goals: each rows shard reads about 1/4 of
#    the windows' bytes, the stages' CPU sums to within 20 % of the single
#    run's, and both publish byte-identical releases (same --now).
#
# TRAIN_SCALE_KITCHENS and TRAIN_CHAIN_KITCHENS shrink the two runs (20
# machines each) for a quick try; TRAIN_SCALE_KITCHENS=0 skips run 1, TRAIN_CHAIN_KITCHENS=0 run 2.
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
KITCHENS=${TRAIN_SCALE_KITCHENS:-50}
CHAIN_KITCHENS=${TRAIN_CHAIN_KITCHENS:-200}
SHARDS=4
NOW=2026-11-26T05:00:00Z
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
cat >"$work/chain.toml" <<TOML
timezone = "America/Caracas"
signing_key_file = "$work/release.key"
[train]
span_days = 42
folds = 2
workers = 2
TOML

# timed NAME CMD...: runs CMD on 2 cores under GNU time, stdout to
# $work/NAME.out, figures to $work/NAME.time.
timed() {
	local name=$1
	shift
	GOMAXPROCS=2 /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out"
}
wall() {
	awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$1.time" |
		awk -F: '{ if (NF==3) printf "%.1f", $1*3600+$2*60+$3; else printf "%.1f", $1*60+$2 }'
}
cpu() {
	awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END { printf "%.1f", u + s }' "$work/$1.time"
}
rss_mib() {
	awk -F': ' '/Maximum resident set size/ { printf "%d", $2 / 1024 }' "$work/$1.time"
}
json_num() { # json_num NAME KEY: the first "KEY": number in NAME.out
	grep -o "\"$2\": [0-9]*" "$work/$1.out" | head -1 | awk '{print $2}'
}
tree_sum() { # one hash of every file under a directory, names included
	(cd "$1" && find . -type f | sort | xargs sha256sum) | sha256sum | cut -c1-16
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

# 1. One machine, 1,000 machines: fast decoder against encoding/json.
if [ "$KITCHENS" -gt 0 ]; then
start=$(date +%s%N)
"$BIN" simulate --out "$work/bucket" --seed 42 --kitchens "$KITCHENS" --machines 20 --types 20 --days 60 \
	--end 2026-11-25 --phases 1 --types-file "$work/types.txt" --log-level warn >"$work/sim.json"
end=$(date +%s%N)
echo "train_scale_simulate_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
cp -r "$work/bucket" "$work/bucket-json"
timed json "$BIN" train --config "$work/central.toml" --dir "$work/bucket-json" --types "$work/types.txt" --phase 1 \
	--date 2026-11-26 --now "$NOW" --decoder json --json --log-level warn
timed single "$BIN" train --config "$work/central.toml" --dir "$work/bucket" --types "$work/types.txt" --phase 1 \
	--date 2026-11-26 --now "$NOW" --json --log-level warn
same_json=0
[ "$(tree_sum "$work/bucket/models")" = "$(tree_sum "$work/bucket-json/models")" ] && same_json=1
rm -rf "$work/bucket-json"
echo "train_scale_machines=$((KITCHENS * 20))"
echo "train_scale_types=20"
echo "train_scale_days=60"
echo "train_scale_records=$(json_num single records)"
echo "train_scale_rows=$(json_num single rows)"
echo "train_scale_new_models=$(grep -c '"status": "new"' "$work/single.out" || true)"
echo "train_scale_seconds=$(wall single)"
echo "train_scale_cpu_seconds=$(cpu single)"
echo "train_scale_peak_rss_mib=$(rss_mib single)"
echo "train_scale_json_decoder_seconds=$(wall json)"
echo "train_scale_json_decoder_cpu_seconds=$(cpu json)"
echo "train_scale_json_decoder_peak_rss_mib=$(rss_mib json)"
echo "train_scale_json_decoder_same_release=$same_json"
echo "train_scale_speedup_vs_json_decoder=$(ratio "$(wall json)" "$(wall single)")"
echo "train_scale_cpu_speedup_vs_json_decoder=$(ratio "$(cpu json)" "$(cpu single)")"
echo "train_scale_speedup_vs_57_8s=$(ratio 57.8 "$(wall single)")"
echo "train_scale_goal_seconds=300"
echo "train_scale_goal_rss_mib=2048"
echo "train_scale_goal_speedup=1.5"
rm -rf "$work/bucket"
fi

# 2. A chain night, staged on 4 + 4 workers run one after another, and as
# one run on the same windows.
[ "$CHAIN_KITCHENS" -gt 0 ] || exit 0
chain=$work/chain
"$BIN" simulate --out "$chain" --seed 43 --kitchens "$CHAIN_KITCHENS" --machines 20 --types 20 --days 42 \
	--end 2026-11-25 --phases 1 --types-file "$work/chain-types.txt" --log-level warn >/dev/null
stage_flags=(--config "$work/chain.toml" --dir "$chain" --types "$work/chain-types.txt" --phase 1 --date 2026-11-26 --run bench --json --log-level warn)
staged_cpu=0
total_bytes=0
max_rows_rss=0
max_fit_rss=0
for ((i = 0; i < SHARDS; i++)); do
	timed "rows$i" "$BIN" train rows "${stage_flags[@]}" --shard "$i/$SHARDS"
	b=$(json_num "rows$i" window_bytes)
	total_bytes=$((total_bytes + b))
	staged_cpu=$(awk -v a="$staged_cpu" -v b="$(cpu "rows$i")" 'BEGIN { print a + b }')
	max_rows_rss=$(($(rss_mib "rows$i") > max_rows_rss ? $(rss_mib "rows$i") : max_rows_rss))
	echo "train_chain_rows_shard${i}_window_bytes=$b"
	echo "train_chain_rows_shard${i}_seconds=$(wall "rows$i")"
	echo "train_chain_rows_shard${i}_cpu_seconds=$(cpu "rows$i")"
	echo "train_chain_rows_shard${i}_peak_rss_mib=$(rss_mib "rows$i")"
done
staging_mib=$(du -sm "$chain/staging" | awk '{print $1}')
for ((i = 0; i < SHARDS; i++)); do
	timed "fit$i" "$BIN" train fit "${stage_flags[@]}" --shard "$i/$SHARDS"
	staged_cpu=$(awk -v a="$staged_cpu" -v b="$(cpu "fit$i")" 'BEGIN { print a + b }')
	max_fit_rss=$(($(rss_mib "fit$i") > max_fit_rss ? $(rss_mib "fit$i") : max_fit_rss))
	echo "train_chain_fit_shard${i}_seconds=$(wall "fit$i")"
	echo "train_chain_fit_shard${i}_cpu_seconds=$(cpu "fit$i")"
	echo "train_chain_fit_shard${i}_peak_rss_mib=$(rss_mib "fit$i")"
done
timed assemble "$BIN" train assemble --config "$work/chain.toml" --dir "$chain" --run bench --now "$NOW" --json --log-level warn
staged_cpu=$(awk -v a="$staged_cpu" -v b="$(cpu assemble)" 'BEGIN { print a + b }')
left=$(find "$chain/staging" -type f 2>/dev/null | wc -l)
mv "$chain/models" "$work/models-staged"
timed chain_single "$BIN" train --config "$work/chain.toml" --dir "$chain" --types "$work/chain-types.txt" --phase 1 \
	--date 2026-11-26 --now "$NOW" --json --log-level warn
single_bytes=$(json_num chain_single window_bytes)
max_share=0
for ((i = 0; i < SHARDS; i++)); do
	max_share=$(awk -v m="$max_share" -v b="$(json_num "rows$i" window_bytes)" -v t="$single_bytes" 'BEGIN { s = b / t; print (s > m ? s : m) }')
done
staged_sum=$(tree_sum "$work/models-staged")
single_sum=$(tree_sum "$chain/models")
echo "train_chain_machines=$((CHAIN_KITCHENS * 20))"
echo "train_chain_types=20"
echo "train_chain_span_days=42"
echo "train_chain_shards=$SHARDS"
echo "train_chain_window_bytes=$single_bytes"
echo "train_chain_rows_window_bytes_sum=$total_bytes"
echo "train_chain_rows_max_share_of_window_bytes=$(awk -v s="$max_share" 'BEGIN { printf "%.3f", s }')"
echo "train_chain_staging_mib=$staging_mib"
echo "train_chain_staging_objects_left=$left"
echo "train_chain_rows_max_peak_rss_mib=$max_rows_rss"
echo "train_chain_fit_max_peak_rss_mib=$max_fit_rss"
echo "train_chain_assemble_seconds=$(wall assemble)"
echo "train_chain_staged_cpu_seconds=$staged_cpu"
echo "train_chain_single_seconds=$(wall chain_single)"
echo "train_chain_single_cpu_seconds=$(cpu chain_single)"
echo "train_chain_single_peak_rss_mib=$(rss_mib chain_single)"
echo "train_chain_cpu_ratio_staged_to_single=$(ratio "$staged_cpu" "$(cpu chain_single)")"
echo "train_chain_release_sha256_staged=$staged_sum"
echo "train_chain_release_sha256_single=$single_sum"
echo "train_chain_release_identical=$([ "$staged_sum" = "$single_sum" ] && echo 1 || echo 0)"
echo "train_chain_goal_rows_share=0.25"
echo "train_chain_goal_cpu_ratio_max=1.2"
