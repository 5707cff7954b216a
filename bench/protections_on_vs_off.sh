#!/usr/bin/env bash
# What the gateway's protections cost on the hottest path: GET /api/v1/queue/status against two
# tacos servers started side by side, one with rate limits off (baseline) and one with them on
# (limits raised so nothing is refused, plus a CORS allow-list; requests carry an Origin so CORS
# decorates every answer). Request ids, security headers, metrics, the access log setting and
# authentication run in both. Aim: "on" within 15% of "off".
#
# Besides req/s (which a busy machine disturbs), it reports the server's CPU time per request
# (utime + stime from /proc over the measured run): the cost of the code itself, which other
# load on the machine moves much less.
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
off_pid=$BENCH_TACOS_PID
BENCH_RATE_LIMITS=true BENCH_TACOS_SUFFIX=-on TACOS_HTTP_CORS_ALLOWED_ORIGINS=https://tickets.example \
  bench_start_tacos
on_port=$BENCH_TACOS_PORT
on_pid=$BENCH_TACOS_PID

off_token=$(join "$off_port")
on_token=$(join "$on_port")
[[ -n $off_token && -n $on_token ]] || bench_die "could not join the queue"
bench_fetch "http://127.0.0.1:$on_port/api/v1/queue/status?token=$on_token" "$BENCH_TMP/body"

script=$BENCH_TMP/origin.lua
echo 'wrk.headers["Origin"] = "https://tickets.example"' >"$script"
declare -A cpu_us
measure() { # label port token pid
  local before after
  # The warm-up runs first, outside the CPU window.
  timeout -k 5 30 wrk -t1 -c"$BENCH_CONNECTIONS" -d1s -s "$script" \
    "http://127.0.0.1:$2/api/v1/queue/status?token=$3" >/dev/null 2>&1 </dev/null || true
  before=$(bench_cpu_ticks "$4")
  BENCH_WARMUP=0 bench_wrk "$1" "http://127.0.0.1:$2/api/v1/queue/status?token=$3" "$script"
  after=$(bench_cpu_ticks "$4")
  cpu_us[$1]=$(bench_cpu_us_per $((after - before)) "${BENCH_REQUESTS[$1]}")
}
measure off "$off_port" "$off_token" "$off_pid"
measure on "$on_port" "$on_token" "$on_pid"
bench_report protections_on_vs_off off on "/api/v1/queue/status?token=... (protections on vs off)"
echo "server CPU per request: off ${cpu_us[off]} us, on ${cpu_us[on]} us;" \
  "ratio on/off $(awk -v a="${cpu_us[on]}" -v b="${cpu_us[off]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
