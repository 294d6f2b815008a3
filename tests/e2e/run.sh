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
#   E2E_SKIP_BUILD=1   use already-built wasm, host and db binaries.
#   E2E_RUNTIME_CONFIG runtime config (default runtime-config/local.toml).
#   and those of tests/lib/serve-app.sh (target dir, binaries, PostgreSQL server).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
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

# --- App ---------------------------------------------------------------------------------
# shellcheck source=../lib/serve-app.sh
. "$root/tests/lib/serve-app.sh"
build_app "${E2E_SKIP_BUILD:-0}"
fresh_database e2e
serve_app / "${E2E_RUNTIME_CONFIG:-runtime-config/local.toml}"
export E2E_BASE_URL="$base_url"
export E2E_ADMIN_EMAIL="admin-e2e@example.com"
export E2E_ADMIN_PASSWORD="e2e admin passphrase $$"
register_admin "$E2E_ADMIN_EMAIL" "$E2E_ADMIN_PASSWORD" "E2E Admin"

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
