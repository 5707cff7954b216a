#!/usr/bin/env bash
# Joins per second for one hot event, and the server's resident memory once BENCH_JOINS users
# (default 1,000,000) hold a place in that event's queue. Each join is a new anonymous client.
# Abandonment is pushed out to an hour so every place is still held when memory is read.
#
#   BENCH_JOINS         joins to make (default 1000000)
#   BENCH_CONNECTIONS   wrk connections (default 64); more settings in bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BENCH_JOINS:=1000000}"
bench_init
bench_require curl wrk

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
joined() {
  curl -fsS "http://127.0.0.1:$BENCH_TACOS_PORT/metrics" |
    awk '$1 == "tacos_queue_joins_total" { printf "%d\n", $2 }'
}

TACOS_QUEUE_ABANDON_AFTER_SEC=3600 bench_start_tacos
base="http://127.0.0.1:$BENCH_TACOS_PORT"
# One join creates the event's room, so the baseline includes it.
curl -fsS -X POST "$base/api/v1/queue/join" -H 'Content-Type: application/json' \
  -H 'X-Client-ID: bench_first_client' -H "Idempotency-Key: first-$RANDOM$RANDOM" -d '{"event_id":"evt_2025_1001"}' >/dev/null
before_kb=$(rss_kb "$BENCH_TACOS_PID")

# wrk has no request-count limit, so it runs in 5 s rounds until enough places are taken.
script="$(dirname "${BASH_SOURCE[0]}")/queue_join.lua"
out=$BENCH_TMP/wrk-joins.txt
: >"$out"
rounds=0
start_ns=$(date +%s%N)
bench_log "wrk -t$BENCH_WRK_THREADS -c$BENCH_CONNECTIONS in 5 s rounds until $BENCH_JOINS joins"
while (($(joined) < BENCH_JOINS && rounds < 100)); do
  timeout -k 5 60 wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_CONNECTIONS" -d5s --latency -s "$script" \
    "$base/api/v1/queue/join" >>"$out" 2>&1 </dev/null &
  pid=$!
  _bench_pids+=("$pid")
  wait "$pid" || { cat "$out" >&2; bench_die "wrk failed"; }
  rounds=$((rounds + 1))
done
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))

after_kb=$(rss_kb "$BENCH_TACOS_PID")
total=$(joined)
rps=$((total * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1)))
p99=$(awk '$1 == "99%" { v = $2 } END { print v }' "$out")  # of the last round
non2xx=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } END { print n + 0 }' "$out")

mkdir -p "$BENCH_RESULTS_DIR"
{
  echo "queue joins: one hot event, wrk -t$BENCH_WRK_THREADS -c$BENCH_CONNECTIONS, server threads $TACOS_THREADS"
  printf '  joins            %12s\n' "$total"
  printf '  joins/s          %12s   (%s rounds of 5 s; last round p99 %s; non-2xx %s)\n' "$rps" "$rounds" "$p99" "${non2xx:-0}"
  printf '  RSS before       %9s MB\n' "$((before_kb / 1024))"
  printf '  RSS after        %9s MB\n' "$((after_kb / 1024))"
  printf '  bytes per place  %12s\n' "$(((after_kb - before_kb) * 1024 / (total > 0 ? total : 1)))"
} | tee "$BENCH_RESULTS_DIR/queue_joins.txt"
printf '{"joins":%s,"joins_per_sec":%s,"p99":"%s","rss_before_kb":%s,"rss_after_kb":%s,"non2xx":%s}\n' \
  "$total" "$rps" "$p99" "$before_kb" "$after_kb" "${non2xx:-0}" >"$BENCH_RESULTS_DIR/queue_joins.json"
[[ ${non2xx:-0} == 0 ]] || bench_die "the server answered $non2xx joins with errors"
