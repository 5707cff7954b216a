#!/usr/bin/env bash
# Instructions per hold for the whole server: runs bench/holds.sh with each given binary under
# callgrind, counting only the wrk phase (counters zeroed when wrk starts), all threads, user
# space only. Unlike holds/s and CPU time, the count barely moves with the machine's load, so two
# binaries can be compared on a busy machine. Since 1d86303 the hold book loads the event when
# holds_setup creates it, before the count starts; older binaries load it on the first hold,
# inside the count, so the inclusive cost of HoldBook::state is subtracted (for a current binary
# that is only its lookups, a fraction of a percent). Nothing else is subtracted: the count
# includes the server's shutdown, a few percent.
#
#   bench/holds_instructions.sh BIN [BIN ...]
#   BENCH_KEEP_TMP=1 keeps the profiles (callgrind_annotate them) and the logs.
#
# Settings: BENCH_SEATS (default 30000), BENCH_DURATION (default 20s: callgrind runs the server
# about 50 times slower), BENCH_CONNECTIONS (64), TACOS_THREADS (2). Needs valgrind and
# bench/holds_setup (cmake --build --preset release --target holds_setup).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
(($# > 0)) || {
  echo "usage: bench/holds_instructions.sh BIN [BIN ...]" >&2
  exit 2
}
for cmd in valgrind callgrind_control callgrind_annotate; do
  command -v "$cmd" >/dev/null || {
    echo "bench: error: '$cmd' not found (apt-get install valgrind)" >&2
    exit 1
  }
done
: "${BENCH_SEATS:=30000}" "${BENCH_DURATION:=20s}" "${BENCH_CONNECTIONS:=64}" "${TACOS_THREADS:=2}"
setup_bin=${HOLDS_SETUP_BIN:-$PWD/build/release/bench/holds_setup}
work=$(mktemp -d "${TMPDIR:-/tmp}/tacos-holds-ir.XXXXXX")
trap '[[ -n ${BENCH_KEEP_TMP:-} ]] || rm -rf "$work"' EXIT

for bin in "$@"; do
  bin=$(realpath "$bin")
  [[ -x $bin ]] || {
    echo "bench: error: $bin is not executable" >&2
    exit 1
  }
  run=$work/$(basename "$bin")-$RANDOM
  mkdir -p "$run"
  printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.%%p %s "$@"\n' "$run" "$bin" \
    >"$run/tacos"
  chmod +x "$run/tacos"
  TACOS_BIN=$run/tacos HOLDS_SETUP_BIN=$setup_bin BENCH_SEATS=$BENCH_SEATS BENCH_DURATION=$BENCH_DURATION \
    BENCH_CONNECTIONS=$BENCH_CONNECTIONS TACOS_THREADS=$TACOS_THREADS BENCH_RESULTS_DIR=$run/results \
    bench/holds.sh >"$run/log" 2>&1 &
  pid=$!
  # Zero the counters once wrk starts (the setup's joins and event creation are not counted).
  for _ in $(seq 1 900); do
    grep -q "bench: wrk" "$run/log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  callgrind_control -z >/dev/null 2>&1 || true
  wait "$pid" || {
    echo "bench: error: holds.sh failed for $bin:" >&2
    tail -20 "$run/log" >&2
    exit 1
  }
  sleep 3  # the server writes its profile when it exits
  # shellcheck disable=SC2012  # our own file names; the largest profile is the server, not valgrind's helpers
  out=$(ls -S "$run"/callgrind.* | head -1)
  total=$(awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$out")
  # awk reads to the end: exiting early would kill callgrind_annotate with SIGPIPE (pipefail).
  load=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    awk '/HoldBook::state/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
  holds=$(sed -n 's/.*"holds":\([0-9]*\).*/\1/p' "$run/results/holds.json")
  ((holds > 0)) || {
    echo "bench: error: no holds were made with $bin" >&2
    exit 1
  }
  printf '%s: %d instructions per hold (%d holds under callgrind)\n' "$bin" $(((total - ${load:-0}) / holds)) "$holds"
done
