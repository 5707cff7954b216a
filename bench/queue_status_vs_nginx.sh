#!/usr/bin/env bash
# Waiting-room poll path: GET /api/v1/queue/status with a valid waiting token, against nginx
# serving a static file of the same size, in the same run. The poll is a signature check plus a
# few counter reads; this shows what that costs next to the cheapest possible answer.
#
#   BENCH_DURATION  wrk duration per target (default 10s); more settings in bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_init
bench_require curl wrk nginx

bench_start_tacos
base="http://127.0.0.1:$BENCH_TACOS_PORT"
bench_join_queue "$base" bench_status_client
path="/api/v1/queue/status?token=$BENCH_WAITING_TOKEN"
bench_fetch "$base$path" "$BENCH_TMP/body"
bench_start_nginx "$BENCH_BODY_BYTES"

bench_wrk nginx "http://127.0.0.1:$BENCH_NGINX_PORT$path"
bench_wrk tacos "$base$path"
bench_report queue_status nginx tacos "/api/v1/queue/status?token=..."
