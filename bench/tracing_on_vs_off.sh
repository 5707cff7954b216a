#!/usr/bin/env bash
# What tracing costs on the hottest path: GET /api/v1/queue/status against three tacos servers
# started side by side with --force-remote (so one poll is three spans: the gateway's server span,
# its call to the queue role, and the queue's server span), one with tracing off, one sampling 1 %
# of new traces, one sampling all of them. The two traced ones export OTLP/JSON to nginx standing
# in for a collector (it answers every POST 200). Aim: 0.01 within 5 % of off.
#
# Reports req/s and the server's CPU time per request (utime + stime from /proc over the measured
# run; the exporter's thread is in the same process, so its JSON and POSTs are counted), the
# latter as the median of several alternating rounds (BENCH_ROUNDS, default 5, of BENCH_ROUND,
# default 4s, each).
#
#   BENCH_DURATION  wrk duration per target (default 10s); more settings in bench/lib.sh
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_init
bench_require curl wrk nginx

bench_start_nginx 2
collector="http://127.0.0.1:$BENCH_NGINX_PORT/v1/traces"

join() {
  curl -fsS -X POST "http://127.0.0.1:$1/api/v1/queue/join" -H 'Content-Type: application/json' \
    -H 'X-Client-ID: bench_status_client' -H "Idempotency-Key: join-$RANDOM$RANDOM" \
    -d '{"event_id":"evt_2025_1001"}' | sed -n 's/.*"waiting_token":"\([^"]*\)".*/\1/p'
}

declare -A port pid token cpu_us
for mode in off 0.01 1.0; do
  if [[ $mode == off ]]; then
    BENCH_TACOS_ARGS=--force-remote BENCH_TACOS_SUFFIX=-off bench_start_tacos
  else
    BENCH_TACOS_ARGS=--force-remote BENCH_TACOS_SUFFIX=-$mode TACOS_TRACING_OTLP_ENDPOINT=$collector \
      TACOS_TRACING_SAMPLE_RATIO=$mode bench_start_tacos
  fi
  port[$mode]=$BENCH_TACOS_PORT
  pid[$mode]=$BENCH_TACOS_PID
  token[$mode]=$(join "${port[$mode]}")
  [[ -n ${token[$mode]} ]] || bench_die "could not join the queue ($mode)"
done

bench_fetch "http://127.0.0.1:${port[off]}/api/v1/queue/status?token=${token[off]}" "$BENCH_TMP/body"

measure() { # mode
  local url="http://127.0.0.1:${port[$1]}/api/v1/queue/status?token=${token[$1]}" before after
  timeout -k 5 30 wrk -t1 -c"$BENCH_CONNECTIONS" -d1s "$url" >/dev/null 2>&1 </dev/null || true
  before=$(bench_cpu_ticks "${pid[$1]}")
  BENCH_WARMUP=0 bench_wrk "$1" "$url"
  after=$(bench_cpu_ticks "${pid[$1]}")
  cpu_us[$1]=$(bench_cpu_us_per $((after - before)) "${BENCH_REQUESTS[$1]}")
}
for mode in off 0.01 1.0; do measure "$mode"; done
bench_report tracing_on_vs_off off 0.01 "/api/v1/queue/status?token=... with --force-remote (tracing at 0.01 vs off)"

# CPU per request moves by tens of percent between back-to-back runs on a shared machine, so it is
# measured again in BENCH_ROUNDS rounds that alternate the three servers; the median counts.
declare -A rounds
for ((r = 1; r <= ${BENCH_ROUNDS:-5}; r++)); do
  for mode in off 0.01 1.0; do
    url="http://127.0.0.1:${port[$mode]}/api/v1/queue/status?token=${token[$mode]}"
    before=$(bench_cpu_ticks "${pid[$mode]}")
    n=$(timeout -k 5 30 wrk -t1 -c"$BENCH_CONNECTIONS" -d"${BENCH_ROUND:-4s}" "$url" </dev/null 2>&1 |
      awk '$2 == "requests" && $3 == "in" { print $1 }')
    after=$(bench_cpu_ticks "${pid[$mode]}")
    rounds[$mode]+="$(bench_cpu_us_per $((after - before)) "${n:-0}") "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
for mode in off 0.01 1.0; do cpu_us[$mode]=$(median "${rounds[$mode]}"); done
echo "server CPU per request, median of ${BENCH_ROUNDS:-5} alternating rounds: off ${cpu_us[off]} us (${rounds[off]% }), 0.01 ${cpu_us[0.01]} us (${rounds[0.01]% }), 1.0 ${cpu_us[1.0]} us (${rounds[1.0]% });" \
  "ratios 0.01/off $(ratio "${cpu_us[0.01]}" "${cpu_us[off]}"), 1.0/off $(ratio "${cpu_us[1.0]}" "${cpu_us[off]}")"
for mode in 0.01 1.0; do
  echo "tracing $mode: $(curl -fsS "http://127.0.0.1:${port[$mode]}/metrics" | grep '^tacos_trace_spans' | tr '\n' ' ')"
done
