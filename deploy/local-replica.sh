#!/usr/bin/env bash
# A real PostgreSQL streaming replica of the local primary, for the multi-region setup and
# the read-your-writes tests.
#
#   deploy/local-replica.sh start    # pg_basebackup -R from 127.0.0.1:5432, serve on :5433
#   deploy/local-replica.sh stop
#   deploy/local-replica.sh status
#
# Settings (environment): PRIMARY_PORT (5432), REPLICA_PORT (5433),
# REPLICA_DIR (/var/tmp/course-platform/replica). Needs the primary to accept replication
# connections from 127.0.0.1 (the script adds a trust line to pg_hba.conf when it can).
set -euo pipefail

PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICA_PORT="${REPLICA_PORT:-5433}"
REPLICA_DIR="${REPLICA_DIR:-/var/tmp/course-platform/replica}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

primary_sql() { psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -Atqc "$1"; }

allow_replication() {
  local hba
  hba="$(primary_sql 'show hba_file')"
  if ! grep -Eq '^host\s+replication\s+all\s+127\.0\.0\.1/32' "$hba" 2>/dev/null; then
    if [ -w "$hba" ]; then
      echo "adding a replication trust line for 127.0.0.1 to $hba"
      echo "host replication all 127.0.0.1/32 trust" >> "$hba"
      primary_sql 'select pg_reload_conf()' > /dev/null
    else
      echo "note: $hba has no replication line for 127.0.0.1 and is not writable" >&2
    fi
  fi
}

running() { as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" status > /dev/null 2>&1; }

start() {
  # One start at a time (tests and scripts may race to start it).
  mkdir -p "$(dirname "$REPLICA_DIR")"
  exec 9> "$(dirname "$REPLICA_DIR")/replica.lock"
  flock 9
  if running; then echo "replica already running on :$REPLICA_PORT"; return; fi
  # Always a fresh copy: a stopped replica's data may need WAL the primary has since
  # recycled (no replication slot keeps it), and then it would never catch up.
  allow_replication
  rm -rf "$REPLICA_DIR"
  install -d -o postgres -g postgres -m 700 "$REPLICA_DIR" 2>/dev/null || mkdir -p -m 700 "$REPLICA_DIR"
  as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$REPLICA_DIR" -R -X stream --checkpoint=fast
  # Debian keeps postgresql.conf outside the data dir; the copy gets a minimal one.
  [ -f "$REPLICA_DIR/postgresql.conf" ] || as_postgres touch "$REPLICA_DIR/postgresql.conf"
  # 9>&-: the server must not inherit (and hold forever) the start lock.
  as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w \
    -o "-p $REPLICA_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c hot_standby=on -c hba_file=$(primary_sql 'show hba_file')" start 9>&-
  echo "replica streaming from :$PRIMARY_PORT, serving postgres://postgres@127.0.0.1:$REPLICA_PORT"
}

stop() {
  if running; then as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -m fast -w stop; fi
}

status() {
  if running; then
    psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -Atc \
      "select 'in recovery: ' || pg_is_in_recovery() || ', replayed: ' || pg_last_wal_replay_lsn()"
  else
    echo "replica not running"; return 1
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
