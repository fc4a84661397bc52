#!/usr/bin/env bash
# Packaging figures: .deb and binary sizes per architecture (the packages
# `make deb` builds), and the agent unit's systemd security exposure
# (0 = fully locked down, 10 = unprotected; goal at most 1.5).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
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
