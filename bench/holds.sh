#!/usr/bin/env bash
# Holds of distinct seats per second over HTTP, each durable (group commit) before its 201.
# Prepares an event with BENCH_SEATS seats and as many single-use reservation tokens
# (bench/holds_setup), then wrk holds one seat per request for BENCH_DURATION.
# Also reports the server's CPU time per hold and the group commit's batching (ops per fsync).
#
#   BENCH_SEATS        seats and tokens to prepare (default 200000, the most an event has; must
#                      exceed what wrk sends)
#   BENCH_DURATION     wrk duration (default 5s)
#   BENCH_WRK_THREADS  wrk threads (default: one per CPU); holds.lua splits the tokens between them
#   TACOS_THREADS      server I/O threads (default 1)
#   BENCH_KEYS         sequential (default: bench-1, bench-2, ...) or random Idempotency-Keys
#   BENCH_USERS        signed-in buyers taking turns (default 1); an on-sale has about one per hold
#   BENCH_EVENT        seated (default: one distinct seat per hold) or ga (general admission: every
#                      hold takes one place of the same event's stock)
#   BENCH_STORE        sqlite (default) or postgres: a throwaway PostgreSQL (scripts/test-postgres.sh,
#                      fsync on) stores the holds, and afterwards pgbench runs a pick-a-seat script
#                      (one conditional UPDATE of a seat + one INSERT per transaction, distinct seats)
#                      with as many clients for as long against the same server: the ratio of the two
#                      rates is the HTTP path's cost over the database's own ceiling for that work
set -euo pipefail
# Holds use up their tokens: 5 s by default so BENCH_SEATS (200,000) outlasts the run.
: "${BENCH_DURATION:=5s}"
# One wrk thread per CPU: a single one was the slowest stage of the run (docs/architecture.md,
# "Where the hold rate stops"). holds.lua reads the count to split the tokens.
: "${BENCH_WRK_THREADS:=$(nproc)}"
export BENCH_WRK_THREADS
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BENCH_SEATS:=200000}"
: "${BENCH_KEYS:=sequential}"
[[ $BENCH_KEYS == sequential || $BENCH_KEYS == random ]] || bench_die "BENCH_KEYS must be sequential or random, not '$BENCH_KEYS'"
export BENCH_KEYS
: "${BENCH_USERS:=1}"
[[ $BENCH_USERS =~ ^[1-9][0-9]*$ ]] || bench_die "BENCH_USERS must be a positive number, not '$BENCH_USERS'"
: "${BENCH_EVENT:=seated}"
[[ $BENCH_EVENT == seated || $BENCH_EVENT == ga ]] || bench_die "BENCH_EVENT must be seated or ga"
export BENCH_EVENT # read by holds_setup
: "${BENCH_STORE:=sqlite}"
[[ $BENCH_STORE == sqlite || $BENCH_STORE == postgres ]] || bench_die "BENCH_STORE must be sqlite or postgres"
SETUP_BIN=${HOLDS_SETUP_BIN:-$(dirname "$TACOS_BIN")/../../bench/holds_setup}
bench_init
bench_require curl wrk
if [[ $BENCH_STORE == postgres ]]; then
  bench_require psql
  pg_state=$BENCH_TMP/pg
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  "$root/scripts/test-postgres.sh" start "$pg_state" >&2
  # The server goes too, then the benchmark's own clean-up, with the exit status kept.
  trap _bench_cleanup_pg EXIT
  _bench_cleanup_pg() {
    local rc=$?
    "$root/scripts/test-postgres.sh" stop "$pg_state" >/dev/null 2>&1 || true
    _bench_cleanup "$rc"
  }
  pg_base=$(cat "$pg_state/conninfo")
  export PGPASSWORD
  PGPASSWORD=$(cat "$pg_state/password")
  psql -q -X "$pg_base" -c "CREATE DATABASE tacos" -c "CREATE DATABASE pgbench" >/dev/null
  export TACOS_STORE_BACKEND=postgres TACOS_STORE_POSTGRES_URL=${pg_base/dbname=postgres/dbname=tacos}
  export TACOS_STORE_POSTGRES_PASSWORD_FILE=$pg_state/password
  env -u TACOS_BIN -u TACOS_THREADS "$TACOS_BIN" migrate >/dev/null
fi
[[ -x $SETUP_BIN ]] || bench_die "holds_setup not found at $SETUP_BIN (cmake --build --preset release --target holds_setup)"

TACOS_AUTH_ADMIN_USERNAME=admin TACOS_AUTH_ADMIN_PASSWORD=bench-admin-password \
  TACOS_AUTH_ARGON2_MEM_KIB=1024 TACOS_HTTP_MAX_BODY_BYTES=1048576 bench_start_tacos
bench_log "preparing $BENCH_SEATS seats and reservation tokens, $BENCH_USERS buyers"
"$SETUP_BIN" "$BENCH_TACOS_PORT" admin bench-admin-password "$BENCH_SEATS" 4 "$BENCH_TMP" "$BENCH_USERS" >&2

export BENCH_HOLDS_FILE=$BENCH_TMP/holds.txt BENCH_BEARER_FILE=$BENCH_TMP/bearer.txt
BENCH_WARMUP=0
cpu_before=$(bench_cpu_ticks "$BENCH_TACOS_PID")
bench_machine_ticks_once_busy "$BENCH_TACOS_PID" "$BENCH_TMP/machine-before" &
machine_sampler=$!
_bench_pids+=("$machine_sampler")
metrics=$(curl -fsS "http://127.0.0.1:$BENCH_TACOS_PORT/metrics")
holds_before=$(awk '$1 == "tacos_reservation_holds_total" { print $2 }' <<<"$metrics")
replays_before=$(awk '$1 == "tacos_gateway_idempotency_requests_total{outcome=\"replayed\"}" { print $2 }' <<<"$metrics")
if [[ $BENCH_STORE == postgres ]]; then
  # Every 100 ms: the server sessions running a statement, and how many of them wait on a lock.
  (while :; do
    psql -At -X "$TACOS_STORE_POSTGRES_URL" -c "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) \
      FROM pg_stat_activity WHERE state = 'active' AND datname = 'tacos' AND pid <> pg_backend_pid()" 2>/dev/null
    sleep 0.1
  done >"$BENCH_TMP/lock-samples") &
  lock_sampler=$!
  _bench_pids+=("$lock_sampler")
fi
bench_wrk tacos_holds "http://127.0.0.1:$BENCH_TACOS_PORT/api/v1/reservations" \
  "$(dirname "${BASH_SOURCE[0]}")/holds.lua"
if [[ $BENCH_STORE == postgres ]]; then
  kill "$lock_sampler" 2>/dev/null || true
  wait "$lock_sampler" 2>/dev/null || true
  lock_share=$(awk -F'|' '{ w += $1; a += $2 } END { if (a > 0) printf "%.0f%% of %d", 100 * w / a, a; else print "-" }' \
    "$BENCH_TMP/lock-samples")
fi

cpu_after=$(bench_cpu_ticks "$BENCH_TACOS_PID")
machine_after=$(bench_machine_ticks)
[[ -s $BENCH_TMP/machine-before ]] || kill "$machine_sampler" 2>/dev/null || true  # the server never got busy
wait "$machine_sampler" 2>/dev/null || true
bench_machine_share "$(cat "$BENCH_TMP/machine-before" 2>/dev/null || echo "$machine_after")" "$machine_after"
metrics=$(curl -fsS "http://127.0.0.1:$BENCH_TACOS_PORT/metrics")
holds=$(awk '$1 == "tacos_reservation_holds_total" { print $2 }' <<<"$metrics")
# Server CPU per hold (all its threads): steadier than holds/s on a busy machine.
cpu_us=$(bench_cpu_us_per $((cpu_after - cpu_before)) $((${holds:-0} - ${holds_before:-0})))
batches=$(awk '$1 == "tacos_store_commits_total" { print $2 }' <<<"$metrics")
ops=$(awk '$1 == "tacos_store_ops_total" { print $2 }' <<<"$metrics")
mkdir -p "$BENCH_RESULTS_DIR"
{
  echo "holds: $([[ $BENCH_EVENT == ga ]] && echo "general admission, one place" || echo "distinct seats"), $BENCH_STORE, one durable hold per request, wrk -t$BENCH_WRK_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION, server threads $TACOS_THREADS, $BENCH_KEYS keys, $BENCH_USERS buyers"
  printf '  holds/s          %12s\n' "${BENCH_RPS[tacos_holds]}"
  printf '  p99              %12s ms\n' "${BENCH_P99_MS[tacos_holds]}"
  printf '  server CPU/hold  %12s us\n' "$cpu_us"
  printf '  holds made       %12s   (non-2xx %s)\n' "$holds" "${BENCH_NON2XX[tacos_holds]}"
  printf '  commits          %12s   (%s ops, %s ops per fsync)\n' "$batches" "$ops" \
    "$(awk -v o="$ops" -v b="$batches" 'BEGIN { if (b > 0) printf "%.1f", o / b; else print "-" }')"
  # Read holds/s together with these: on a shared VM, the CPU time the hypervisor keeps (steal:
  # other guests, and the host's work for this VM's disk) is taken from wrk and tacos alike.
  printf '  machine          steal %s%%, idle %s%% of %s CPUs\n' "$BENCH_STEAL_PCT" "$BENCH_IDLE_PCT" "$(nproc)"
  [[ $BENCH_STORE != postgres ]] || printf '  lock waits       %s sampled active sessions\n' "$lock_share"
} | tee "$BENCH_RESULTS_DIR/holds.txt"
printf '{"wrk_threads":%s,"keys":"%s","users":%s,"holds_per_sec":%s,"p99_ms":%s,"cpu_us_per_hold":%s,"holds":%s,"non2xx":%s,"commits":%s,"ops":%s,"steal_pct":%s,"idle_pct":%s}\n' \
  "$BENCH_WRK_THREADS" "$BENCH_KEYS" "$BENCH_USERS" "${BENCH_RPS[tacos_holds]}" "${BENCH_P99_MS[tacos_holds]}" "$cpu_us" "${holds:-0}" "${BENCH_NON2XX[tacos_holds]}" \
  "${batches:-0}" "${ops:-0}" "$BENCH_STEAL_PCT" "$BENCH_IDLE_PCT" >"$BENCH_RESULTS_DIR/holds.json"
# Past its share of BENCH_SEATS, a wrk thread starts over and the server answers replays of
# earlier keys, which are no holds.
replays=$(awk '$1 == "tacos_gateway_idempotency_requests_total{outcome=\"replayed\"}" { print $2 }' <<<"$metrics")
((${replays:-0} - ${replays_before:-0} == 0)) ||
  bench_die "wrk ran out of tokens and $((${replays:-0} - ${replays_before:-0})) requests were replays of earlier ones: raise BENCH_SEATS (at most 200000) or shorten BENCH_DURATION"
[[ ${BENCH_NON2XX[tacos_holds]} == 0 ]] || bench_die "some holds failed (${BENCH_NON2XX[tacos_holds]} non-2xx)"

if [[ $BENCH_STORE == postgres && $BENCH_EVENT == seated ]]; then
  # The same server, the same number of clients, the same time: pick-a-seat in pgbench.
  pg_bench_url=${pg_base/dbname=postgres/dbname=pgbench}
  psql -q -X "$pg_bench_url" >/dev/null <<SQL
CREATE TABLE seats (id bigint PRIMARY KEY, status text NOT NULL, reservation_id text);
INSERT INTO seats SELECT g, 'AVAILABLE', NULL FROM generate_series(1, $BENCH_SEATS) g;
CREATE TABLE holds (id text PRIMARY KEY, seat_id bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE SEQUENCE next_seat;
SQL
  cat >"$BENCH_TMP/pick_a_seat.sql" <<'SQL'
BEGIN;
WITH s AS (SELECT nextval('next_seat') AS id) UPDATE seats SET status = 'HELD', reservation_id = 'pgbench' FROM s WHERE seats.id = s.id AND seats.status = 'AVAILABLE';
INSERT INTO holds (id, seat_id) VALUES ('h' || currval('next_seat'), currval('next_seat'));
COMMIT;
SQL
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  tps=$("$pgbin/pgbench" -n -M prepared -c "$BENCH_CONNECTIONS" -j 2 -T "$(_bench_seconds "$BENCH_DURATION")" \
    -f "$BENCH_TMP/pick_a_seat.sql" "$pg_bench_url" 2>/dev/null | awk '/^tps/ { printf "%.0f", $3 }')
  {
    printf '  pgbench pick-a-seat %9s tps  (-c%s, same server, same run)\n' "$tps" "$BENCH_CONNECTIONS"
    printf '  holds / pgbench  %12s\n' "$(awk -v h="${BENCH_RPS[tacos_holds]}" -v p="$tps" 'BEGIN { if (p > 0) printf "%.2f", h / p; else print "-" }')"
  } | tee -a "$BENCH_RESULTS_DIR/holds.txt"
fi
