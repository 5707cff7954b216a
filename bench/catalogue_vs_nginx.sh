#!/usr/bin/env bash
# Catalogue read path: GET one event from tacos (release build, demo seed) against nginx serving
# a static file of the same size, in the same run. Prints a table and writes
# bench/results/$BENCH_NAME.json. See bench/README.md for how to read it.
#
#   BENCH_PATH      request path (default /api/v1/events/evt_2025_1001); any GET endpoint that
#                   answers 200 without authentication works
#   BENCH_NAME      results file name (default catalogue)
#   BENCH_DURATION  wrk duration per target (default 10s); more settings in bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BENCH_PATH:=/api/v1/events/evt_2025_1001}"
: "${BENCH_NAME:=catalogue}"
[[ $BENCH_PATH == /* ]] || bench_die "BENCH_PATH must start with /"

bench_init
bench_require curl wrk nginx

bench_start_tacos
tacos_url="http://127.0.0.1:$BENCH_TACOS_PORT$BENCH_PATH"
bench_fetch "$tacos_url" "$BENCH_TMP/body"
bench_start_nginx "$BENCH_BODY_BYTES"

bench_wrk nginx "http://127.0.0.1:$BENCH_NGINX_PORT$BENCH_PATH"
bench_wrk tacos "$tacos_url"
bench_report "$BENCH_NAME" nginx tacos "$BENCH_PATH"
