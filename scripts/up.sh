#!/usr/bin/env bash
# One command to run the platform locally: migrate and seed PostgreSQL, build every component,
# then `spin up`. PostgreSQL and Redis must be reachable (scripts/services.sh starts local ones).
#
#   scripts/up.sh                      # http://127.0.0.1:3000
#   LISTEN=127.0.0.1:8080 scripts/up.sh
#
# DATABASE_URL   default postgres://postgres@127.0.0.1:5432/course_platform?sslmode=disable
#                (the database is created if missing)
# ADMIN_PASSWORD when set, `db seed` also creates admin@example.com (ADMIN_EMAIL) with it
# RUNTIME_CONFIG default runtime-config/local.toml (key-value stores kept by Spin itself);
#                runtime-config/redis-kv.toml keeps them in Redis instead
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/course_platform?sslmode=disable}"
listen="${LISTEN:-127.0.0.1:3000}"
runtime_config="${RUNTIME_CONFIG:-runtime-config/local.toml}"

if [[ "$DATABASE_URL" == *"@127.0.0.1"* || "$DATABASE_URL" == *"@localhost"* ]]; then
  scripts/services.sh
  name="${DATABASE_URL##*/}"; name="${name%%\?*}"
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$name'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -qc "create database \"$name\""
fi

cargo run --quiet --release -p db -- migrate
cargo run --quiet --release -p db -- seed

export SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL"
if command -v spin >/dev/null 2>&1; then
  # spin.toml's build commands write to <repo>/target (--target-dir), where `source` points,
  # whatever CARGO_TARGET_DIR is set to.
  spin build
  exec spin up --listen "$listen" --runtime-config-file "$runtime_config"
fi

# No Spin on this machine: serve the same components with the project's test host
# (build-wasm.sh copies the .wasm files to <repo>/target, where spin.toml names them).
echo "up.sh: spin not found; serving with tests/spin-test-host (a test tool, not a product runtime)" >&2
scripts/build-wasm.sh
exec cargo run --quiet --release -p spin-test-host -- serve \
  --manifest spin.toml --listen "$listen" --runtime-config-file "$runtime_config"
