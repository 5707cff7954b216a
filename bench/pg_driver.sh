#!/usr/bin/env bash
# The PostgreSQL driver decision (docs/decisions/0008), measured side by side in one run on a
# throwaway server (scripts/test-postgres.sh): the pick-a-seat transaction (BEGIN, conditional
# UPDATE of one seat, INSERT of the hold, COMMIT) through
#   async     store::pg::Pool, N coroutines on one thread (what tacos does),
#   blocking  N threads with a blocking libpq connection each (the alternative),
#   pgbench   the same statements from pgbench -c N -j 2 (the server's ceiling for this script),
# for N in BENCH_PG_CONCURRENCY (default "8 32"), BENCH_PG_SECONDS each (default 5). Then the
# general-admission design: 200 buyers taking one place per transaction from one event's stock
# kept in 1 counter row (one hot row) and in 16 (store/postgres/holds.hpp), with the share of
# sampled server sessions waiting on a lock.
# Prints transactions per second and the client's CPU time per transaction.
#
#   bench/pg_driver.sh [BUILD_DIR]     (default build/release; needs bench/pg_driver_bench)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build/release}
bin=$build/bench/pg_driver_bench
[[ -x $bin ]] || { echo "bench: $bin is missing: cmake --build --preset release --target pg_driver_bench" >&2; exit 1; }
: "${BENCH_PG_CONCURRENCY:=8 32}"
: "${BENCH_PG_SECONDS:=5}"

state=$(mktemp -d)
trap '"$root/scripts/test-postgres.sh" stop "$state"; rm -rf "$state"' EXIT
"$root/scripts/test-postgres.sh" start "$state" >&2
base=$(cat "$state/conninfo")
export PGPASSWORD TACOS_BENCH_PG_PASSWORD
PGPASSWORD=$(cat "$state/password")
TACOS_BENCH_PG_PASSWORD=$PGPASSWORD
psql -q "$base" -c "CREATE DATABASE bench" >/dev/null
export TACOS_BENCH_PG_URL=${base/dbname=postgres/dbname=bench}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

script=$state/pick_a_seat.sql
cat >"$script" <<'SQL'
\set seat random(0, 199999)
BEGIN;
UPDATE seats SET status = 'HELD', reservation_id = 'pgbench' WHERE event_id = 'evt_bench' AND seat_id = 's' || :seat AND status = 'AVAILABLE';
INSERT INTO holds (id, seat_id) VALUES ('pgb' || :client_id || '_' || nextval('hold_ids'), 's' || :seat);
COMMIT;
SQL

for n in $BENCH_PG_CONCURRENCY; do
  for mode in async blocking; do
    "$bin" setup 0 0
    "$bin" "$mode" "$n" "$BENCH_PG_SECONDS"
  done
  "$bin" setup 0 0
  psql -q "$TACOS_BENCH_PG_URL" -c "CREATE SEQUENCE IF NOT EXISTS hold_ids" >/dev/null
  # -M prepared: like both drivers above. pgbench's own CPU is not comparable (it is C, one
  # process, two threads); its tps is the server's ceiling for this transaction.
  tps=$("$pgbin/pgbench" -n -M prepared -c "$n" -j 2 -T "$BENCH_PG_SECONDS" -f "$script" "$TACOS_BENCH_PG_URL" 2>/dev/null |
    awk '/^tps/ { printf "%.0f", $3 }')
  echo "pgbench c=$n tps=$tps"
done

for slots in 1 16; do
  "$bin" setup 0 0
  waits=$state/waits.$slots
  : >"$waits"
  ( for _ in $(seq 1 $((BENCH_PG_SECONDS * 10))); do
      psql -qAt "$TACOS_BENCH_PG_URL" -c "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FROM pg_stat_activity WHERE datname = 'bench' AND state = 'active' AND pid <> pg_backend_pid()" >>"$waits" 2>/dev/null || true
      sleep 0.1
    done ) &
  sampler=$!
  "$bin" ga 200 "$BENCH_PG_SECONDS" "$slots"
  wait "$sampler"
  awk -F'|' -v s="$slots" '{ w += $1; a += $2 } END { printf "ga%s lock_wait_share=%.2f (of %d active-session samples)\n", s, (a ? w / a : 0), a }' "$waits"
done
