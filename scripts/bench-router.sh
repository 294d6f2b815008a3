#!/usr/bin/env bash
# The geo-router's added latency on a cached catalog read, in one run: GET /api/courses
# through the router (spin.toml as shipped: router on /..., catalog private) versus straight
# to the catalog component (the same manifest with the catalog also routed publicly on
# /api/courses/..., which outranks /...), same database, same host, interleaved runs.
# Target: at most 15% more p50 latency through the router. Each run measures both one request
# at a time (1 connection: the latency a client adds by going through the router) and under
# load (BENCH_CONNECTIONS: where p50 is mostly queueing, so it tracks CPU per request).
#
# Knobs: BENCH_RUNS (3), BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_SKIP_BUILD=1 (reuse the wasm and the debug host/db binaries `scripts/test.sh` built).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"
RUNS="${BENCH_RUNS:-3}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
DB_NAME=course_platform_bench_router
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB_NAME?sslmode=disable"
PATH_UNDER_TEST="/api/courses?page_size=20"

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
scripts/services.sh
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
  BIN="$CARGO_TARGET_DIR/debug"
else
  scripts/build-wasm.sh
  cargo build --release -p spin-test-host -p db
  BIN="$CARGO_TARGET_DIR/release"
fi
HOST="$BIN/spin-test-host"

psql -h 127.0.0.1 -U postgres -qc "drop database if exists $DB_NAME" -c "create database $DB_NAME"
DATABASE_URL="$DATABASE_URL" "$BIN/db" migrate >/dev/null
DATABASE_URL="$DATABASE_URL" "$BIN/db" seed >/dev/null
# Beside spin.toml, so its relative component paths still resolve.
DIRECT="$(mktemp --suffix=.toml -p .)"
trap 'rm -f "$DIRECT"' EXIT
{ cat spin.toml; printf '\n[[trigger.http]]\nroute = "/api/courses/..."\ncomponent = "catalog"\n'; } > "$DIRECT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # manifest -> "pid port"
  local port
  port=$(free_port)
  SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL" SPIN_VARIABLE_RATE_LIMIT_REQUESTS=1000000000 \
    "$HOST" serve --manifest "$1" --listen "127.0.0.1:$port" --runtime-config-file runtime-config/local.toml \
    >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port$PATH_UNDER_TEST" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port$PATH_UNDER_TEST" || { echo "server did not start" >&2; exit 1; }
  echo "$pid $port"
}

wrk_once() { # url connections threads -> "req_per_sec p50_ms p99_ms"
  wrk -t"$3" -c"$2" -d"$DURATION" --latency "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"bench-router.sh: {errors.group(1)} failed responses:\n{text}")
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
print(rps, p50, p99)
'
}

read -r direct_pid direct_port <<<"$(start "$DIRECT")"
read -r routed_pid routed_port <<<"$(start spin.toml)"
trap 'kill $direct_pid $routed_pid 2>/dev/null; rm -f "$DIRECT"' EXIT
declare -A results
# Interleaved, so drift in machine load hits both alike.
for _ in $(seq 1 "$RUNS"); do
  for load in "1 1" "$CONNECTIONS $THREADS"; do
    read -r connections threads <<<"$load"
    for target in direct routed; do
      port=$([ "$target" = direct ] && echo "$direct_port" || echo "$routed_port")
      results[$target-$connections]+="$(wrk_once "http://127.0.0.1:$port$PATH_UNDER_TEST" "$connections" "$threads")"$'\n'
    done
  done
done
python3 - "$CONNECTIONS" "${results[direct-1]}" "${results[routed-1]}" \
  "${results[direct-$CONNECTIONS]}" "${results[routed-$CONNECTIONS]}" <<'PY'
import statistics, sys
def rows(text):
    return [list(map(float, line.split())) for line in text.splitlines() if line.strip()]
def median_row(text):
    return [statistics.median(column) for column in zip(*rows(text))]
connections = sys.argv[1]
print(f"{'scenario':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
for label, direct, routed in (("1 connection", sys.argv[2], sys.argv[3]),
                              (f"{connections} connections", sys.argv[4], sys.argv[5])):
    for name, text in (("direct", direct), ("via router", routed)):
        rps, p50, p99 = median_row(text)
        print(f"{label + ', ' + name:<34}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}")
    # Ratios within each run, then their median: load drift between runs cancels out.
    overheads = [(r[1] / d[1] - 1) * 100 for d, r in zip(rows(direct), rows(routed))]
    per_run = ", ".join(f"{o:+.1f}%" for o in overheads)
    print(f"  router overhead, {label}: p50 {statistics.median(overheads):+.1f}% (runs: {per_run}; target <= +15%)")
PY
echo "($RUNS interleaved runs of $DURATION per scenario; medians)"
