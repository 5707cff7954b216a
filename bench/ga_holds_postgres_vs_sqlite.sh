#!/usr/bin/env bash
# General-admission holds on one event with many buyers at once (BENCH_CONNECTIONS, default 200,
# and as many signed-in buyers), on SQLite and then on PostgreSQL, back to back in one run
# (bench/holds.sh with BENCH_EVENT=ga): holds per second on each, their ratio, and on PostgreSQL
# the share of sampled active sessions waiting on a lock (the stock's counter rows,
# store/postgres/holds.hpp, decision 0009).
#
#   bench/ga_holds_postgres_vs_sqlite.sh     (needs build/release/bench/holds_setup)
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
export BENCH_EVENT=ga
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-200} BENCH_USERS=${BENCH_USERS:-200}
export BENCH_SEATS=${BENCH_SEATS:-120000} BENCH_DURATION=${BENCH_DURATION:-3s} # SQLite takes about 22,000 a second
declare -A rate
for store in sqlite postgres; do
  out=$(BENCH_STORE=$store "$here/holds.sh" 2>/dev/null) || { echo "bench: holds.sh failed on $store" >&2; exit 1; }
  echo "$out"
  rate[$store]=$(awk '/holds\/s/ { print $2 }' <<<"$out")
done
awk -v p="${rate[postgres]}" -v s="${rate[sqlite]}" 'BEGIN { printf "general admission: postgres / sqlite %.2f\n", p / s }'
