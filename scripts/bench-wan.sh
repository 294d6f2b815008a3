#!/usr/bin/env bash
# The regions at real distances (deploy/wan.sh): one scenario per run, each ending with a
# printed verdict (PASS/FAIL, non-zero exit on FAIL).
#
#   scripts/bench-wan.sh nearest      # the mix from every continent: us-east only vs geo-routed
#   scripts/bench-wan.sh region-kill  # ap-south's host killed mid-load; orders audited
#   scripts/bench-wan.sh partition    # ap-south's links dropped mid-load, then healed; audited
#   scripts/bench-wan.sh redis        # the WAN's Redis stopped 30 s during checkouts; audited
#   scripts/bench-wan.sh replica-lag  # the replica's replay paused while students buy and read
#   scripts/bench-wan.sh soak         # the mix at a steady rate (WAN_SOAK_SECONDS, 600); RSS
#   scripts/bench-wan.sh ci           # short: geo-routed mix, then a partition; audited
#
# Every scenario but `nearest` runs with WAN_REDIS=every-region unless told otherwise: with the
# shared Redis in us-east (deploy/README.md), checkouts from ap-south already come close to the
# router's 5 s upstream timeout without any chaos (README "WAN simulation"), which would blur
# what the chaos does. `nearest` measures both placements.
#
# Knobs: WAN_REQUESTS (requests per continent, 240), WAN_STUDENTS (per continent, 3),
# WAN_SEED (1), WAN_SOAK_SECONDS (600), WAN_SOAK_RATE (requests/s per continent, 2),
# WAN_SKIP_BUILD=1 (binaries and wasm already built, e.g. by scripts/test.sh).
# Reports land in $WAN_RESULTS (default /var/tmp/course-platform/wan-results).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"
BIN="$CARGO_TARGET_DIR/debug"
STATE_DIR="${WAN_STATE_DIR:-/var/tmp/course-platform/wan}"
RESULTS="${WAN_RESULTS:-/var/tmp/course-platform/wan-results}"
REQUESTS="${WAN_REQUESTS:-240}"
STUDENTS="${WAN_STUDENTS:-3}"
SEED="${WAN_SEED:-1}"
DATABASE_URL="postgres://postgres@127.0.0.1:5432/${WAN_DATABASE:-course_platform_wan}?sslmode=disable"
mkdir -p "$RESULTS"
[ "${1:-}" = nearest ] || export WAN_REDIS="${WAN_REDIS:-every-region}"

verdict=PASS
CHAOS_EXTRA=()
fail() { echo "FAIL: $*"; verdict=FAIL; }

up() {
  # Once a scenario deploys, whatever happens, it leaves nothing running.
  trap 'deploy/wan.sh down > /dev/null 2>&1 || true' EXIT
  trap 'exit 143' TERM INT
  deploy/wan.sh down > /dev/null 2>&1 || true
  deploy/wan.sh up "$1" > /dev/null
  # Build once per bench run, not per deployment.
  export WAN_SKIP_BUILD=1
}

load() { # report-name, extra wan-load arguments...
  local name=$1; shift
  "$BIN/wan" load --clients "$STATE_DIR/clients.json" --students-per-location "$STUDENTS" \
    --requests "$REQUESTS" --seed "$SEED" --report "$RESULTS/$name.json" "$@"
}

audit() { # report-name
  WAN_ADMIN_PASSWORD="$(cat "$STATE_DIR/admin-password")" "$BIN/wan" audit \
    --database-url "$DATABASE_URL" --report "$RESULTS/$1.json" \
    --relay-url "$(jq -r .primary_url "$STATE_DIR/clients.json")" | tee "$RESULTS/$1.audit"
}

stat() { # report, continent, field
  jq -r --arg c "$2" ".locations[] | select(.name == \$c) | .all.$3" "$RESULTS/$1.json"
}

nearest() {
  up single
  load single || fail "errors in the us-east-only run"
  up geo
  load geo || fail "errors in the geo-routed run (shared Redis in us-east)"
  WAN_REDIS=every-region up geo
  load geo-local-redis || fail "errors in the geo-routed run with Redis in every region"
  echo
  echo "Per continent, every request of the mix (ms; same seed, same choices). geo: shared Redis"
  echo "in us-east as deploy/README.md has it, each region's own beside it; geo+redis: the shared"
  echo "Redis next to every region too (what-if)."
  printf '%-13s %9s %9s %9s %9s %9s %9s %9s %9s\n' continent "1-reg p50" "geo p50" "ratio" \
    "geo+r p50" "ratio" "1-reg p95" "geo p95" "geo+r p95"
  local continent
  for continent in americas europe asia-pacific; do
    local s50 g50 r50
    s50=$(stat single "$continent" p50_ms); g50=$(stat geo "$continent" p50_ms)
    r50=$(stat geo-local-redis "$continent" p50_ms)
    printf '%-13s %9s %9s %9s %9s %9s %9s %9s %9s\n' "$continent" "$s50" "$g50" \
      "x$(jq -n "$g50 / $s50 * 100 | round / 100")" "$r50" "x$(jq -n "$r50 / $s50 * 100 | round / 100")" \
      "$(stat single "$continent" p95_ms)" "$(stat geo "$continent" p95_ms)" \
      "$(stat geo-local-redis "$continent" p95_ms)"
    # Far from us-east, the nearest region must answer the mix faster than us-east does.
    if [ "$continent" != americas ] && jq -e -n "$g50 >= $s50" > /dev/null; then
      fail "$continent: geo-routed p50 $g50 ms is not below us-east-only $s50 ms"
    fi
  done
}

# A chaos run, paced so every continent is busy throughout: CHAOS_RATE requests/s per
# continent (4) for CHAOS_MAX_SECONDS (75), the strike at CHAOS_AT (20) and, if a heal command
# is given, the heal at $5 s; then the order audit.
chaos() { # name, victim, chaos-command, heal-command or "", heal-at
  local name=$1 victim=$2 strike=$3 heal=$4 heal_at=$5
  local args=(--tolerate-errors --victim "$victim" --chaos-at "${CHAOS_AT:-20}" --chaos-command "$strike"
    --rate "${CHAOS_RATE:-4}" --max-seconds "${CHAOS_MAX_SECONDS:-75}")
  [ -z "$heal" ] || args+=(--heal-command "$heal" --heal-at "$heal_at")
  REQUESTS=1000000 load "$name" "${args[@]}" "${CHAOS_EXTRA[@]}"
  jq -r '.chaos.locations[] | "\(.name): \(.errors_after) errors in \(.requests_after) requests ended after the strike; first success away from the victim after \(.requests_until_moved // "-") requests, \(.moved_after_ms // "-") ms; \(.served_by_victim_after) answers from the victim"' "$RESULTS/$name.json"
  audit "$name" || fail "$name: order invariants violated"
}

# An admin in the Americas renames a course while the replica is paused; a reader in Europe
# (eu-west, which reads the replica) carrying the admin's cp_lsn token must see the new title,
# and one without it shows what the replica still has.
catalog_read_your_writes() {
  local americas europe jar course title
  americas=$(jq -r '.locations[] | select(.name == "americas") | .entries[0].url' "$STATE_DIR/clients.json")
  europe=$(jq -r '.locations[] | select(.name == "europe") | .entries[0].url' "$STATE_DIR/clients.json")
  jar=$(mktemp)
  curl -fs -c "$jar" -H 'x-forwarded-for: 200.160.0.1' -H 'content-type: application/json' \
    -d "{\"email\":\"admin@example.com\",\"password\":\"$(cat "$STATE_DIR/admin-password")\"}" \
    "$americas/api/session" > /dev/null
  course=$(curl -fs "$europe/api/courses?page_size=1" -H 'x-forwarded-for: 193.0.0.1' | jq -r '.items[0].id')
  title="Renamed while the replica lags $(date +%s)"
  curl -fs -b "$jar" -c "$jar" -X PATCH -H 'x-forwarded-for: 200.160.0.1' -H 'content-type: application/json' \
    -d "{\"title\":\"$title\"}" "$americas/api/courses/$course" > /dev/null
  # The router sets cp_lsn for the host that served the write; send it to Europe's entry too.
  local token; token=$(awk '$6 == "cp_lsn" { print $7 }' "$jar")
  local with without
  with=$(curl -fs -H "cookie: cp_lsn=$token" -H 'x-forwarded-for: 193.0.0.1' "$europe/api/courses/$course" | jq -r .title)
  without=$(curl -fs -H 'x-forwarded-for: 193.0.0.1' "$europe/api/courses/$course" | jq -r .title)
  rm -f "$jar"
  echo "catalog read-your-writes: with the token \"$with\"; without it \"$without\""
  [ "$with" = "$title" ] || fail "a reader holding the write's token did not see it"
}

case "${1:-}" in
  nearest) nearest ;;
  region-kill) up geo; chaos region-kill ap-south "deploy/wan.sh stop-region ap-south" "" 0 ;;
  partition) up geo
    chaos partition ap-south "deploy/wan.sh fault ap-south partition" "deploy/wan.sh fault ap-south none" 45 ;;
  redis) # Checkouts that have passed the session check when Redis stops must still pay and
    # publish: many checkouts, each held 2 s by the test provider (and a router timeout that
    # allows for it), so some are in flight at the strike and their publish fails.
    WAN_VARIABLES="payments_test_latency_ms=2000 upstream_timeout_ms=15000 ${WAN_VARIABLES:-}" up geo
    CHAOS_EXTRA=(--checkout-weight 30)
    chaos redis redis "deploy/wan.sh redis-stop" "deploy/wan.sh redis-start" 50 ;;
  replica-lag) up geo
    replica_sql() { psql -h 127.0.0.1 -p "${WAN_REPLICA_PORT:-5434}" -U postgres -Atqc "$1"; }
    replica_sql 'select pg_wal_replay_pause()' > /dev/null
    # Every checkout reads its order back at once (an error if it is not there).
    load replica-lag || fail "a read-your-writes violation or another error while replay was paused"
    catalog_read_your_writes
    echo "replica behind the primary by $(psql "${DATABASE_URL%%\?*}" -Atqc "select pg_wal_lsn_diff(pg_current_wal_lsn(), '$(replica_sql 'select pg_last_wal_replay_lsn()')')") bytes before resuming"
    replica_sql 'select pg_wal_replay_resume()' > /dev/null
    audit replica-lag || fail "order invariants violated" ;;
  soak) up geo
    rss() { while read -r region _; do
        printf '%s %s kB\n' "$region" "$(awk '/VmRSS/ { print $2 }' "/proc/$(cat "$STATE_DIR/regions/$region/pid")/status")"
      done < "$STATE_DIR/regions.txt"; }
    echo "RSS at start:"; rss | tee "$RESULTS/soak-rss-start"
    seconds="${WAN_SOAK_SECONDS:-600}"
    REQUESTS=$((seconds * 100)) load soak --rate "${WAN_SOAK_RATE:-2}" --max-seconds "$seconds" \
      || fail "errors during the soak"
    echo "RSS at end:"; rss | tee "$RESULTS/soak-rss-end"
    audit soak || fail "order invariants violated" ;;
  ci) up geo
    REQUESTS="${WAN_REQUESTS:-90}"
    load ci-mix --max-seconds 60 || fail "errors in the geo-routed mix"
    CHAOS_AT=10 CHAOS_MAX_SECONDS=40 chaos ci-partition ap-south \
      "deploy/wan.sh fault ap-south partition" "deploy/wan.sh fault ap-south none" 25 ;;
  *) sed -n '2,21p' "$0" >&2; exit 2 ;;
esac

echo "verdict: $verdict"
[ "$verdict" = PASS ]
