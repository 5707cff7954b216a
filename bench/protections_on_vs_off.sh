#!/usr/bin/env bash
# What the gateway's protections cost on the hottest path: GET /api/v1/queue/status against two
# tacos servers started side by side, one with rate limits off (baseline) and one with them on
# (limits raised so nothing is refused, plus a CORS allow-list; requests carry an Origin so CORS
# decorates every answer). Request ids, security headers, metrics, the access log setting and
# authentication run in both. Aim: "on" within 15% of "off".
#
#   BENCH_DURATION  wrk duration per target (default 10s); more settings in bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_init
bench_require curl wrk

join() {
  curl -fsS -X POST "http://127.0.0.1:$1/api/v1/queue/join" -H 'Content-Type: application/json' \
    -H 'X-Client-ID: bench_status_client' -H "Idempotency-Key: join-$RANDOM$RANDOM" \
    -d '{"event_id":"evt_2025_1001"}' | sed -n 's/.*"waiting_token":"\([^"]*\)".*/\1/p'
}

BENCH_RATE_LIMITS=false BENCH_TACOS_SUFFIX=-off bench_start_tacos
off_port=$BENCH_TACOS_PORT
BENCH_RATE_LIMITS=true BENCH_TACOS_SUFFIX=-on TACOS_HTTP_CORS_ALLOWED_ORIGINS=https://tickets.example \
  bench_start_tacos
on_port=$BENCH_TACOS_PORT

off_token=$(join "$off_port")
on_token=$(join "$on_port")
[[ -n $off_token && -n $on_token ]] || bench_die "could not join the queue"
bench_fetch "http://127.0.0.1:$on_port/api/v1/queue/status?token=$on_token" "$BENCH_TMP/body"

script=$BENCH_TMP/origin.lua
echo 'wrk.headers["Origin"] = "https://tickets.example"' >"$script"
bench_wrk off "http://127.0.0.1:$off_port/api/v1/queue/status?token=$off_token" "$script"
bench_wrk on "http://127.0.0.1:$on_port/api/v1/queue/status?token=$on_token" "$script"
bench_report protections_on_vs_off off on "/api/v1/queue/status?token=... (protections on vs off)"
