#!/usr/bin/env bash
# End-to-end journeys of the browser UI in headless Chromium.
#
# Builds the wasm components, the test host and the db tool; creates a fresh database
# (migrated, seeded, with an admin); serves the app with spin-test-host on a free port;
# runs tests/e2e/journeys.test.js; cleans up. Installs Chromium (Debian package) and
# playwright-core (npm ci) when missing. Prints `N passed, N failed` last and exits
# non-zero on any failure.
#
# Environment:
#   CARGO_TARGET_DIR   cargo's target dir (default: <repo>/target); component sources are
#                      always <repo>/target/... (scripts/build-wasm.sh copies them there).
#   E2E_SKIP_BUILD=1   use already-built wasm, host and db binaries.
#   SPIN_TEST_HOST, DB_TOOL  paths of those binaries (default: $CARGO_TARGET_DIR/debug/...).
#   PGHOST/PGPORT/PGUSER  PostgreSQL server (default 127.0.0.1:5432, user postgres).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"
pg_user="${PGUSER:-postgres}"

log() { printf '[e2e] %s\n' "$*" >&2; }
fail_setup() { log "$*"; echo "0 passed, 1 failed"; exit 1; }

# --- Tools -------------------------------------------------------------------------------
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null \
    || fail_setup "cannot install chromium (apt-get install -y chromium)"
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  log "npm ci"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || fail_setup "npm ci failed"
fi

# --- Build -------------------------------------------------------------------------------
if [ "${E2E_SKIP_BUILD:-0}" != 1 ]; then
  # Builds into $CARGO_TARGET_DIR and copies the .wasm files to <repo>/target, where
  # spin.toml's sources name them.
  log "building wasm components"
  scripts/build-wasm.sh >&2 || fail_setup "wasm build failed"
  log "building spin-test-host and db"
  cargo build -p spin-test-host -p db >&2 || fail_setup "host/db build failed"
fi
host_bin="${SPIN_TEST_HOST:-$CARGO_TARGET_DIR/debug/spin-test-host}"
db_bin="${DB_TOOL:-$CARGO_TARGET_DIR/debug/db}"
[ -x "$host_bin" ] || fail_setup "missing $host_bin"
[ -x "$db_bin" ] || fail_setup "missing $db_bin"

# --- Database ----------------------------------------------------------------------------
pg_isready -q -h "$pg_host" -p "$pg_port" || fail_setup "PostgreSQL is not reachable at $pg_host:$pg_port"
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || fail_setup "Redis is not reachable at 127.0.0.1:6379"
database="e2e_$(date +%s)_$$"
export DATABASE_URL="postgres://$pg_user@$pg_host:$pg_port/$database?sslmode=disable"
host_pid=""
workdir="$(mktemp -d)"
cleanup() {
  if [ -n "$host_pid" ]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres \
    -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT
psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE \"$database\"" >/dev/null \
  || fail_setup "cannot create database $database"
"$db_bin" migrate >&2 || fail_setup "db migrate failed"
"$db_bin" seed >&2 || fail_setup "db seed failed"

# --- App ---------------------------------------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export E2E_BASE_URL="http://127.0.0.1:$port"
log "serving the app at $E2E_BASE_URL (log: $workdir/host.log)"
# A state dir of this run's own (the `default` store's SQLite file; Spin's default would be
# <repo>/.spin, kept between runs).
SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL" "$host_bin" serve --manifest spin.toml --listen "127.0.0.1:$port" \
  --runtime-config-file "${E2E_RUNTIME_CONFIG:-runtime-config/local.toml}" \
  --state-dir "$workdir/state" >"$workdir/host.log" 2>&1 &
host_pid=$!
# Readiness: the host answers once every component is loaded (bounded: 120 x 0.5 s).
for _ in $(seq 120); do
  if curl -fsS -o /dev/null "$E2E_BASE_URL/" 2>/dev/null; then break; fi
  kill -0 "$host_pid" 2>/dev/null || { cat "$workdir/host.log" >&2; fail_setup "spin-test-host exited"; }
  sleep 0.5
done
curl -fsS -o /dev/null "$E2E_BASE_URL/" || { tail -50 "$workdir/host.log" >&2; fail_setup "the app did not come up"; }

# The admin signs up like anyone else and is then promoted in the database.
export E2E_ADMIN_EMAIL="admin-e2e@example.com"
export E2E_ADMIN_PASSWORD="e2e admin passphrase $$"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"$E2E_ADMIN_EMAIL\",\"password\":\"$E2E_ADMIN_PASSWORD\",\"name\":\"E2E Admin\"}" \
  "$E2E_BASE_URL/api/accounts" || fail_setup "cannot register the admin"
psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d "$database" \
  -c "UPDATE users SET role = 'admin' WHERE email = '$E2E_ADMIN_EMAIL'" >/dev/null || fail_setup "cannot promote the admin"

# --- Journeys ----------------------------------------------------------------------------
set +e
(cd "$here" && node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$workdir/results.tap" \
  journeys.test.js)
status=$?
set -e
passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$workdir/results.tap" | tail -1)"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$workdir/results.tap" | tail -1)"
if [ "$status" -ne 0 ]; then
  log "host log tail:"; tail -40 "$workdir/host.log" >&2
  # A crash before any test reported still counts as a failure.
  [ "${failed:-0}" -gt 0 ] || failed=1
fi
echo "${passed:-0} passed, ${failed:-1} failed"
exit "$status"
