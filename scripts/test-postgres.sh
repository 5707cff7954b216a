#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and `make cluster`: loopback only, a free port, a
# temporary data directory, fsync on, password authentication over TCP.
#
#   scripts/test-postgres.sh start STATE_DIR    start one; writes STATE_DIR/conninfo (libpq
#                                               string without the password), STATE_DIR/password,
#                                               STATE_DIR/port and STATE_DIR/datadir
#   scripts/test-postgres.sh stop STATE_DIR     stop it (immediate) and delete its data directory
#   scripts/test-postgres.sh restart STATE_DIR  pg_ctl restart -m immediate (fault tests)
#
# The data directory is a new temporary one, or TACOS_PG_DATA_ROOT when set (make cluster keeps it
# under var/); either way `stop` deletes it.
#
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user that
# Debian's package creates. The superuser is `tacos`; its password is random per server.
set -euo pipefail

cmd=${1:-}
state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || {
  echo "usage: $0 start|stop|restart STATE_DIR" >&2
  exit 2
}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bindir/pg_ctl" ]] || {
  echo "test-postgres: PostgreSQL server binaries not found (Debian package postgresql-15; run scripts/bootstrap.sh)" >&2
  exit 1
}

as_server_user=()
server_user=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  server_user=postgres
  as_server_user=(runuser -u postgres --)
fi

pg_ctl() { "${as_server_user[@]}" "$bindir/pg_ctl" "$@"; }

case "$cmd" in
  start)
    mkdir -p "$state"
    parent=$(dirname "${TACOS_PG_DATA_ROOT:-/}")
    if [[ -n ${TACOS_PG_DATA_ROOT:-} ]] && mkdir -p "$parent" && "${as_server_user[@]}" test -x "$parent"; then
      rm -rf "$TACOS_PG_DATA_ROOT"
      mkdir -p "$TACOS_PG_DATA_ROOT"
      data_root=$(cd "$TACOS_PG_DATA_ROOT" && pwd)
    else # none asked for, or the server's user cannot reach it (a private temporary directory)
      data_root=$(mktemp -d /tmp/tacos-postgres.XXXXXX)
    fi
    chmod 700 "$data_root"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$data_root"
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$password" >"$data_root/pwfile"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$data_root/pwfile"
    "${as_server_user[@]}" "$bindir/initdb" -D "$data_root/data" -U tacos --pwfile="$data_root/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >"$data_root/initdb.log" 2>&1 || {
      cat "$data_root/initdb.log" >&2
      exit 1
    }
    rm -f "$data_root/pwfile"
    mkdir -p "$data_root/socket"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$data_root/socket"
    started=""
    for _ in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 40000))
      if pg_ctl -D "$data_root/data" -l "$data_root/server.log" -w -t 60 -o \
        "-p $port -c listen_addresses=127.0.0.1 -k $data_root/socket -c fsync=on -c max_connections=200" \
        start >/dev/null 2>&1; then
        started=$port
        break
      fi
    done
    [[ -n "$started" ]] || {
      echo "test-postgres: the server did not start; its log:" >&2
      cat "$data_root/server.log" >&2 || true
      exit 1
    }
    printf 'host=127.0.0.1 port=%s user=tacos dbname=postgres\n' "$started" >"$state/conninfo"
    printf '%s\n' "$password" >"$state/password"
    chmod 600 "$state/password"
    printf '%s\n' "$started" >"$state/port"
    printf '%s\n' "$data_root" >"$state/datadir"
    echo "test-postgres: PostgreSQL on 127.0.0.1:$started (user $server_user, data $data_root/data)"
    ;;
  stop)
    [[ -f "$state/datadir" ]] || exit 0
    data_root=$(cat "$state/datadir")
    pg_ctl -D "$data_root/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$data_root"
    rm -f "$state/datadir" "$state/conninfo" "$state/password" "$state/port"
    ;;
  restart)
    data_root=$(cat "$state/datadir")
    port=$(cat "$state/port")
    pg_ctl -D "$data_root/data" -l "$data_root/server.log" -m immediate -w -t 60 -o \
      "-p $port -c listen_addresses=127.0.0.1 -k $data_root/socket -c fsync=on -c max_connections=200" \
      restart >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|restart STATE_DIR" >&2
    exit 2
    ;;
esac
