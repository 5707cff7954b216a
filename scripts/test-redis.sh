#!/usr/bin/env bash
# A throwaway Redis server for tests and `make cluster`: loopback only, a free port, a temporary
# directory, a random password, no persistence (a restart loses everything, as a failover to an
# empty replica would).
#
#   scripts/test-redis.sh start STATE_DIR    start one; writes STATE_DIR/port, STATE_DIR/password,
#                                            STATE_DIR/datadir, and STATE_DIR/tls_port and
#                                            STATE_DIR/tls_ca (the same server over TLS, and the
#                                            certificate to trust)
#   scripts/test-redis.sh stop STATE_DIR     stop it and delete its directory
#   scripts/test-redis.sh restart STATE_DIR  kill it and start it again on the same port, empty
#                                            (fault tests)
set -euo pipefail

cmd=${1:-}
state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || {
  echo "usage: $0 start|stop|restart STATE_DIR" >&2
  exit 2
}
command -v redis-server >/dev/null || {
  echo "test-redis: redis-server not found (Debian package redis-server; run scripts/bootstrap.sh)" >&2
  exit 1
}

# Starts the server of $dir on $1 (and TLS on $2, with $dir/tls.crt) with $password; returns
# non-zero if it does not answer PING.
launch() {
  local port=$1 tls_port=$2
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --requirepass "$password" \
    --tls-port "$tls_port" --tls-cert-file "$dir/tls.crt" --tls-key-file "$dir/tls.key" \
    --tls-ca-cert-file "$dir/tls.crt" --tls-auth-clients no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --save '' --appendonly no --protected-mode yes >/dev/null 2>&1 || return 1
  for _ in $(seq 1 100); do
    if REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

kill_server() {
  local pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  [[ -n "$pid" ]] || return 0
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    # Gone, or a zombie nobody reaps (the daemonized server's parent is PID 1, which in a
    # container may not reap): either way its port is free.
    local stat
    stat=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    [[ -n "$stat" && $stat != Z* ]] || break
    sleep 0.05
  done
  rm -f "$dir/redis.pid"
}

case "$cmd" in
  start)
    mkdir -p "$state"
    dir=$(mktemp -d /tmp/tacos-redis.XXXXXX)
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    # A self-signed certificate for localhost and 127.0.0.1: it is also its clients' CA.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$dir/tls.key" -out "$dir/tls.crt" >/dev/null 2>&1 || {
      echo "test-redis: openssl could not make a certificate" >&2
      exit 1
    }
    started=""
    for _ in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 40000))
      tls_port=$((port + 1))
      if launch "$port" "$tls_port"; then
        started=$port
        break
      fi
      kill_server
    done
    [[ -n "$started" ]] || {
      echo "test-redis: the server did not start; its log:" >&2
      cat "$dir/redis.log" >&2 || true
      exit 1
    }
    printf '%s\n' "$started" >"$state/port"
    printf '%s\n' "$tls_port" >"$state/tls_port"
    printf '%s\n' "$dir/tls.crt" >"$state/tls_ca"
    printf '%s\n' "$password" >"$state/password"
    printf '%s\n' "$dir" >"$state/datadir"
    ;;
  stop)
    [[ -f "$state/datadir" ]] || exit 0
    dir=$(cat "$state/datadir")
    kill_server
    rm -rf "$dir"
    rm -f "$state/port" "$state/tls_port" "$state/tls_ca" "$state/password" "$state/datadir"
    ;;
  restart)
    dir=$(cat "$state/datadir")
    password=$(cat "$state/password")
    port=$(cat "$state/port")
    kill_server
    launch "$port" "$(cat "$state/tls_port")" || {
      echo "test-redis: the server did not start again on port $port; its log:" >&2
      tail -20 "$dir/redis.log" >&2 || true
      exit 1
    }
    ;;
  *)
    echo "usage: $0 start|stop|restart STATE_DIR" >&2
    exit 2
    ;;
esac
