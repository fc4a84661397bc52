#!/usr/bin/env bash
# demo-test: `make demo` as a new user runs it, non-interactively: from a
# fresh clone of the committed tree, in an empty HOME, with a PATH that has
# Go and the base system but no Mosquitto and no MinIO, and no network for
# Go (the module and build caches are shared, so modules are not fetched
# again). It passes when every machine of every kitchen has its retained
# action, read as a display reads it.
#
# The demo is made smaller than `make demo`'s unless BUDARE_DEMO_TEST_FULL=1;
# the time it took is printed at the end.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/budare-demo-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

git clone -q "$src" "$tmp/clone"
mkdir -p "$tmp/home" "$tmp/path" "$tmp/tmp"
# A PATH with Go, git, make and the base tools a fresh Debian has, and
# nothing else (no Mosquitto, no MinIO, no curl).
for n in bash sh env make git go sed grep date seq mktemp mkdir cat sleep head tail tr od sort wc rm dirname uname id; do
	p="$(command -v "$n")" || { echo "demo-test: $n not found" >&2; exit 1; }
	ln -s "$p" "$tmp/path/$n"
done

size=(BUDARE_DEMO_KITCHENS=2 BUDARE_DEMO_MACHINES=4 BUDARE_DEMO_DAYS=42 BUDARE_DEMO_SPEED=0 BUDARE_DEMO_LEAD=20)
want_kitchens=2 want_machines=4
if [[ "${BUDARE_DEMO_TEST_FULL:-}" == 1 ]]; then
	size=()
	want_kitchens=3 want_machines=12
fi
t0=$(date +%s)
if ! env -i HOME="$tmp/home" PATH="$tmp/path" TMPDIR="$tmp/tmp" TERM=dumb \
	GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)" GOPROXY=off GOTOOLCHAIN=local GOFLAGS= \
	BUDARE_DEMO_EXIT=1 BUDARE_DEMO_DIR="$tmp/demo" "${size[@]}" \
	make -C "$tmp/clone" demo >"$tmp/demo.out" 2>&1; then
	tail -n 60 "$tmp/demo.out" >&2
	for log in "$tmp"/demo/k-*/agent.log; do
		echo "== $log" >&2
		grep -v component=broker "$log" | tail -n 20 >&2
	done
	echo "demo-test: make demo failed" >&2
	exit 1
fi
secs=$(($(date +%s) - t0))

fail=0
for i in $(seq "$want_kitchens"); do
	k=$(printf 'k-%03d' "$i")
	n=$(sed -n "/^budare\/$k\/+\/action /,/^\$/p" "$tmp/demo.out" | grep -cE '^m-[0-9]+ +(none|inspect|service|stop|unknown) ' || true)
	if [[ "$n" -ne "$want_machines" ]]; then
		echo "demo-test: $k: $n of $want_machines machines have a retained action" >&2
		fail=1
	fi
done
if ((fail)); then
	cat "$tmp/demo.out" >&2
	exit 1
fi
echo "demo-test: ok, every machine's retained action arrived; make demo from a fresh clone took ${secs}s (module and build caches kept)"
