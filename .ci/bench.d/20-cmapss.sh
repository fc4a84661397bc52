#!/usr/bin/env bash
# eval cmapss as a whole process against the scikit-learn reference doing the
# same task (fails within 30 cycles, judged at each test engine's last cycle).
# Prints key=value lines. Each side runs RUNS times; the median wall time
# counts, so one hiccup on a shared machine does not decide the ratio.
# speed_ratio = scikit-learn wall seconds / Go wall seconds (the goal: >= 5);
# cpu_ratio is the same with user+sys CPU seconds.
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

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed CMD...: runs CMD RUNS times, keeps the last stdout in $OUT, the median
# wall seconds in $SECS and the median CPU seconds (user+sys, which a busy
# shared machine disturbs less than wall time) in $CPU.
timed() {
	local walls=() cpus=() tf r u s
	tf=$(mktemp)
	for _ in $(seq "$RUNS"); do
		if ! OUT=$( { TIMEFORMAT='%R %U %S'; time "$@" 2>>"$tf.err"; } 2>"$tf"); then
			cat "$tf.err" >&2
			rm -f "$tf" "$tf.err"
			return 1
		fi
		read -r r u s <"$tf"
		walls+=("$r")
		cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.3f", u + s}')")
	done
	rm -f "$tf" "$tf.err"
	SECS=$(median "${walls[@]}")
	CPU=$(median "${cpus[@]}")
}

field() { # field JSON KEY
	"$PY" -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print(f"{v:.4f}" if isinstance(v, float) else v)' "$1" "$2"
}

for subset in FD001 FD002; do
	key=$(echo "$subset" | tr 'A-Z' 'a-z')
	timed "$BIN" eval cmapss --data "$DATA" --subset "$subset" --json
	go_out=$OUT go_s=$SECS go_cpu=$CPU
	timed "$PY" central/cmapss/reference/sklearn_lr.py --data "$DATA" --subset "$subset" --json
	py_out=$OUT py_s=$SECS py_cpu=$CPU
	echo "cmapss_${key}_seconds_go=$go_s"
	echo "cmapss_${key}_seconds_sklearn=$py_s"
	echo "cmapss_${key}_speed_ratio=$(awk -v p="$py_s" -v g="$go_s" 'BEGIN {printf "%.2f", p / g}')"
	echo "cmapss_${key}_cpu_seconds_go=$go_cpu"
	echo "cmapss_${key}_cpu_seconds_sklearn=$py_cpu"
	echo "cmapss_${key}_cpu_ratio=$(awk -v p="$py_cpu" -v g="$go_cpu" 'BEGIN {printf "%.2f", p / g}')"
	for k in f1 auc precision recall; do
		echo "cmapss_${key}_${k}_go=$(field "$go_out" $k)"
		echo "cmapss_${key}_${k}_sklearn=$(field "$py_out" $k)"
	done
	echo "cmapss_${key}_technique_go=$(field "$go_out" technique)"
done
