#!/usr/bin/env bash
# eval cmapss as a whole process against the scikit-learn reference doing the
# same task (fails within 30 cycles, judged at each test engine's last cycle).
# Prints key=value lines. Each side runs RUNS times; the median wall time
# counts, so one hiccup on a shared machine does not decide the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3 # the Debian python that python3-sklearn installs into
RUNS=${BUDARE_BENCH_RUNS:-3}
DATA=central/cmapss/testdata
BIN=bin/budare-central

if ! "$PY" -c 'import sklearn, pandas' 2>/dev/null; then
	echo "installing python3-sklearn python3-pandas" >&2
	export DEBIAN_FRONTEND=noninteractive
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get install -y -q python3-sklearn python3-pandas >/dev/null ||
		{ $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q python3-sklearn python3-pandas >/dev/null; }
fi
[ -x "$BIN" ] || { echo "missing $BIN: run make build" >&2; exit 1; }

# timed CMD...: runs CMD RUNS times, keeps the last stdout in $OUT and the
# median wall seconds in $SECS.
timed() {
	local times=() t0 t1
	for _ in $(seq "$RUNS"); do
		t0=$(date +%s.%N)
		OUT=$("$@")
		t1=$(date +%s.%N)
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
	done
	SECS=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
}

field() { # field JSON KEY
	"$PY" -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(f"{v:.4f}" if isinstance(v, float) else v)' "$1" "$2"
}

for subset in FD001 FD002; do
	key=$(echo "$subset" | tr 'A-Z' 'a-z')
	timed "$BIN" eval cmapss --data "$DATA" --subset "$subset" --json
	go_out=$OUT go_s=$SECS
	timed "$PY" central/cmapss/reference/sklearn_lr.py --data "$DATA" --subset "$subset" --json
	py_out=$OUT py_s=$SECS
	echo "cmapss_${key}_seconds_go=$go_s"
	echo "cmapss_${key}_seconds_sklearn=$py_s"
	echo "cmapss_${key}_speed_ratio=$(awk -v p="$py_s" -v g="$go_s" 'BEGIN {printf "%.2f", p / g}')"
	for k in f1 auc precision recall; do
		echo "cmapss_${key}_${k}_go=$(field "$go_out" $k)"
		echo "cmapss_${key}_${k}_sklearn=$(field "$py_out" $k)"
	done
	echo "cmapss_${key}_technique_go=$(field "$go_out" technique)"
done
