#!/usr/bin/env bash
# Three regions of the app on one machine: us-east :3001 (next to the PostgreSQL primary),
# eu-west :3002, ap-south :3003. Each region has its own key-value stores (router health,
# catalog cache, carts); all share the PostgreSQL primary (:5432), a real
# streaming replica (:5433, deploy/local-replica.sh) and Redis (:6379), which also holds the
# sessions so a sign-in is valid in every region. Each region's own Redis (rate-limit counts,
# catalog refill leases) is a database of its own on that server: /1, /2 and /3.
#
#   deploy/local-regions.sh up      # build, start the replica and the three regions
#   deploy/local-regions.sh down
#
# SPIN_TEST_HOST=<path to a built spin-test-host> skips building (the wasm must be built).
# Runs spin.toml (the geo-router composed in front of every public component) with `spin up`
# when Spin is installed, else with our spin-test-host's `serve` command. Try it:
#   curl -si -H 'x-geo-override: IN' http://127.0.0.1:3001/api/courses | grep -i x-served-by
#   curl -s http://127.0.0.1:3002/health
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE_DIR="${STATE_DIR:-/var/tmp/course-platform/regions}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/course_platform?sslmode=disable}"
REPLICA_DATABASE_URL="${REPLICA_DATABASE_URL:-${DATABASE_URL/:5432/:5433}}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# Where cargo builds (the test host binary). Component sources are always <repo>/target/...,
# relative to spin.toml as Spin reads them: spin.toml's build commands pass --target-dir
# target, and scripts/build-wasm.sh copies its .wasm files there, whatever this says.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"

REGIONS=(us-east eu-west ap-south)
declare -A PORT=([us-east]=3001 [eu-west]=3002 [ap-south]=3003)
declare -A REDIS_DATABASE=([us-east]=1 [eu-west]=2 [ap-south]=3)
TOPOLOGY='[
 {"name":"us-east","origin":"http://127.0.0.1:3001","lat":39.0,"lon":-77.5,"primary":true},
 {"name":"eu-west","origin":"http://127.0.0.1:3002","lat":53.3,"lon":-6.3},
 {"name":"ap-south","origin":"http://127.0.0.1:3003","lat":19.1,"lon":72.9}
]'

runtime_config() { # per region: local stores in files of its own, sessions in shared Redis
  local dir="$STATE_DIR/$1"
  cat <<TOML
[key_value_store.default]
type = "spin"
path = "$dir/router.db"

[key_value_store.catalog-cache]
type = "spin"
path = "$dir/catalog-cache.db"

[key_value_store.carts]
type = "spin"
path = "$dir/carts.db"

[key_value_store.payments_test]
type = "spin"
path = "$dir/payments.db"

[key_value_store.sessions]
type = "redis"
url = "$REDIS_URL"
TOML
}

up() {
  mkdir -p "$STATE_DIR"
  "$ROOT/deploy/local-replica.sh" start
  local host
  if [ -n "${SPIN_TEST_HOST:-}" ]; then
    host="$SPIN_TEST_HOST" # an already built host (e.g. the test build's); wasm already built
  elif command -v spin > /dev/null; then
    host=spin
    (cd "$ROOT" && spin build)
  else
    host="$CARGO_TARGET_DIR/release/spin-test-host"
    (cd "$ROOT" && scripts/build-wasm.sh && cargo build --release -p spin-test-host)
  fi
  local hop_secret
  hop_secret="${HOP_SECRET:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}"
  for region in "${REGIONS[@]}"; do
    local dir="$STATE_DIR/$region" port="${PORT[$region]}"
    mkdir -p "$dir"
    runtime_config "$region" > "$dir/runtime-config.toml"
    (
      cd "$ROOT"
      export SPIN_VARIABLE_REGION="$region" SPIN_VARIABLE_REGIONS="$TOPOLOGY" \
        SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL" \
        SPIN_VARIABLE_REPLICA_DATABASE_URL="$REPLICA_DATABASE_URL" \
        SPIN_VARIABLE_REDIS_URL="$REDIS_URL" SPIN_VARIABLE_HOP_SECRET="$hop_secret" \
        SPIN_VARIABLE_REGIONAL_REDIS_URL="${REDIS_URL%/}/${REDIS_DATABASE[$region]}" \
        SPIN_VARIABLE_TRUSTED_PROXIES="${TRUSTED_PROXIES:-127.0.0.1}" \
        SPIN_VARIABLE_ALLOW_GEO_OVERRIDE="${ALLOW_GEO_OVERRIDE:-true}"
      if [ "$host" = spin ]; then
        nohup spin up --listen "127.0.0.1:$port" \
          --runtime-config-file "$dir/runtime-config.toml" > "$dir/log" 2>&1 &
      else
        nohup "$host" serve --manifest spin.toml --listen "127.0.0.1:$port" \
          --runtime-config-file "$dir/runtime-config.toml" > "$dir/log" 2>&1 &
      fi
      echo $! > "$dir/pid"
    )
  done
  for region in "${REGIONS[@]}"; do
    local port="${PORT[$region]}"
    for _ in $(seq 1 120); do
      curl -fs "http://127.0.0.1:$port/alive" > /dev/null && break
      sleep 1
    done
    curl -fs "http://127.0.0.1:$port/alive" > /dev/null \
      || { echo "$region did not start; see $STATE_DIR/$region/log" >&2; exit 1; }
    echo "$region: http://127.0.0.1:$port (log: $STATE_DIR/$region/log)"
  done
}

down() {
  for region in "${REGIONS[@]}"; do
    local pidfile="$STATE_DIR/$region/pid"
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2> /dev/null || true; rm -f "$pidfile"; fi
  done
  "$ROOT/deploy/local-replica.sh" stop
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
