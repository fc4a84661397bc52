#!/usr/bin/env bash
# Upload of one day of a 20-machine kitchen (~300 cycles per machine, ~6,000
# records) to a real MinIO: store read + deterministic gzip + PUT + verify.
# Prints the compressed bytes per record and the seconds per day uploaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(go test -run '^$' -bench '^BenchmarkUploadDay$' -benchtime 10x -count 1 ./agent/upload/ 2>&1)" || {
	echo "$out" >&2
	exit 1
}
line="$(grep '^BenchmarkUploadDay' <<<"$out")"
val() { awk -v unit="$1" '{for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1)}' <<<"$line"; }
echo "upload_records_per_day=$(val records/day)"
echo "upload_bytes_per_record=$(val bytes/record)"
echo "upload_ndjson_bytes_per_record=$(val ndjson_bytes/record)"
echo "upload_object_bytes=$(val object_bytes)"
echo "upload_day_seconds=$(val s/day)"
