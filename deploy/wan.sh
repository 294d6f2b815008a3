#!/usr/bin/env bash
# The three regions at real distances: every network link (client→region, region→region,
# region→PostgreSQL primary, region→replica, region→shared Redis, region→its own Redis) goes
# through the `wan` latency/fault proxy (tools/wan), which carries half the link's round trip
# each way.
# Round trips and the port layout: tools/wan/src/topology.rs and plan.rs; README "WAN simulation".
#
#   deploy/wan.sh up [geo|single]   # build, database, replica, Redis, proxy, regions
#                                   # (geo: three regions; single: us-east alone)
#   deploy/wan.sh down              # stop everything, drop the database, remove the state dir
#   deploy/wan.sh status
#   deploy/wan.sh stop-region <region>       # SIGKILL the region's host (chaos)
#   deploy/wan.sh start-region <region>
#   deploy/wan.sh fault <region|link end> <none|partition|reset>   # every link touching it
#   deploy/wan.sh redis-stop | redis-start   # the WAN's shared Redis (never the machine's :6379)
#
# Uses its own database (WAN_DATABASE, default course_platform_wan) on the PostgreSQL at
# 127.0.0.1:5432 (scripts/services.sh starts it), its own streaming replica (:5434, via
# deploy/local-replica.sh), its own shared redis-server (:6390) and one (:6391) standing in for
# every region's own Redis, a database per region. WAN_SKIP_BUILD=1 uses the binaries
# already in $CARGO_TARGET_DIR/debug and the wasm already in target/ (scripts/test.sh).
# WAN_REDIS=us-east (default: the shared Redis beside the primary, as deploy/README.md has it)
# or every-region (what if every region had a replicated copy next to it).
# WAN_VARIABLES="name=value ..." sets app variables in every region over the plan's defaults.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE_DIR="${WAN_STATE_DIR:-/var/tmp/course-platform/wan}"
DATABASE="${WAN_DATABASE:-course_platform_wan}"
PORT_BASE="${WAN_PORT_BASE:-3100}"
REPLICA_PORT="${WAN_REPLICA_PORT:-5434}"
REDIS_PORT="${WAN_REDIS_PORT:-6390}"
REGIONAL_REDIS_PORT="${WAN_REGIONAL_REDIS_PORT:-6391}"
PRIMARY_URL="postgres://postgres@127.0.0.1:5432"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"
BIN="$CARGO_TARGET_DIR/debug"
REPLICA_ENV=(REPLICA_PORT="$REPLICA_PORT" REPLICA_DIR="$STATE_DIR/replica")

die() { echo "wan.sh: $*" >&2; exit 1; }

require() {
  local missing=()
  for command in "$@"; do command -v "$command" > /dev/null || missing+=("$command"); done
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (scripts/services.sh installs PostgreSQL and Redis)"
}

# Polls a command until it succeeds, at most $1 seconds.
wait_until() {
  local seconds=$1; shift
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" > /dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }

# Stops the process in a pid file (TERM, then KILL after 10 s) and removes the file.
stop_pid() {
  local file=$1
  if alive "$file"; then
    local pid; pid="$(cat "$file")"
    kill "$pid" 2> /dev/null || true
    wait_until 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2> /dev/null || true
  fi
  rm -f "$file"
}

psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql "$PRIMARY_URL/postgres" -v ON_ERROR_STOP=1 -Atqc "$1"; }

build() {
  if [ "${WAN_SKIP_BUILD:-}" = 1 ]; then return; fi
  require cargo
  (cd "$ROOT" && scripts/build-wasm.sh > /dev/null \
    && cargo build -q -p spin-test-host && cargo build -q -p db && cargo build -q -p wan)
}

check_built() {
  for binary in spin-test-host db wan; do
    [ -x "$BIN/$binary" ] || die "$BIN/$binary is not built (run without WAN_SKIP_BUILD)"
  done
  [ -f "$ROOT/target/wasm32-wasip2/release/geo_router.wasm" ] \
    || die "the components are not built (scripts/build-wasm.sh)"
}

start_redis() { # [name port]: the shared Redis by default
  local name="${1:-redis}" port="${2:-$REDIS_PORT}"
  mkdir -p "$STATE_DIR/$name"
  # No periodic saves; `redis-stop` saves on shutdown so a restart keeps the sessions, as a
  # production Redis with persistence would.
  nohup redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$STATE_DIR/$name" > "$STATE_DIR/$name/log" 2>&1 &
  echo $! > "$STATE_DIR/$name.pid"
  wait_until 10 redis-cli -p "$port" ping || die "Redis did not start; see $STATE_DIR/$name/log"
}

start_region() {
  local region=$1 port dir
  port="$(awk -v r="$region" '$1 == r { print $2 }' "$STATE_DIR/regions.txt")"
  [ -n "$port" ] || die "no region $region in this deployment"
  dir="$STATE_DIR/regions/$region"
  mkdir -p "$dir/state"
  (
    cd "$ROOT"
    # shellcheck disable=SC1091
    . "$dir/env"
    nohup "$BIN/spin-test-host" serve --manifest spin.toml --listen "127.0.0.1:$port" \
      --runtime-config-file "$dir/runtime-config.toml" --state-dir "$dir/state" >> "$dir/log" 2>&1 &
    echo $! > "$dir/pid"
  )
  wait_until 120 curl -fs "http://127.0.0.1:$port/alive" \
    || die "$region did not start; see $dir/log"
  echo "$region: http://127.0.0.1:$port (log: $dir/log)"
}

up() {
  local topology="${1:-geo}"
  case "$topology" in geo|single) ;; *) die "topology must be geo or single" ;; esac
  [ ! -e "$STATE_DIR/proxy.pid" ] || die "already up ($STATE_DIR); run deploy/wan.sh down first"
  require psql pg_isready redis-server redis-cli curl runuser
  ls -d /usr/lib/postgresql/*/bin > /dev/null 2>&1 || die "no PostgreSQL server binaries in /usr/lib/postgresql"
  pg_isready -q -h 127.0.0.1 -p 5432 || die "no PostgreSQL on 127.0.0.1:5432 (scripts/services.sh)"
  build
  check_built
  # Not 700: the replica's data directory inside it belongs to the postgres user.
  mkdir -p "$STATE_DIR"

  local admin_password
  admin_password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  (umask 077 && echo "$admin_password" > "$STATE_DIR/admin-password")
  psql_admin "drop database if exists \"$DATABASE\" with (force)"
  psql_admin "create database \"$DATABASE\""
  DATABASE_URL="$PRIMARY_URL/$DATABASE?sslmode=disable" "$BIN/db" migrate > /dev/null
  DATABASE_URL="$PRIMARY_URL/$DATABASE?sslmode=disable" ADMIN_PASSWORD="$admin_password" \
    "$BIN/db" seed > /dev/null

  env "${REPLICA_ENV[@]}" "$ROOT/deploy/local-replica.sh" start > /dev/null
  start_redis
  start_redis regional-redis "$REGIONAL_REDIS_PORT"

  HOP_SECRET="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" "$BIN/wan" plan \
    --topology "$topology" --state-dir "$STATE_DIR" --port-base "$PORT_BASE" \
    --database "$DATABASE" --replica-port "$REPLICA_PORT" --redis-port "$REDIS_PORT" \
    --regional-redis-port "$REGIONAL_REDIS_PORT" --redis "${WAN_REDIS:-us-east}" $(for v in ${WAN_VARIABLES:-}; do printf -- '--variable %s ' "$v"; done)
  nohup "$BIN/wan" proxy --links "$STATE_DIR/links.json" --control "127.0.0.1:$PORT_BASE" \
    > "$STATE_DIR/proxy.log" 2>&1 &
  echo $! > "$STATE_DIR/proxy.pid"
  wait_until 10 curl -fs "http://127.0.0.1:$PORT_BASE/links" \
    || die "the proxy did not start; see $STATE_DIR/proxy.log"

  while read -r region _; do start_region "$region"; done < "$STATE_DIR/regions.txt"
  echo "$topology deployment up: clients in $STATE_DIR/clients.json, proxy control http://127.0.0.1:$PORT_BASE/links"
}

down() {
  if [ -f "$STATE_DIR/regions.txt" ]; then
    while read -r region _; do stop_pid "$STATE_DIR/regions/$region/pid"; done < "$STATE_DIR/regions.txt"
  fi
  stop_pid "$STATE_DIR/proxy.pid"
  stop_pid "$STATE_DIR/redis.pid"
  stop_pid "$STATE_DIR/regional-redis.pid"
  env "${REPLICA_ENV[@]}" "$ROOT/deploy/local-replica.sh" stop > /dev/null 2>&1 || true
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    psql_admin "drop database if exists \"$DATABASE\" with (force)"
  fi
  rm -rf "$STATE_DIR"
  echo "WAN deployment down; $STATE_DIR removed, database $DATABASE dropped"
}

status() {
  [ -f "$STATE_DIR/regions.txt" ] || { echo "WAN deployment not up"; return 1; }
  while read -r region port; do
    if curl -fs "http://127.0.0.1:$port/alive" > /dev/null; then
      echo "$region: up on :$port (pid $(cat "$STATE_DIR/regions/$region/pid" 2> /dev/null || echo '?'))"
    else
      echo "$region: DOWN"
    fi
  done < "$STATE_DIR/regions.txt"
  alive "$STATE_DIR/redis.pid" && echo "redis: up on :$REDIS_PORT" || echo "redis: DOWN"
  alive "$STATE_DIR/regional-redis.pid" && echo "regional redis: up on :$REGIONAL_REDIS_PORT" \
    || echo "regional redis: DOWN"
  env "${REPLICA_ENV[@]}" "$ROOT/deploy/local-replica.sh" status || true
  curl -fs "http://127.0.0.1:$PORT_BASE/links" \
    | jq -r '.[] | "\(.name): rtt \(.state.rtt_ms) ms ±\(.state.jitter_ms), \(.state.fault)"' \
    || echo "proxy: DOWN"
}

fault() {
  local end=$1 kind=$2
  curl -fs -X PUT "http://127.0.0.1:$PORT_BASE/links?touching=$end" \
    -d "{\"fault\":\"$kind\"}" > /dev/null || die "the proxy refused: fault $end $kind"
  echo "links touching $end: $kind"
}

case "${1:-}" in
  up) up "${2:-geo}" ;;
  down) down ;;
  status) status ;;
  stop-region) kill -9 "$(cat "$STATE_DIR/regions/${2:?region}/pid")"; echo "${2} killed" ;;
  start-region) start_region "${2:?region}" ;;
  fault) fault "${2:?region or link end}" "${3:?none|partition|reset}" ;;
  redis-stop) redis-cli -p "$REDIS_PORT" shutdown save > /dev/null 2>&1 || true
    wait_until 10 sh -c "! redis-cli -p $REDIS_PORT ping" || die "Redis did not stop"
    rm -f "$STATE_DIR/redis.pid"; echo "redis stopped" ;;
  redis-start) start_redis; echo "redis started" ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
