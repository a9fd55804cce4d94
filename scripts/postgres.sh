#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on a unix socket and a loopback port.
#   postgres.sh install   install the server from Debian packages when it is missing
#   postgres.sh start     start a cluster; prints its SQLAlchemy URL
#   postgres.sh stop      stop it and delete its files
set -euo pipefail
STATE=${FULFILLBRIDGE_PG_STATE:-/tmp/fulfillbridge-pg}
PORT=${FULFILLBRIDGE_PG_PORT:-55432}

bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]; then echo "$dir"; return 0; fi
  done
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  install)
    if ! bindir >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq postgresql >/dev/null
    fi
    bindir >/dev/null
    ;;
  start)
    bin=$(bindir) || exit 1
    bash "$0" stop >/dev/null 2>&1 || true
    mkdir -p "$STATE"
    if [ "$(id -u)" = 0 ]; then chown postgres "$STATE"; fi
    as_owner "$bin/initdb" -D "$STATE/data" -U postgres -A trust --no-sync >/dev/null
    as_owner "$bin/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w -o \
      "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres fulfillbridge_test
    echo "postgresql://postgres@127.0.0.1:$PORT/fulfillbridge_test"
    ;;
  stop)
    bin=$(bindir) || exit 0
    if [ -d "$STATE/data" ]; then
      as_owner "$bin/pg_ctl" -D "$STATE/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE"
    ;;
  *)
    echo "usage: postgres.sh install|start|stop" >&2
    exit 2
    ;;
esac
