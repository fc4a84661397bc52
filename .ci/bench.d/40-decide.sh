#!/usr/bin/env bash
# One start-of-day decision for a kitchen of 200 machines with 7 days of
# data (8 days stored, 96 cooks per machine per day, 3 arepa types, signed
# models installed): the whole `budare-agent decide --dry-run` process (store
# open, model verification, feature windows, scoring), best of 3.
#   decide_200_machines_seconds  wall time (goal <= 1 s)
#   decide_cpu_seconds           user+sys CPU of that run (wall is inflated
#                                when other jobs share the cores)
#   decide_rss_mib               peak resident set, including the store file
#                                pages bbolt maps (page cache, reclaimable)
#   decide_rss_anon_mib          peak anonymous memory (heap, stacks)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x bin/budare-agent ] || make -s build >/dev/null
go run ./agent/decide/benchgen -out "$work" -machines 200 -days 8 -cooks 96 -types 3 -date 2026-11-27 >/dev/null 2>"$work/gen.err" || {
	cat "$work/gen.err" >&2
	exit 1
}
best="" cpu="" rss=0 anon=0
for _ in 1 2 3; do
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$work/time" bin/budare-agent decide --config "$work/agent.toml" --date 2026-11-27 --dry-run --json >"$work/out.json" 2>"$work/err" &
	tpid=$!
	# Sample the agent's memory while it runs (the child of /usr/bin/time).
	while kill -0 "$tpid" 2>/dev/null; do
		pid=$(pgrep -P "$tpid" 2>/dev/null | head -n1 || true)
		if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
			r=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			a=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ "${r:-0}" -gt "$rss" ] && rss=$r
			[ "${a:-0}" -gt "$anon" ] && anon=$a
		fi
		sleep 0.01
	done
	wait "$tpid" || {
		cat "$work/err" >&2
		exit 1
	}
	end=$(date +%s.%N)
	t=$(echo "$end - $start" | bc -l)
	c=$(awk '{print $1 + $2}' "$work/time")
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t cpu=$c; fi
done
echo "decide_machines=$(grep -c '"machine"' "$work/out.json")"
printf 'decide_200_machines_seconds=%.3f\n' "$best"
printf 'decide_cpu_seconds=%.2f\n' "$cpu"
printf 'decide_rss_mib=%.1f\n' "$(echo "$rss / 1024" | bc -l)"
printf 'decide_rss_anon_mib=%.1f\n' "$(echo "$anon / 1024" | bc -l)"
