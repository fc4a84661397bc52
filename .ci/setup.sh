#!/usr/bin/env bash
# Installs what the integration tests need, idempotently:
#   - mosquitto and mosquitto-clients (Debian packages)
#   - chromium (Debian package) for the dashboard test
#   - the pinned MinIO server, built with `go install` into $BUDARE_CACHE
# With --env it prints the environment variables the tests read, instead.
# With --staticcheck it builds the pinned staticcheck into $BUDARE_CACHE/bin.
# With --bench it also installs what the benchmark scripts use (time, bc).
set -euo pipefail
CACHE="${BUDARE_CACHE:-$HOME/.cache/budare}"
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_DIR="$CACHE/minio-$MINIO_VERSION"
STATICCHECK_VERSION=v0.8.2

if [[ "${1:-}" == "--env" ]]; then
	echo "export BUDARE_MINIO_BIN='$MINIO_DIR/minio'"
	echo "export BUDARE_MOSQUITTO_BIN='$(command -v mosquitto || echo /usr/sbin/mosquitto)'"
	echo "export BUDARE_CHROMIUM_BIN='$(command -v chromium || echo /usr/bin/chromium)'"
	echo "export PATH=\"/usr/sbin:\$PATH\""
	exit 0
fi

if [[ "${1:-}" == "--staticcheck" ]]; then
	if [[ ! -x "$CACHE/bin/staticcheck" ]]; then
		GOBIN="$CACHE/bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	fi
	exit 0
fi

need=()
[[ -x /usr/sbin/mosquitto ]] || need+=(mosquitto)
command -v mosquitto_sub >/dev/null || need+=(mosquitto-clients)
command -v chromium >/dev/null || need+=(chromium)
# Packaging tests: lintian on the .debs, systemd-analyze on the units, groff
# on the man pages.
command -v lintian >/dev/null || need+=(lintian)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v groff >/dev/null || need+=(groff-base)
# make bench: /usr/bin/time for peak RSS, bc for arithmetic.
if [[ "${1:-}" == "--bench" ]]; then
	[[ -x /usr/bin/time ]] || need+=(time)
	command -v bc >/dev/null || need+=(bc)
fi
if ((${#need[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "setup: missing Debian packages: ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
		exit 1
	fi
	echo "setup: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package enables a system-wide broker; tests start their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
	systemctl stop mosquitto || true
fi

if [[ ! -x "$MINIO_DIR/minio" ]]; then
	echo "setup: building MinIO $MINIO_VERSION into $MINIO_DIR (first run only, a few minutes)" >&2
	mkdir -p "$MINIO_DIR"
	tmp="$(mktemp -d)"
	(cd "$tmp" && GOBIN="$MINIO_DIR.tmp" CGO_ENABLED=0 go install "github.com/minio/minio@$MINIO_VERSION")
	mv "$MINIO_DIR.tmp/minio" "$MINIO_DIR/minio"
	rmdir "$MINIO_DIR.tmp" "$tmp" 2>/dev/null || true
fi
