#!/usr/bin/env bash
# Dashboard server time at fleet scale: 2,000 kitchens of 20 machines with
# 30 days of actions, every agent's status, and 30 days of windows for the
# measured machine, on an in-memory bucket (the part the dashboard controls;
# listings cached as in a running server). Warm: the parsed-object cache
# holds what the previous request read; cold: it is emptied before each
# request (every object read and parsed again).
#   dashboard_overview_ms        /api/overview, warm (goal < 200 ms)
#   dashboard_fleet_ms           /fleet, warm (goal < 200 ms)
#   dashboard_machine_ms         a machine page, warm (goal < 300 ms)
#   dashboard_machine_cold_ms    a machine page, 30 windows read (goal < 300 ms)
#   dashboard_*_cold_ms          the same with every object read and parsed
#   dashboard_*_cpu_ms           CPU time per request (wall time is
#                                inflated when other jobs share the cores)
#   dashboard_overview_vs_decode baseline ratio: the warm overview against
#                                decoding every kitchen's latest day once
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(go test -count=1 -run '^$' -bench '^BenchmarkPages$' -benchtime 10x ./central/dashboard/)
echo "$out" | awk '
	/^BenchmarkPages\// {
		name = $1; sub(/^BenchmarkPages\//, "", name); sub(/-[0-9]+$/, "", name); gsub(/-/, "_", name)
		ns[name] = $3
		for (i = 4; i < NF; i++) if ($(i+1) == "cpu-ms/op") cpu[name] = $i
	}
	END {
		n = split("overview overview_cold fleet fleet_cold machine machine_cold", order, " ")
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (!(k in ns)) { print "missing benchmark " k > "/dev/stderr"; exit 1 }
			printf "dashboard_%s_ms=%.1f\n", k, ns[k] / 1e6
			printf "dashboard_%s_cpu_ms=%s\n", k, cpu[k]
		}
		b = ns["baseline_decode_latest_days"]
		printf "dashboard_decode_latest_days_ms=%.1f\n", b / 1e6
		printf "dashboard_overview_vs_decode=%.2f\n", ns["overview"] / b
	}'
