#!/usr/bin/env bash
# Ingest: the agent against mosquitto_sub on the same real Mosquitto, same
# 100,000-message QoS 1 stream, persistent sessions drained the same way.
# Prints ingest_agent_msgs_per_s, ingest_mosquitto_sub_msgs_per_s,
# ingest_ratio (goal >= 0.8) and ingest_agent_peak_rss_mib (goal <= 40).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x bin/budare-agent ] || make build >/dev/null
go run ./agent/ingest/internal/benchingest -agent bin/budare-agent -n "${BUDARE_BENCH_INGEST_N:-100000}"
