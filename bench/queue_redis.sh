#!/usr/bin/env bash
# The waiting room in Redis (kv.backend = redis), in one run against its own Redis server:
#
#   polls    GET /api/v1/queue/status, the in-memory room vs the Redis room (two servers, the
#            same request; rate limits off so both measure the room, not the buckets)
#   joins    POST /api/v1/queue/join on one hot event through three replicas sharing the room
#            (three all-in-one servers, each its own demo store, one Redis), wrk on each at
#            once; beside redis-benchmark running as many INCR and EVALSHA calls on that Redis
#   memory   Redis's used_memory (INFO memory) before and after BENCH_JOINS places (default
#            1,000,000) in one room, and what the room's own keys take (MEMORY USAGE), filled
#            through RedisRoom (bench/queue_redis_fill): all waiting in line, then all in the
#            pre-queue followed by the opening (its tick's time), and a tick's cost afterwards
#
#   BENCH_DURATION  wrk duration of each measured run (default 10s); more settings in bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BENCH_JOINS:=1000000}"
bench_init
bench_require curl wrk redis-server redis-cli redis-benchmark

redis_state=$BENCH_TMP/redis
"$BENCH_ROOT/scripts/test-redis.sh" start "$redis_state" >/dev/null
# Redis goes too, then the benchmark's own clean-up (servers, load generators), with the exit
# status kept (as holds.sh does for PostgreSQL).
_bench_cleanup_redis() {
  local rc=$?
  "$BENCH_ROOT/scripts/test-redis.sh" stop "$redis_state" >/dev/null 2>&1 || true
  _bench_cleanup "$rc"
}
trap _bench_cleanup_redis EXIT
redis_port=$(cat "$redis_state/port")
export REDISCLI_AUTH
REDISCLI_AUTH=$(cat "$redis_state/password")
rcli() { redis-cli -p "$redis_port" "$@"; }
joined() { # joins counted by every replica so far
  local port total=0 n
  for port in "$@"; do
    n=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '$1 == "tacos_queue_joins_total" { printf "%d\n", $2 }')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# --- polls: memory vs Redis ------------------------------------------------------------------
BENCH_RATE_LIMITS=false BENCH_TACOS_SUFFIX=_memory bench_start_tacos
memory_base="http://127.0.0.1:$BENCH_TACOS_PORT"
export TACOS_KV_BACKEND=redis TACOS_KV_REDIS_PORT=$redis_port TACOS_KV_REDIS_PASSWORD=$REDISCLI_AUTH
export TACOS_QUEUE_ABANDON_AFTER_SEC=3600 TACOS_QUEUE_TOKEN_KEYS="k1:bench-queue-keys-$RANDOM$RANDOM$RANDOM$RANDOM-0123456789"
BENCH_RATE_LIMITS=false BENCH_TACOS_SUFFIX=_redis bench_start_tacos
redis_base="http://127.0.0.1:$BENCH_TACOS_PORT"
bench_join_queue "$memory_base" bench_poll_client
memory_path="/api/v1/queue/status?token=$BENCH_WAITING_TOKEN"
bench_join_queue "$redis_base" bench_poll_client
redis_path="/api/v1/queue/status?token=$BENCH_WAITING_TOKEN"
bench_fetch "$memory_base$memory_path" "$BENCH_TMP/body"
bench_wrk memory "$memory_base$memory_path"
bench_wrk redis "$redis_base$redis_path"
bench_report queue_status_redis memory redis "/api/v1/queue/status?token=..."

# --- joins through three replicas, beside redis-benchmark --------------------------------------
ports=("${redis_base##*:}")
for suffix in _redis2 _redis3; do
  BENCH_RATE_LIMITS=false BENCH_TACOS_SUFFIX=$suffix bench_start_tacos
  ports+=("$BENCH_TACOS_PORT")
done
script="$(dirname "${BASH_SOURCE[0]}")/queue_join.lua"
before=$(joined "${ports[@]}")
per=$((BENCH_CONNECTIONS / 3 > 0 ? BENCH_CONNECTIONS / 3 : 1))
bench_log "wrk -t1 -c$per -d$BENCH_DURATION joins on each of ${#ports[@]} replicas at once"
pids=()
for port in "${ports[@]}"; do
  timeout -k 5 120 wrk -t1 -c"$per" -d"$BENCH_DURATION" -s "$script" "http://127.0.0.1:$port/api/v1/queue/join" \
    >"$BENCH_TMP/wrk-joins-$port.txt" 2>&1 </dev/null &
  pids+=("$!")
  _bench_pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || bench_die "wrk failed (see $BENCH_TMP/wrk-joins-*.txt)"; done
seconds=$(_bench_seconds "$BENCH_DURATION")
joins=$(($(joined "${ports[@]}") - before))
join_rate=$((joins / seconds))
non2xx=$(cat "$BENCH_TMP"/wrk-joins-*.txt | awk '/Non-2xx or 3xx responses:/ { n += $NF } END { print n + 0 }')
sha=$(rcli SCRIPT LOAD "return redis.call('INCR', KEYS[1])")
bench_log "redis-benchmark: $joins INCR and EVALSHA, 50 clients"
incr_rate=$(redis-benchmark -p "$redis_port" -a "$REDISCLI_AUTH" -c 50 -n "$joins" -q INCR bench:n 2>/dev/null |
  awk '{ for (i = 1; i <= NF; i++) if ($i == "requests") print $(i - 1) + 0 }' | tail -1)
evalsha_rate=$(redis-benchmark -p "$redis_port" -a "$REDISCLI_AUTH" -c 50 -n "$joins" -q EVALSHA "$sha" 1 bench:e \
  2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i == "requests") print $(i - 1) + 0 }' | tail -1)

# --- memory with BENCH_JOINS places -------------------------------------------------------------
# Through RedisRoom itself (bench/queue_redis_fill), not HTTP: a million joins over HTTP take
# minutes here, and the room's keys are what is measured. Once with every place waiting in line,
# once with every place in the pre-queue and then the opening.
fill_bin=${QUEUE_REDIS_FILL_BIN:-$(dirname "$TACOS_BIN")/../../bench/queue_redis_fill}
[[ -x $fill_bin ]] || bench_die "queue_redis_fill not found at $fill_bin (cmake --build --preset release --target queue_redis_fill)"
bench_log "$BENCH_JOINS places in one room, waiting in line"
"$fill_bin" "$redis_port" "$REDISCLI_AUTH" "$BENCH_JOINS" waiting >"$BENCH_TMP/fill-waiting.json" ||
  bench_die "filling the room failed: $(cat "$BENCH_TMP/fill-waiting.json")"
bench_log "$BENCH_JOINS places in one room's pre-queue, then the opening"
"$fill_bin" "$redis_port" "$REDISCLI_AUTH" "$BENCH_JOINS" pre >"$BENCH_TMP/fill-pre.json" ||
  bench_die "filling the pre-queue failed: $(cat "$BENCH_TMP/fill-pre.json")"
field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" "$BENCH_TMP/fill-$1.json"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

mkdir -p "$BENCH_RESULTS_DIR"
{
  echo "queue in redis: joins through ${#ports[@]} replicas (wrk -t1 -c$per each, $BENCH_DURATION), server threads $TACOS_THREADS"
  printf '  joins/s through the replicas  %10s   (non-2xx %s)\n' "$join_rate" "$non2xx"
  printf '  redis-benchmark INCR/s        %10s\n' "$incr_rate"
  printf '  redis-benchmark EVALSHA/s     %10s\n' "$evalsha_rate"
  for mode in waiting pre; do
    grown=$(($(field "$mode" used_memory_after) - $(field "$mode" used_memory_before)))
    printf '  %-8s %s places: used_memory +%s MB (%s B/place), room keys %s MB, %s joins/s, opening %s ms, tick %s ms\n' \
      "$mode" "$(field "$mode" places)" "$(mb "$grown")" "$(field "$mode" bytes_per_place)" \
      "$(mb "$(field "$mode" room_bytes)")" "$(field "$mode" joins_per_sec)" "$(field "$mode" open_ms)" \
      "$(field "$mode" tick_ms)"
  done
} | tee "$BENCH_RESULTS_DIR/queue_redis.txt"
printf '{"joins_per_sec":%s,"incr_per_sec":%s,"evalsha_per_sec":%s,"fill_waiting":%s,"fill_pre":%s}\n' \
  "$join_rate" "${incr_rate:-0}" "${evalsha_rate:-0}" "$(cat "$BENCH_TMP/fill-waiting.json")" \
  "$(cat "$BENCH_TMP/fill-pre.json")" >"$BENCH_RESULTS_DIR/queue_redis.json"
[[ $non2xx == 0 ]] || bench_die "the replicas answered $non2xx joins with errors"
