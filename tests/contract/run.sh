#!/usr/bin/env bash
# Contract test: schemathesis generates requests from openapi.json and checks the served app's
# answers against it: no 5xx, every status code, content type, header and body (problem+json
# included) as documented, and every request the document allows accepted.
#
# Creates a fresh database (migrated and seeded), serves the real components with
# spin-test-host on a free port, registers and signs in a student, then runs schemathesis
# three times: anonymous, with the student's session cookie, and with an admin's on the
# admin operations. Cleans up. Installs schemathesis
# (tests/contract/requirements.txt) into a virtualenv when missing or changed. Prints
# `N passed, N failed` (one per pass) last and exits non-zero on any failure.
#
# Environment:
#   CONTRACT_SKIP_BUILD=1     use already-built wasm, host and db binaries.
#   CONTRACT_MAX_EXAMPLES     generated requests per operation and phase (default 25).
#   CONTRACT_SEED             schemathesis seed (default fixed, so runs repeat).
#   CONTRACT_PASSES           the passes to run (default "anonymous signed-in admin").
#   CONTRACT_VENV             virtualenv (default ~/.cache/course-platform/contract-venv).
#   and those of tests/lib/serve-app.sh (target dir, binaries, PostgreSQL server).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
venv="${CONTRACT_VENV:-$HOME/.cache/course-platform/contract-venv}"
max_examples="${CONTRACT_MAX_EXAMPLES:-25}"
seed="${CONTRACT_SEED:-20261203}"
passes=" ${CONTRACT_PASSES:-anonymous signed-in admin} "

log() { printf '[contract] %s\n' "$*" >&2; }
fail_setup() { log "$*"; echo "0 passed, 1 failed"; exit 1; }

# --- Tools -------------------------------------------------------------------------------
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q python3-venv >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q python3-venv >/dev/null; } \
    || fail_setup "cannot install python3-venv"
fi
# Reinstall only when requirements.txt changed since the last install.
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing schemathesis into $venv"
  python3 -m venv "$venv" || fail_setup "cannot create $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" \
    || fail_setup "pip install -r tests/contract/requirements.txt failed"
  echo "$want" >"$stamp"
fi

# --- App ---------------------------------------------------------------------------------
# shellcheck source=../lib/serve-app.sh
. "$root/tests/lib/serve-app.sh"
build_app "${CONTRACT_SKIP_BUILD:-0}"
fresh_database contract
# The router's per-client rate limit (600 requests a minute by default) would answer 429 to a
# fuzzer that sends thousands from one address; the contract is about what the API accepts,
# so it is lifted for this run.
serve_app /api/openapi.json runtime-config/local.toml SPIN_VARIABLE_RATE_LIMIT_REQUESTS=100000000

# A student, signed in through the API like any user; the run reuses the session cookie.
student_email="contract-student@example.com"
student_password="contract student passphrase $$"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"email\":\"$student_email\",\"password\":\"$student_password\",\"name\":\"Contract Student\"}" \
  "$base_url/api/accounts" || fail_setup "cannot register the student"
session="$(curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' \
  -d "{\"email\":\"$student_email\",\"password\":\"$student_password\"}" \
  "$base_url/api/session" | sed -n 's/^[Ss]et-[Cc]ookie: cp_session=\([0-9a-f]*\);.*/\1/p')"
[ -n "$session" ] || fail_setup "signing in gave no cp_session cookie"

# An admin, so the admin operations are tested past their 401/403.
admin_email="contract-admin@example.com"
admin_password="contract admin passphrase $$"
register_admin "$admin_email" "$admin_password" "Contract Admin"
admin_session="$(curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}" \
  "$base_url/api/session" | sed -n 's/^[Ss]et-[Cc]ookie: cp_session=\([0-9a-f]*\);.*/\1/p')"
[ -n "$admin_session" ] || fail_setup "signing the admin in gave no cp_session cookie"
# Rows the admin pass's valid writes refer to (hooks.py): a course must name an existing
# category and instructor, and an edit of an existing course is what shows its 200.
sql() { psql -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d "$database" -tAc "$1"; }
export CONTRACT_CATEGORY="$(sql 'SELECT slug FROM categories ORDER BY slug LIMIT 1')"
export CONTRACT_INSTRUCTOR="$(sql 'SELECT slug FROM instructors ORDER BY slug LIMIT 1')"
export CONTRACT_COURSE_ID="$(sql 'SELECT id FROM courses WHERE NOT published ORDER BY id LIMIT 1')"
[ -n "$CONTRACT_CATEGORY" ] && [ -n "$CONTRACT_INSTRUCTOR" ] && [ -n "$CONTRACT_COURSE_ID" ] \
  || fail_setup "the seeded database has no category, instructor or draft course"

# --- Schemathesis ------------------------------------------------------------------------
passed=0
failed=0
# run_pass NAME [schemathesis options...]: one schemathesis run, counted as one test.
run_pass() {
  local name="$1"; shift
  [[ "$passes" == *" $name "* ]] || return 0
  log "pass '$name': schemathesis, $max_examples examples per operation, seed $seed"
  local started=$SECONDS status=0
  # One worker: with more, hypothesis describes strategies from several threads at once and
  # CPython 3.11's `ast` fails ("AST constructor recursion depth mismatch"). One is also the
  # deterministic order.
  PYTHONPATH="$here" "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$root/openapi.json" \
    --url "$base_url" --seed "$seed" --max-examples "$max_examples" --workers 1 \
    --no-color --report junit --report-junit-path "$workdir/$name.xml" "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1)); log "pass '$name': ok ($((SECONDS - started)) s)"
  else
    failed=$((failed + 1)); log "pass '$name': FAILED (schemathesis exit $status, $((SECONDS - started)) s)"
  fi
}

set +e
run_pass anonymous
# Signed in, every request carries the student's cookie (cart operations need it too, and
# they declare no security requirement). Sign-out is left out: it would end the session every
# later request relies on (the anonymous pass covers it).
run_pass signed-in --header "Cookie: cp_session=$session" --exclude-operation-id signOut
# The admin operations only (the rest answer an admin as they answer the student): course
# drafts, edits, publishing, the outbox relay and the dead letters.
run_pass admin --header "Cookie: cp_session=$admin_session" \
  --include-tag catalog-admin --include-tag commerce-admin
set -e

if [ "$failed" -gt 0 ]; then
  log "host log tail:"; tail -40 "$workdir/host.log" >&2
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
