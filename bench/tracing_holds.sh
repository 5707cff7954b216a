#!/usr/bin/env bash
# What tracing costs on the write path: bench/holds.sh run with tracing off, sampling 1 % of new
# traces, and sampling all of them, in alternating rounds (BENCH_ROUNDS, default 2), the traced
# runs exporting OTLP/JSON to nginx standing in for a collector (it answers every POST 200). A
# traced hold is a server span and a store.transaction span. Reports the median server CPU per
# hold of each mode and the ratios to off (CPU per hold is steadier than holds/s on a shared VM).
#
#   BENCH_SEATS, BENCH_DURATION, TACOS_THREADS, ...  as for bench/holds.sh (BENCH_SEATS defaults
#                                                    to 150000 here, BENCH_DURATION to 2s)
set -euo pipefail
: "${BENCH_SEATS:=150000}"
: "${BENCH_DURATION:=2s}"
export BENCH_SEATS BENCH_DURATION
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_init
bench_require nginx
bench_start_nginx 2
collector="http://127.0.0.1:$BENCH_NGINX_PORT/v1/traces"
here=$(dirname "${BASH_SOURCE[0]}")

declare -A rounds
for ((r = 1; r <= ${BENCH_ROUNDS:-2}; r++)); do
  for mode in off 0.01 1.0; do
    out=$BENCH_TMP/holds-$mode-$r
    mkdir -p "$out"
    if [[ $mode == off ]]; then
      BENCH_RESULTS_DIR=$out "$here/holds.sh" >"$out/log" 2>&1 || bench_die "holds.sh ($mode) failed: $(tail -3 "$out/log")"
    else
      TACOS_TRACING_OTLP_ENDPOINT=$collector TACOS_TRACING_SAMPLE_RATIO=$mode BENCH_RESULTS_DIR=$out \
        "$here/holds.sh" >"$out/log" 2>&1 || bench_die "holds.sh ($mode) failed: $(tail -3 "$out/log")"
    fi
    cpu=$(sed -n 's/.*"cpu_us_per_hold":\([0-9.]*\).*/\1/p' "$out/holds.json")
    rps=$(sed -n 's/.*"holds_per_sec":\([0-9.]*\).*/\1/p' "$out/holds.json")
    echo "round $r, tracing $mode: $rps holds/s, server CPU $cpu us per hold"
    rounds[$mode]+="$cpu "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
declare -A cpu_us
for mode in off 0.01 1.0; do cpu_us[$mode]=$(median "${rounds[$mode]}"); done
mkdir -p "$BENCH_RESULTS_DIR"
{
  echo "server CPU per hold, median of ${BENCH_ROUNDS:-2} alternating rounds: off ${cpu_us[off]} us, 0.01 ${cpu_us[0.01]} us, 1.0 ${cpu_us[1.0]} us;" \
    "ratios 0.01/off $(ratio "${cpu_us[0.01]}" "${cpu_us[off]}"), 1.0/off $(ratio "${cpu_us[1.0]}" "${cpu_us[off]}")"
} | tee "$BENCH_RESULTS_DIR/tracing_holds.txt"
