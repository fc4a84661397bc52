#!/usr/bin/env bash
# Runs every benchmark script in .ci/bench.d in order and prints the figures.
# Each script prints key=value lines; ratios are against a baseline measured
# in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
for s in .ci/bench.d/*.sh; do
	echo "== $(basename "$s")"
	bash "$s"
done
