#!/usr/bin/env bash
# Traffic Tacos as a cluster on one machine: a PostgreSQL server, a Redis server (the waiting
# rooms, the gateways' rate limits and idempotency records), every role in processes of its own
# (replicated), and HAProxy in front of each role's replicas as a Kubernetes Service would be.
#
#   scripts/cluster.sh run DIR    up, then wait; Ctrl-C stops everything (make cluster)
#   scripts/cluster.sh up DIR     start everything, return once the public port serves
#   scripts/cluster.sh down DIR   stop what `up` started (processes, HAProxy, PostgreSQL, Redis)
#
# DIR holds the generated secrets, HAProxy's configuration, one log per process (DIR/logs) and
# the pid and port files (DIR/run), and PostgreSQL's data (DIR/postgres, loopback only, a free
# port), deleted by `down`: every `up` starts from an empty, migrated database. Redis (DIR/redis:
# its port and password) keeps nothing on disk.
#
# Environment:
#   TACOS_BIN           the binary (default build/release/src/app/tacos)
#   CLUSTER_CONFIG      the config file every process reads (default config/dev.ini)
#   CLUSTER_PORT        the public port, HAProxy in front of the gateways (default 8080)
#   CLUSTER_BASE_PORT   the other ports are above it (default 18100): HAProxy's port for each
#                       role's replicas, which the other roles call, at +1 (inventory) to +5
#                       (worker), each replica's public port at +20.., its internal one at +100..
#   <ROLE>_REPLICAS     processes per role (GATEWAY, INVENTORY, QUEUE, RESERVATION, PAYMENT, WORKER:
#                       2 each, at most 9). The queue replicas share the waiting rooms in Redis.
#   TACOS_*             any other setting, passed to every process
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || {
  echo "usage: $0 run|up|down DIR" >&2
  exit 2
}
[[ $cmd == down && ! -d $dir ]] && exit 0
mkdir -p "$dir"
dir=$(cd "$dir" && pwd) # absolute: HAProxy and every process get paths under it
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TACOS_BIN:-$root/build/release/src/app/tacos}
unset TACOS_BIN # not a setting: tacos refuses unknown TACOS_* variables
config=${CLUSTER_CONFIG:-$root/config/dev.ini}
public_port=${CLUSTER_PORT:-8080}
base=${CLUSTER_BASE_PORT:-18100}
roles=(inventory queue reservation payment worker gateway) # start order: a role's callees first
declare -A role_port=(
  [inventory]=$((base + 1)) [queue]=$((base + 2)) [reservation]=$((base + 3)) [payment]=$((base + 4))
  [worker]=$((base + 5))
)
declare -A role_index=([inventory]=0 [queue]=1 [reservation]=2 [payment]=3 [worker]=4 [gateway]=5)
public_port_of() { echo $((base + 20 + ${role_index[$1]} * 10 + $2)); }
internal_port_of() { echo $((base + 100 + ${role_index[$1]} * 10 + $2)); }
declare -A replicas=(
  [gateway]=${GATEWAY_REPLICAS:-2} [inventory]=${INVENTORY_REPLICAS:-2} [queue]=${QUEUE_REPLICAS:-2}
  [reservation]=${RESERVATION_REPLICAS:-2} [payment]=${PAYMENT_REPLICAS:-2} [worker]=${WORKER_REPLICAS:-2}
)

log() { echo "cluster: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# One GET over bash's /dev/tcp; true on a 200.
http_ok() {
  local port=$1 path=$2 line
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1 # (a bare exec 2>... would keep it)
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
  IFS= read -r -t 2 line <&3 || line=""
  exec 3>&-
  [[ $line == *" 200 "* ]]
}

wait_for() { # seconds, description, command...
  local tries=$(($1 * 10)) what=$2 i
  shift 2
  for ((i = 0; i < tries; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  die "timed out waiting for $what"
}

secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# The settings every process shares: the store and the secrets that must be the same everywhere.
write_env() {
  local conninfo
  conninfo=$(cat "$dir/pg/conninfo")
  {
    echo "TACOS_STORE_BACKEND=postgres"
    echo "TACOS_STORE_POSTGRES_URL=${conninfo/dbname=postgres/dbname=tacos}"
    echo "TACOS_STORE_POSTGRES_PASSWORD_FILE=$dir/pg/password"
    echo "TACOS_KV_BACKEND=redis"
    echo "TACOS_KV_REDIS_PORT=$(cat "$dir/redis/port")"
    echo "TACOS_KV_REDIS_PASSWORD_FILE=$dir/redis/password"
    echo "TACOS_INTERNAL_SERVICE_SECRET=$(secret)"
    echo "TACOS_AUTH_JWT_SECRET=$(secret)"
    echo "TACOS_PAYMENT_WEBHOOK_SECRET=$(secret)"
    echo "TACOS_QUEUE_TOKEN_KEYS=k1:$(secret)"
    for role in "${!role_port[@]}"; do
      echo "TACOS_ROLES_${role^^}_URL=http://127.0.0.1:${role_port[$role]}"
    done
  } >"$dir/cluster.env"
  chmod 600 "$dir/cluster.env"
  mapfile -t shared_env <"$dir/cluster.env" # one KEY=VALUE per line; values may hold spaces
}

create_database() {
  local conninfo password
  conninfo=$(cat "$dir/pg/conninfo")
  password=$(cat "$dir/pg/password")
  PGPASSWORD=$password psql -q -X -v ON_ERROR_STOP=1 "$conninfo" -c "CREATE DATABASE tacos" >/dev/null
  env "${shared_env[@]}" "$bin" migrate --config "$config" >"$dir/logs/migrate.log" 2>&1 ||
    die "tacos migrate failed: $(tail -5 "$dir/logs/migrate.log")"
}

# HAProxy: the public port balances the gateways (checked with GET /healthz); each role's port
# balances its replicas' internal listeners (checked by connecting). A replica that stops
# answering is out within a second; a refused connection is retried on another replica.
write_haproxy() {
  local cfg=$dir/haproxy.cfg role i body
  # When no replica can take a request: the platform's error envelope, and when to try again.
  body='{"error":{"code":"UNAVAILABLE","message":"no server can take this request now; try again","trace_id":""}}'
  printf 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nCache-Control: no-store\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#body}" "$body" >"$dir/503.http"
  {
    cat <<EOF
global
  maxconn 8000 # two descriptors each: fits a ulimit -n of 20000
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout check 2s
  retries 2
  option redispatch 1
  errorfile 503 $dir/503.http
  # A replica is out after two failed checks (1 s apart, 250 ms while it changes state; a check
  # under load may be slow, so not one), or at once after two connections to it fail.
  default-server check inter 1s fastinter 250ms fall 2 rise 2 observe layer4 error-limit 2 on-error mark-down
frontend public
  bind 127.0.0.1:$public_port
  default_backend gateway
backend gateway
  option httpchk GET /healthz
EOF
    for ((i = 1; i <= replicas[gateway]; i++)); do
      echo "  server gateway-$i 127.0.0.1:$(public_port_of gateway "$i")"
    done
    for role in "${!role_port[@]}"; do
      echo "frontend $role"
      echo "  bind 127.0.0.1:${role_port[$role]}"
      echo "  default_backend $role"
      echo "backend $role"
      for ((i = 1; i <= replicas[$role]; i++)); do
        echo "  server $role-$i 127.0.0.1:$(internal_port_of "$role" "$i")"
      done
    done
  } >"$cfg"
}

start_role() { # role, replica number
  local role=$1 n=$2 name="$1-$2"
  rm -f "$dir/run/$name.port"
  env "${shared_env[@]}" TACOS_HTTP_PORT="$(public_port_of "$role" "$n")" \
    TACOS_HTTP_PORT_FILE="$dir/run/$name.port" TACOS_INTERNAL_PORT="$(internal_port_of "$role" "$n")" \
    TACOS_STORE_DATA_DIR="$dir/data/$name" \
    "$bin" serve --config "$config" --roles "$role" >>"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/run/$name.pid"
  wait_for 30 "$name (see $dir/logs/$name.log)" test -s "$dir/run/$name.port"
}

up() {
  [[ -x "$bin" ]] || die "no binary at $bin (make build)"
  command -v haproxy >/dev/null || die "haproxy is not installed (scripts/bootstrap.sh)"
  if [[ -e "$dir/run/haproxy.pid" ]] && kill -0 "$(cat "$dir/run/haproxy.pid")" 2>/dev/null; then
    die "$dir: a cluster already runs there (scripts/cluster.sh down $dir)"
  fi
  rm -rf "$dir/run" # left by a cluster that was not stopped with down
  mkdir -p "$dir/logs" "$dir/run" "$dir/data"
  TACOS_PG_DATA_ROOT="$dir/postgres" "$root/scripts/test-postgres.sh" start "$dir/pg" >/dev/null
  "$root/scripts/test-redis.sh" start "$dir/redis" >/dev/null
  write_env
  create_database
  write_haproxy
  haproxy -c -q -f "$dir/haproxy.cfg" || die "bad HAProxy configuration $dir/haproxy.cfg"
  haproxy -D -f "$dir/haproxy.cfg" -p "$dir/run/haproxy.pid"
  local role i
  for role in "${roles[@]}"; do
    for ((i = 1; i <= replicas[$role]; i++)); do start_role "$role" "$i"; done
  done
  wait_for 30 "the public port $public_port" http_ok "$public_port" /api/v1/events
  log "serving on http://127.0.0.1:$public_port (logs in $dir/logs)"
}

down() {
  local f pid i
  for f in "$dir"/run/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$dir"/run/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    for ((i = 0; i < 150 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  if [[ -e "$dir/pg/datadir" ]]; then "$root/scripts/test-postgres.sh" stop "$dir/pg" >/dev/null || true; fi
  if [[ -e "$dir/redis/datadir" ]]; then "$root/scripts/test-redis.sh" stop "$dir/redis" >/dev/null || true; fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  run)
    trap 'down; exit 0' INT TERM
    if ! up; then
      down
      exit 1
    fi
    log "Ctrl-C stops the cluster"
    while sleep 1; do :; done
    ;;
  *)
    echo "usage: $0 run|up|down DIR" >&2
    exit 2
    ;;
esac
