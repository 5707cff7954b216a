# shellcheck shell=bash disable=SC2034  # BENCH_* globals are read by the scripts sourcing this
# Shared pieces of the bench/*_vs_*.sh scripts: start the tacos server and an nginx baseline on
# loopback, run wrk against each, and report the same-run ratio. Source it, then call bench_init.
#
# Functions report through globals (not stdout) because they start background processes that
# must stay children of the calling shell: `x=$(bench_start_tacos)` would lose them.
#
# Settings (environment, all optional):
#   TACOS_BIN          server binary            (default build/release/src/app/tacos)
#   TACOS_THREADS      server I/O threads, also nginx worker_processes (default 1)
#   BENCH_DURATION     wrk duration per target   (default 10s)
#   BENCH_WARMUP       unmeasured wrk run first  (default 1s; 0 = none)
#   BENCH_CONNECTIONS  wrk connections           (default 64)
#   BENCH_WRK_THREADS  wrk threads               (default 1)
#   BENCH_RESULTS_DIR  where JSON/text results go (default bench/results)
#   BENCH_KEEP_TMP     1 = keep the temp dir (server logs, wrk output) and print its path
#   BENCH_TACOS_ARGS   extra arguments after `serve` (e.g. --roles=gateway, --force-remote)
#   BENCH_TACOS_DATA   data directory (default: a fresh one per server; processes of one
#                      deployment share it)
#   BENCH_WRK_HEADER   one extra request header for wrk ("Name: value")
# Any other TACOS_* variable in the environment reaches the server unchanged.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TACOS_BIN:=$BENCH_ROOT/build/release/src/app/tacos}"
: "${TACOS_THREADS:=1}"
: "${BENCH_DURATION:=10s}"
: "${BENCH_WARMUP:=1s}"
: "${BENCH_CONNECTIONS:=64}"
: "${BENCH_WRK_THREADS:=1}"
: "${BENCH_RESULTS_DIR:=$BENCH_ROOT/bench/results}"
: "${BENCH_KEEP_TMP:=0}"

BENCH_TMP=""
BENCH_TACOS_PID="" BENCH_TACOS_PORT="" BENCH_TACOS_INTERNAL_PORT="" BENCH_WAITING_TOKEN=""
BENCH_NGINX_PID="" BENCH_NGINX_PORT=""
BENCH_BODY_BYTES=""
BENCH_TARGETS=()
declare -A BENCH_RPS=() BENCH_P99_MS=() BENCH_REQUESTS=() BENCH_NON2XX=() BENCH_SOCKET_ERRORS=()
_bench_pids=()

bench_log() { echo "bench: $*" >&2; }
bench_die() {
  echo "bench: error: $*" >&2
  exit 1
}

bench_require() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || bench_die "'$cmd' not found (run scripts/bootstrap.sh bench)"
  done
}

# Creates the temp dir and the EXIT trap that stops every server this script started.
bench_init() {
  ((BASH_VERSINFO[0] >= 5)) || bench_die "bash 5 or newer is required"
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tacos-bench.XXXXXX")
  # Started as root, nginx workers run as 'nobody' and must be able to read the static file.
  chmod 755 "$BENCH_TMP"
  trap _bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [[ $TACOS_THREADS =~ ^[1-9][0-9]*$ ]] || bench_die "TACOS_THREADS must be a positive integer"
  _bench_seconds "$BENCH_DURATION" >/dev/null || bench_die "bad BENCH_DURATION '$BENCH_DURATION'"
  [[ $BENCH_WARMUP == 0 ]] || _bench_seconds "$BENCH_WARMUP" >/dev/null ||
    bench_die "bad BENCH_WARMUP '$BENCH_WARMUP'"
}

# wrk duration syntax (10, 10s, 2m, 1h) -> whole seconds.
_bench_seconds() {
  local d=$1
  case "$d" in
    *[0-9]s) d=${d%s} ;;
    *[0-9]m) d=$((${d%m} * 60)) ;;
    *[0-9]h) d=$((${d%h} * 3600)) ;;
  esac
  [[ $d =~ ^[0-9]+$ ]] || return 1
  echo "$d"
}

# Stops one child: TERM, then KILL after 10 s, so cleanup stays bounded in time. Bash reaps
# finished children by itself, so `kill -0` fails as soon as the child is gone.
# Only our own children are signalled: a recorded pid that ended may have been reused.
_bench_stop() {
  local pid=$1 i stat ppid
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
  read -r _ ppid _ <<<"${stat##*) }" # fields after "pid (comm) ": state ppid ...
  [[ $ppid == "$$" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The EXIT trap, or called by a script's own trap with the exit status as $1 (a trap that chains
# to it cannot restore $? with `(exit "$rc")`: under `set -e` that ends the trap there).
_bench_cleanup() {
  local rc=${1:-$?} i log
  trap - INT TERM
  # Newest first: the load generator stops before the servers it talks to.
  for ((i = ${#_bench_pids[@]} - 1; i >= 0; i--)); do
    _bench_stop "${_bench_pids[i]}"
  done
  if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then
    if [[ $rc -ne 0 ]]; then
      for log in "$BENCH_TMP"/*/*.log; do
        [[ -s $log ]] || continue
        echo "----- last lines of ${log#"$BENCH_TMP"/} -----" >&2
        tail -n 20 "$log" >&2
      done
    fi
    if [[ $BENCH_KEEP_TMP == 1 ]]; then
      bench_log "kept $BENCH_TMP"
    else
      rm -rf "$BENCH_TMP"
    fi
  fi
  exit "$rc"
}

_bench_tcp_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a loopback port nobody listens on. Picked below the kernel's ephemeral range so that
# wrk's own client sockets cannot take it.
bench_free_port() {
  local port i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 12000))
    if command -v ss >/dev/null 2>&1; then
      [[ -z $(ss -Htln "sport = :$port") ]] || continue
    else
      ! _bench_tcp_open "$port" || continue
    fi
    echo "$port"
    return 0
  done
  return 1
}

# Starts the tacos server on a kernel-chosen loopback port with a fresh data dir and the demo
# seed. Sets BENCH_TACOS_PID and BENCH_TACOS_PORT. The server writes its bound port to
# TACOS_HTTP_PORT_FILE once it listens; we wait for that file (30 s), then for a TCP connect.
# One load generator on loopback is one client address: the limits stay on (their cost is part
# of every measurement) but are raised so that no request is refused. BENCH_RATE_LIMITS=false
# turns them off (bench/protections_overhead.sh compares both).
_bench_no_limit="100000000/s 100000000"

bench_start_tacos() {
  [[ -x $TACOS_BIN ]] || bench_die "server binary '$TACOS_BIN' not found (run: make build)"
  local dir=$BENCH_TMP/tacos${BENCH_TACOS_SUFFIX:-} secret port="" deadline data
  local -a args=()
  read -r -a args <<<"${BENCH_TACOS_ARGS:-}"
  data=${BENCH_TACOS_DATA:-$dir/data}
  mkdir -p "$dir" "$data"
  # One secret per benchmark run: the processes of one deployment must share it.
  : "${_bench_secret:=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')}" # 40 hex characters
  secret=$_bench_secret
  # The internal listener, for roles apart or --force-remote (a binary from before roles could
  # run apart would refuse these keys).
  local -a internal=()
  [[ ${#args[@]} -eq 0 ]] || internal=(TACOS_INTERNAL_PORT=0 TACOS_INTERNAL_PORT_FILE="$dir/internal-port"
    TACOS_INTERNAL_SERVICE_SECRET="bench-service-secret-$secret")
  # TACOS_BIN and TACOS_THREADS are this script's settings, not server config keys.
  env -u TACOS_BIN -u TACOS_THREADS \
    TACOS_HTTP_HOST=127.0.0.1 \
    TACOS_HTTP_PORT=0 \
    TACOS_HTTP_PORT_FILE="$dir/port" \
    TACOS_HTTP_THREADS="$TACOS_THREADS" \
    TACOS_HTTP_ACCESS_LOG=false \
    TACOS_LOG_LEVEL=warn \
    TACOS_STORE_DATA_DIR="$data" \
    TACOS_DEMO_SEED=true \
    TACOS_AUTH_JWT_SECRET="$secret" \
    TACOS_RATE_LIMIT_ENABLED="${BENCH_RATE_LIMITS:-true}" \
    TACOS_RATE_LIMIT_PER_IP="$_bench_no_limit" TACOS_RATE_LIMIT_PER_USER="$_bench_no_limit" \
    TACOS_RATE_LIMIT_QUEUE_POLL="$_bench_no_limit" TACOS_RATE_LIMIT_WRITES="$_bench_no_limit" \
    TACOS_RATE_LIMIT_AUTH_PER_IP="$_bench_no_limit" \
    "${internal[@]}" \
    "$TACOS_BIN" serve "${args[@]}" >"$dir/tacos.log" 2>&1 </dev/null &
  BENCH_TACOS_PID=$!
  _bench_pids+=("$BENCH_TACOS_PID")

  deadline=$((EPOCHSECONDS + 30))
  while ((EPOCHSECONDS < deadline)); do
    kill -0 "$BENCH_TACOS_PID" 2>/dev/null || bench_die "tacos exited during start-up (log below)"
    if [[ -s $dir/port ]]; then
      port=$(tr -d ' \r\n' <"$dir/port")
      if [[ $port =~ ^[0-9]+$ ]] && _bench_tcp_open "$port"; then
        BENCH_TACOS_PORT=$port
        BENCH_TACOS_INTERNAL_PORT=$(tr -d ' \r\n' <"$dir/internal-port" 2>/dev/null || true)
        bench_log "tacos listening on 127.0.0.1:$port (pid $BENCH_TACOS_PID, threads $TACOS_THREADS${args[*]:+, ${args[*]}})"
        return 0
      fi
    fi
    sleep 0.1
  done
  bench_die "tacos did not write a listening port to $dir/port within 30 s"
}

# The CPU time (user + system) a process has used so far, in clock ticks (getconf CLK_TCK).
bench_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Microseconds of CPU per unit of work: bench_cpu_us_per TICKS COUNT.
bench_cpu_us_per() {
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }'
}

# The whole machine's CPU time so far, in clock ticks from /proc/stat: "busy idle steal". Busy is
# user, nice, system, irq and softirq; idle includes iowait; steal is time the hypervisor did not
# give this VM's CPUs (other guests, and the host's own work for this VM's disk).
bench_machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6, $9; exit }' /proc/stat; }

# Writes bench_machine_ticks to FILE once process PID has used 50 ms of CPU since the call: the
# start of the load, after wrk has run its script's set-up (which can take seconds). Run it in the
# background next to bench_wrk.
bench_machine_ticks_once_busy() {
  local pid=$1 file=$2 t0 busy
  t0=$(bench_cpu_ticks "$pid")
  busy=$(($(getconf CLK_TCK) / 20))
  while (($(bench_cpu_ticks "$pid") - t0 < busy)); do sleep 0.05; done
  bench_machine_ticks >"$file"
}

# Shares of all CPUs between two bench_machine_ticks samples: sets BENCH_STEAL_PCT and
# BENCH_IDLE_PCT (percent, one decimal).
bench_machine_share() {
  local b0 i0 s0 b1 i1 s1
  read -r b0 i0 s0 <<<"$1"
  read -r b1 i1 s1 <<<"$2"
  read -r BENCH_STEAL_PCT BENCH_IDLE_PCT < <(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) -v s=$((s1 - s0)) \
    'BEGIN { t = b + i + s; if (t <= 0) t = 1; printf "%.1f %.1f\n", 100 * s / t, 100 * i / t }')
}

# Joins the demo event's waiting room at BASE as anonymous client CLIENT: sets BENCH_WAITING_TOKEN.
bench_join_queue() {
  local base=$1 client=$2
  BENCH_WAITING_TOKEN=$(curl -fsS -X POST "$base/api/v1/queue/join" -H 'Content-Type: application/json' \
    -H "X-Client-ID: $client" -H "Idempotency-Key: join-$client-$RANDOM$RANDOM" -d '{"event_id":"evt_2025_1001"}' |
    sed -n 's/.*"waiting_token":"\([^"]*\)".*/\1/p')
  [[ -n $BENCH_WAITING_TOKEN ]] || bench_die "could not join the queue at $base"
}

# GET url into file, expecting 200 (retried for 10 s, in case seeding ends after listening).
# Sets BENCH_BODY_BYTES.
bench_fetch() {
  local url=$1 out=$2 code deadline
  deadline=$((EPOCHSECONDS + 10))
  while :; do
    code=$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' "$url") || bench_die "GET $url failed"
    [[ $code != 200 ]] || break
    ((EPOCHSECONDS < deadline)) ||
      bench_die "GET $url answered HTTP $code, expected 200: $(head -c 300 "$out")"
    sleep 0.2
  done
  BENCH_BODY_BYTES=$(stat -c %s "$out")
}

# Starts nginx serving a static file of N bytes for every path (so wrk can send the same request
# line to both servers). Sets BENCH_NGINX_PID and BENCH_NGINX_PORT.
bench_start_nginx() {
  local bytes=$1 dir=$BENCH_TMP/nginx attempt deadline
  [[ $bytes =~ ^[0-9]+$ ]] || bench_die "bench_start_nginx: bad size '$bytes'"
  mkdir -p "$dir/www" "$dir/tmp"
  chmod 755 "$dir" "$dir/www"
  head -c "$bytes" /dev/zero | tr '\0' 'x' >"$dir/www/body.json"
  chmod 644 "$dir/www/body.json"

  for attempt in 1 2 3; do
    BENCH_NGINX_PORT=$(bench_free_port) || bench_die "no free loopback port"
    _bench_nginx_conf "$dir" "$BENCH_NGINX_PORT" >"$dir/nginx.conf"
    : >"$dir/error.log"
    rm -f "$dir/nginx.pid"
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >"$dir/stderr.log" 2>&1 &
    BENCH_NGINX_PID=$!
    _bench_pids+=("$BENCH_NGINX_PID")
    deadline=$((EPOCHSECONDS + 10))
    while ((EPOCHSECONDS < deadline)); do
      kill -0 "$BENCH_NGINX_PID" 2>/dev/null || break
      # nginx writes its pid file only after every bind succeeded; without that check, a
      # foreign listener on the same port would pass the TCP probe.
      if [[ -s $dir/nginx.pid && $(<"$dir/nginx.pid") == "$BENCH_NGINX_PID" ]] &&
        _bench_tcp_open "$BENCH_NGINX_PORT"; then
        bench_log "nginx listening on 127.0.0.1:$BENCH_NGINX_PORT (pid $BENCH_NGINX_PID," \
          "worker_processes $TACOS_THREADS, $bytes B file)"
        return 0
      fi
      sleep 0.1
    done
    _bench_stop "$BENCH_NGINX_PID"
    # A port taken between the check and bind is worth another try; anything else is not.
    cat "$dir/error.log" "$dir/stderr.log" | grep -q 'Address already in use' || break
    bench_log "nginx port $BENCH_NGINX_PORT taken, retrying ($attempt)"
  done
  bench_die "nginx did not start (log below)"
}

_bench_nginx_conf() {
  local dir=$1 port=$2
  cat <<EOF
# Generated by bench/lib.sh. Baseline: the cheapest possible answer of the same size.
daemon off;
# As many workers as the server has I/O threads (TACOS_THREADS, default 1): each side gets the
# same number of cores, and on a 2-core machine the other core is left to wrk (-t1). Giving
# nginx every core would measure core counts, not code.
worker_processes $TACOS_THREADS;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
  worker_connections 4096;
}

http {
  access_log off;
  server_tokens off;
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nodelay on;
  # nginx closes a keep-alive connection after 1000 requests by default; tacos does not, and
  # reconnects would handicap the baseline.
  keepalive_requests 10000000;
  keepalive_timeout 75s;

  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    location / {
      try_files /body.json =404;
    }
    # A POST (tracing_on_vs_off.sh's stand-in OTLP collector) gets the same answer as a GET.
    error_page 405 =200 /body.json;
  }
}
EOF
}

# Runs wrk against url (warm-up first, unmeasured) and records the results under label.
bench_wrk() {
  local label=$1 url=$2 script=${3:-} out limit pid
  local -a extra=()
  [[ -z $script ]] || extra=(-s "$script")
  [[ -z ${BENCH_WRK_HEADER:-} ]] || extra+=(-H "$BENCH_WRK_HEADER")
  out=$BENCH_TMP/wrk-$label.txt
  limit=$(($(_bench_seconds "$BENCH_DURATION") + 30))
  if [[ $BENCH_WARMUP != 0 ]]; then
    timeout -k 5 "$limit" wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_WARMUP" \
      "${extra[@]}" "$url" >/dev/null 2>&1 </dev/null &
    pid=$!
    _bench_pids+=("$pid")
    wait "$pid" || true
  fi
  bench_log "wrk -t$BENCH_WRK_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION --latency $url"
  # In the background, so that an INT/TERM trap runs at once instead of after the run.
  timeout -k 5 "$limit" wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_CONNECTIONS" \
    -d"$BENCH_DURATION" --latency "${extra[@]}" "$url" >"$out" 2>&1 </dev/null &
  pid=$!
  _bench_pids+=("$pid")
  if ! wait "$pid"; then
    cat "$out" >&2
    bench_die "wrk against $label failed"
  fi
  BENCH_TARGETS+=("$label")
  BENCH_RPS[$label]=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
  BENCH_REQUESTS[$label]=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
  BENCH_NON2XX[$label]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  BENCH_SOCKET_ERRORS[$label]=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  # "99%  1.03ms" -> milliseconds; wrk prints us, ms, s, m or h.
  BENCH_P99_MS[$label]=$(awk '$1 == "99%" {
      v = $2; n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      if (u == "us") n /= 1000; else if (u == "s") n *= 1000
      else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
      printf "%.3f\n", n }' "$out")
  [[ -n ${BENCH_RPS[$label]} && -n ${BENCH_P99_MS[$label]} ]] || {
    cat "$out" >&2
    bench_die "could not parse wrk output for $label"
  }
  : "${BENCH_NON2XX[$label]:=0}" "${BENCH_SOCKET_ERRORS[$label]:=0}" "${BENCH_REQUESTS[$label]:=0}"
}

_bench_json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# Prints the table for every target run so far and the candidate/baseline ratios, and writes
# them to $BENCH_RESULTS_DIR/<name>.json and <name>.txt. Exits non-zero when a target answered
# errors: its req/s would then measure error handling, not the endpoint.
bench_report() {
  local name=$1 baseline=$2 candidate=$3 path=$4 label table json valid=true
  local rps_ratio p99_ratio commit
  rps_ratio=$(awk -v a="${BENCH_RPS[$candidate]}" -v b="${BENCH_RPS[$baseline]}" \
    'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')
  p99_ratio=$(awk -v a="${BENCH_P99_MS[$candidate]}" -v b="${BENCH_P99_MS[$baseline]}" \
    'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')
  commit=$(git -C "$BENCH_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

  table=$(
    printf '%s: GET %s, %s B body, wrk -t%s -c%s -d%s, server threads %s\n' "$name" "$path" \
      "$BENCH_BODY_BYTES" "$BENCH_WRK_THREADS" "$BENCH_CONNECTIONS" "$BENCH_DURATION" "$TACOS_THREADS"
    printf '  %-10s %12s %10s %9s %9s\n' target req/s "p99 ms" non-2xx sock-err
    for label in "${BENCH_TARGETS[@]}"; do
      printf '  %-10s %12s %10s %9s %9s\n' "$label" "${BENCH_RPS[$label]}" \
        "${BENCH_P99_MS[$label]}" "${BENCH_NON2XX[$label]}" "${BENCH_SOCKET_ERRORS[$label]}"
    done
    printf '  ratio %s/%s: req/s %s, p99 %s\n' "$candidate" "$baseline" "$rps_ratio" "$p99_ratio"
  )
  for label in "${BENCH_TARGETS[@]}"; do
    if [[ ${BENCH_NON2XX[$label]} != 0 || ${BENCH_SOCKET_ERRORS[$label]} != 0 ]]; then
      valid=false
      table+=$'\n'"  INVALID: $label answered ${BENCH_NON2XX[$label]} non-2xx responses and"
      table+=" ${BENCH_SOCKET_ERRORS[$label]} socket errors (rate limit? see README)"
    fi
  done

  json="{"$'\n'
  json+="  \"name\": $(_bench_json_str "$name"),"$'\n'
  json+="  \"method\": \"GET\","$'\n'
  json+="  \"path\": $(_bench_json_str "$path"),"$'\n'
  json+="  \"timestamp\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","$'\n'
  json+="  \"git_commit\": $(_bench_json_str "$commit"),"$'\n'
  json+="  \"cpus\": $(nproc),"$'\n'
  json+="  \"duration\": $(_bench_json_str "$BENCH_DURATION"),"$'\n'
  json+="  \"wrk_threads\": $BENCH_WRK_THREADS,"$'\n'
  json+="  \"connections\": $BENCH_CONNECTIONS,"$'\n'
  json+="  \"server_threads\": $TACOS_THREADS,"$'\n'
  json+="  \"body_bytes\": $BENCH_BODY_BYTES,"$'\n'
  json+="  \"results\": {"$'\n'
  local sep=""
  for label in "${BENCH_TARGETS[@]}"; do
    json+="$sep    $(_bench_json_str "$label"): {\"requests_per_sec\": ${BENCH_RPS[$label]},"
    json+=" \"p99_ms\": ${BENCH_P99_MS[$label]}, \"requests\": ${BENCH_REQUESTS[$label]},"
    json+=" \"non_2xx\": ${BENCH_NON2XX[$label]}, \"socket_errors\": ${BENCH_SOCKET_ERRORS[$label]}}"
    sep=$',\n'
  done
  json+=$'\n'"  },"$'\n'
  json+="  \"ratio\": {\"of\": $(_bench_json_str "$candidate/$baseline"),"
  json+=" \"requests_per_sec\": $rps_ratio, \"p99\": $p99_ratio},"$'\n'
  json+="  \"valid\": $valid"$'\n'"}"

  mkdir -p "$BENCH_RESULTS_DIR"
  printf '%s\n' "$json" >"$BENCH_RESULTS_DIR/$name.json"
  printf '%s\n' "$table" >"$BENCH_RESULTS_DIR/$name.txt"
  printf '%s\n' "$table"
  bench_log "wrote $BENCH_RESULTS_DIR/$name.json"
  [[ $valid == true ]] || exit 3
}
