# Serving the app for the script-driven test suites (tests/contract/run.sh, tests/e2e/run.sh):
# the build, a fresh migrated and seeded database, the components of spin.toml on
# spin-test-host at a free port, and an admin. Sourced, not run.
#
# The sourcing script sets `root` (the repository, the working directory) and defines
# `log` and `fail_setup` (its own prefix and failure report) before calling these.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target); SPIN_TEST_HOST, DB_TOOL (default
# $CARGO_TARGET_DIR/debug/...); PGHOST/PGPORT/PGUSER (default 127.0.0.1:5432, postgres).

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
pg_host="${PGHOST:-127.0.0.1}"
pg_port="${PGPORT:-5432}"
pg_user="${PGUSER:-postgres}"
host_pid=""
database=""
workdir="$(mktemp -d)"
trap stop_app EXIT

# build_app SKIP: builds the wasm components (copied to <repo>/target, where spin.toml's
# sources name them), the host and the db tool, unless SKIP is 1; checks the binaries.
build_app() {
  if [ "$1" != 1 ]; then
    log "building wasm components"
    scripts/build-wasm.sh >&2 || fail_setup "wasm build failed"
    log "building spin-test-host and db"
    cargo build -p spin-test-host -p db >&2 || fail_setup "host/db build failed"
  fi
  host_bin="${SPIN_TEST_HOST:-$CARGO_TARGET_DIR/debug/spin-test-host}"
  db_bin="${DB_TOOL:-$CARGO_TARGET_DIR/debug/db}"
  [ -x "$host_bin" ] || fail_setup "missing $host_bin"
  [ -x "$db_bin" ] || fail_setup "missing $db_bin"
}

# fresh_database PREFIX: a new database PREFIX_<time>_<pid>, migrated and seeded, exported
# as DATABASE_URL. It, the host and the scratch directory go when the script exits.
fresh_database() {
  pg_isready -q -h "$pg_host" -p "$pg_port" || fail_setup "PostgreSQL is not reachable at $pg_host:$pg_port"
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || fail_setup "Redis is not reachable at 127.0.0.1:6379"
  database="$1_$(date +%s)_$$"
  export DATABASE_URL="postgres://$pg_user@$pg_host:$pg_port/$database?sslmode=disable"
  psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE \"$database\"" >/dev/null \
    || fail_setup "cannot create database $database"
  "$db_bin" migrate >&2 || fail_setup "db migrate failed"
  "$db_bin" seed >&2 || fail_setup "db seed failed"
}

stop_app() {
  if [ -n "$host_pid" ]; then kill "$host_pid" 2>/dev/null || true; wait "$host_pid" 2>/dev/null || true; fi
  [ -z "$database" ] || psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres \
    -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$workdir"
}

# serve_app READY_PATH RUNTIME_CONFIG [NAME=VALUE...]: serves spin.toml on a free port with
# the given environment (e.g. SPIN_VARIABLE_*), sets `base_url`, and returns once
# READY_PATH answers (bounded: 120 x 0.5 s). A state dir of the run's own keeps the
# `default` store (a SQLite file, as in Spin) fresh.
serve_app() {
  local ready_path="$1" runtime_config="$2"; shift 2
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base_url="http://127.0.0.1:$port"
  log "serving the app at $base_url (log: $workdir/host.log)"
  env SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL" "$@" \
    "$host_bin" serve --manifest spin.toml --listen "127.0.0.1:$port" \
    --runtime-config-file "$runtime_config" \
    --state-dir "$workdir/state" >"$workdir/host.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 120); do
    if curl -fsS -o /dev/null "$base_url$ready_path" 2>/dev/null; then break; fi
    kill -0 "$host_pid" 2>/dev/null || { cat "$workdir/host.log" >&2; fail_setup "spin-test-host exited"; }
    sleep 0.5
  done
  curl -fsS -o /dev/null "$base_url$ready_path" || { tail -50 "$workdir/host.log" >&2; fail_setup "the app did not come up"; }
}

# register_admin EMAIL PASSWORD NAME: signs up like anyone else through the API, then is
# promoted in the database (admins have no sign-up).
register_admin() {
  curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\",\"name\":\"$3\"}" \
    "$base_url/api/accounts" || fail_setup "cannot register the admin"
  psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d "$database" \
    -c "UPDATE users SET role = 'admin' WHERE email = '$1'" >/dev/null || fail_setup "cannot promote the admin"
}
