#!/usr/bin/env bash
# What running roles apart costs, measured side by side in one run:
#
#   in_process    every role in one process, calls between roles are C++ calls (`make run`)
#   force_remote  one process, but every call between roles and every public route but the
#                 gateway's own goes over HTTP to its own internal listener (--force-remote)
#   split         a --roles gateway process in front of one process with every other role
#   baseline      (only with BENCH_BASELINE_BIN) the in-process path of another build, e.g. the
#                 commit before: the in-process path must not get slower
#
# For each: the waiting-room poll (GET /api/v1/queue/status) and holds of distinct seats
# (POST /api/v1/reservations, each durable before its 201), req/s and p99. Then the internal
# client's overhead: the same poll through the split gateway vs sent straight to the backend's
# internal listener (the edge route the gateway forwards to).
#
#   BENCH_DURATION      wrk duration per measurement (default 5s)
#   BENCH_SEATS         seats and tokens prepared per deployment for the holds (default 60000)
#   BENCH_BASELINE_BIN  a tacos binary to compare the in-process path with (optional)
#   BENCH_MODES         which deployments (default "in_process force_remote split")
#   BENCH_HOLDS         0 = measure the poll only (default 1)
set -euo pipefail
: "${BENCH_DURATION:=5s}"
: "${BENCH_WRK_THREADS:=1}"
export BENCH_WRK_THREADS
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BENCH_SEATS:=60000}"
: "${BENCH_MODES:=in_process force_remote split}"
export BENCH_KEYS=sequential
SETUP_BIN=${HOLDS_SETUP_BIN:-$(dirname "$TACOS_BIN")/../../bench/holds_setup}
bench_init
bench_require curl wrk
[[ -x $SETUP_BIN ]] || bench_die "holds_setup not found at $SETUP_BIN (cmake --build --preset release --target holds_setup)"
modes=()
read -r -a modes <<<"$BENCH_MODES"
[[ -z ${BENCH_BASELINE_BIN:-} ]] || modes=(baseline "${modes[@]}")
backend_roles=inventory,queue,reservation,payment,worker
export TACOS_AUTH_ADMIN_USERNAME=admin TACOS_AUTH_ADMIN_PASSWORD=bench-admin-password
export TACOS_AUTH_ARGON2_MEM_KIB=1024 TACOS_HTTP_MAX_BODY_BYTES=1048576

# Starts the deployment of one mode; sets port (public), direct (the backend's internal port, split
# only) and pids (to stop).
deploy() {
  local mode=$1 url
  pids=() direct=""
  case $mode in
    baseline) TACOS_BIN=$BENCH_BASELINE_BIN BENCH_TACOS_SUFFIX=-$mode BENCH_TACOS_ARGS="" bench_start_tacos ;;
    in_process) BENCH_TACOS_SUFFIX=-$mode BENCH_TACOS_ARGS="" bench_start_tacos ;;
    force_remote) BENCH_TACOS_SUFFIX=-$mode BENCH_TACOS_ARGS=--force-remote bench_start_tacos ;;
    split)
      BENCH_TACOS_SUFFIX=-backend BENCH_TACOS_ARGS=--roles=$backend_roles BENCH_TACOS_DATA=$BENCH_TMP/split-data \
        bench_start_tacos
      pids+=("$BENCH_TACOS_PID")
      direct=$BENCH_TACOS_INTERNAL_PORT
      url=http://127.0.0.1:$direct
      TACOS_ROLES_INVENTORY_URL=$url TACOS_ROLES_QUEUE_URL=$url TACOS_ROLES_RESERVATION_URL=$url \
        TACOS_ROLES_PAYMENT_URL=$url TACOS_ROLES_WORKER_URL=$url \
        BENCH_TACOS_SUFFIX=-gateway BENCH_TACOS_ARGS=--roles=gateway BENCH_TACOS_DATA=$BENCH_TMP/split-data \
        bench_start_tacos
      ;;
    *) bench_die "unknown mode '$mode'" ;;
  esac
  pids+=("$BENCH_TACOS_PID")
  port=$BENCH_TACOS_PORT
}

for mode in "${modes[@]}"; do
  deploy "$mode"
  base=http://127.0.0.1:$port
  bench_join_queue "$base" "bench_$mode"
  poll="/api/v1/queue/status?token=$BENCH_WAITING_TOKEN"
  bench_fetch "$base$poll" "$BENCH_TMP/body"
  BENCH_WARMUP=1s bench_wrk "poll_$mode" "$base$poll"
  if [[ -n $direct ]]; then
    BENCH_WARMUP=1s BENCH_WRK_HEADER="x-tacos-service-token: bench-service-secret-$_bench_secret" \
      bench_wrk "poll_direct" "http://127.0.0.1:$direct/internal/v1/edge$poll"
  fi

  if [[ ${BENCH_HOLDS:-1} == 0 ]]; then
    for pid in "${pids[@]}"; do _bench_stop "$pid"; done
    continue
  fi
  bench_log "$mode: preparing $BENCH_SEATS seats and reservation tokens"
  mkdir -p "$BENCH_TMP/$mode"
  "$SETUP_BIN" "$port" admin bench-admin-password "$BENCH_SEATS" 4 "$BENCH_TMP/$mode" 1 >&2
  BENCH_HOLDS_FILE=$BENCH_TMP/$mode/holds.txt BENCH_BEARER_FILE=$BENCH_TMP/$mode/bearer.txt BENCH_WARMUP=0 \
    bench_wrk "holds_$mode" "$base/api/v1/reservations" "$(dirname "${BASH_SOURCE[0]}")/holds.lua"
  for pid in "${pids[@]}"; do _bench_stop "$pid"; done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
mkdir -p "$BENCH_RESULTS_DIR"
{
  echo "roles_apart: wrk -t$BENCH_WRK_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION, $TACOS_THREADS I/O thread(s) per process, $(nproc) CPUs"
  printf '  %-13s %12s %9s %12s %9s %s\n' deployment "poll req/s" "p99 ms" "holds/s" "p99 ms" "non-2xx (poll/holds)"
  for mode in "${modes[@]}"; do
    printf '  %-13s %12s %9s %12s %9s %s/%s\n' "$mode" "${BENCH_RPS[poll_$mode]}" "${BENCH_P99_MS[poll_$mode]}" \
      "${BENCH_RPS[holds_$mode]:--}" "${BENCH_P99_MS[holds_$mode]:--}" "${BENCH_NON2XX[poll_$mode]}" \
      "${BENCH_NON2XX[holds_$mode]:--}"
  done
  for mode in "${modes[@]}"; do
    [[ $mode == in_process ]] && continue
    if [[ $mode == baseline ]]; then
      printf '  in_process/baseline:  poll %s, holds %s (aim >= 0.95)\n' \
        "$(ratio "${BENCH_RPS[poll_in_process]:-0}" "${BENCH_RPS[poll_baseline]}")" \
        "$(ratio "${BENCH_RPS[holds_in_process]:-0}" "${BENCH_RPS[holds_baseline]:-0}")"
    else
      printf '  %s/in_process:  poll %s, holds %s\n' "$mode" \
        "$(ratio "${BENCH_RPS[poll_$mode]}" "${BENCH_RPS[poll_in_process]:-0}")" \
        "$(ratio "${BENCH_RPS[holds_$mode]:-0}" "${BENCH_RPS[holds_in_process]:-0}")"
    fi
  done
  if [[ -n ${BENCH_RPS[poll_direct]:-} ]]; then
    printf '  internal client: poll through the gateway %s req/s vs straight to the backend %s req/s (p99 %s vs %s ms): ratio %s (aim >= 0.5)\n' \
      "${BENCH_RPS[poll_split]}" "${BENCH_RPS[poll_direct]}" "${BENCH_P99_MS[poll_split]}" "${BENCH_P99_MS[poll_direct]}" \
      "$(ratio "${BENCH_RPS[poll_split]}" "${BENCH_RPS[poll_direct]}")"
  fi
} | tee "$BENCH_RESULTS_DIR/roles_apart.txt"
for label in "${BENCH_TARGETS[@]}"; do
  [[ ${BENCH_NON2XX[$label]} == 0 && ${BENCH_SOCKET_ERRORS[$label]} == 0 ]] ||
    bench_die "$label answered ${BENCH_NON2XX[$label]} non-2xx and ${BENCH_SOCKET_ERRORS[$label]} socket errors"
done
