#!/usr/bin/env bash
# The geo-router's added latency on a cached catalog read, in one run: GET /api/courses
# through the router (spin.toml as shipped: router on /..., catalog private) versus straight
# to the catalog component (the same manifest with the catalog also routed publicly on
# /api/courses/..., which outranks /...), same database, same host, interleaved runs.
# Target: at most 15% more p50 latency through the router. Each run measures both one request
# at a time (1 connection: the latency a client adds by going through the router) and under
# load (BENCH_CONNECTIONS: where p50 is mostly queueing, so it tracks CPU per request).
# For scale, the same run measures one service-chaining hop between two trivial fixture
# components (tests/fixtures: /hello vs /probe/fetch of private-echo.spin.internal).
#
# Knobs: BENCH_RUNS (3), BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_SKIP_BUILD=1 (reuse the wasm and the debug host/db binaries `scripts/test.sh` built),
# BENCH_TCP_NODELAY=on (set TCP_NODELAY on accepted connections; default off, as Spin serves).
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

psql -h 127.0.0.1 -U postgres -qc "drop database if exists $DB_NAME with (force)" -c "create database $DB_NAME"
DATABASE_URL="$DATABASE_URL" "$BIN/db" migrate >/dev/null
DATABASE_URL="$DATABASE_URL" "$BIN/db" seed >/dev/null
# Beside spin.toml, so its relative component paths still resolve.
DIRECT="$(mktemp --suffix=.toml -p .)"
STATE_ROOT="$(mktemp -d)"  # the servers' state dirs, removed at exit
trap 'rm -f "$DIRECT"; rm -rf "$STATE_ROOT"' EXIT
{ cat spin.toml; printf '\n[[trigger.http]]\nroute = "/api/courses/..."\ncomponent = "catalog"\n'; } > "$DIRECT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

NODELAY_FLAG=()
[ "${BENCH_TCP_NODELAY:-off}" = on ] && NODELAY_FLAG=(--tcp-nodelay)
start() { # manifest path -> "pid port"
  local port state_dir
  port=$(free_port)
  # Each server its own state dir (the `default` store's SQLite file), as separate apps have.
  state_dir="$(mktemp -d -p "$STATE_ROOT")"
  SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL" SPIN_VARIABLE_RATE_LIMIT_REQUESTS=1000000000 \
    SPIN_VARIABLE_API_TOKEN=bench \
    "$HOST" serve --manifest "$1" --listen "127.0.0.1:$port" --runtime-config-file runtime-config/local.toml \
    --state-dir "$state_dir" "${NODELAY_FLAG[@]}" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port$2" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port$2" || { echo "server did not start" >&2; exit 1; }
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

HOP_PATH="/probe/fetch?url=http://private-echo.spin.internal/x"
read -r direct_pid direct_port <<<"$(start "$DIRECT" "$PATH_UNDER_TEST")"
read -r routed_pid routed_port <<<"$(start spin.toml "$PATH_UNDER_TEST")"
read -r fixtures_pid fixtures_port <<<"$(start tests/fixtures/spin.toml /hello)"
trap 'kill $direct_pid $routed_pid $fixtures_pid 2>/dev/null; rm -f "$DIRECT"; rm -rf "$STATE_ROOT"' EXIT
declare -A urls=(
  [direct]="http://127.0.0.1:$direct_port$PATH_UNDER_TEST"
  [routed]="http://127.0.0.1:$routed_port$PATH_UNDER_TEST"
  [trivial]="http://127.0.0.1:$fixtures_port/hello"
  [hop]="http://127.0.0.1:$fixtures_port$HOP_PATH"
)
declare -A results
# Interleaved, so drift in machine load hits every scenario alike.
for _ in $(seq 1 "$RUNS"); do
  for load in "1 1" "$CONNECTIONS $THREADS"; do
    read -r connections threads <<<"$load"
    for target in direct routed trivial hop; do
      results[$target-$connections]+="$(wrk_once "${urls[$target]}" "$connections" "$threads")"$'\n'
    done
  done
done
python3 - "$CONNECTIONS" \
  "${results[direct-1]}" "${results[routed-1]}" "${results[trivial-1]}" "${results[hop-1]}" \
  "${results[direct-$CONNECTIONS]}" "${results[routed-$CONNECTIONS]}" \
  "${results[trivial-$CONNECTIONS]}" "${results[hop-$CONNECTIONS]}" <<'PY'
import statistics, sys
def rows(text):
    return [list(map(float, line.split())) for line in text.splitlines() if line.strip()]
def median_row(text):
    return [statistics.median(column) for column in zip(*rows(text))]
def added(base, other):
    """Median over runs of the p50 added by `other` over `base`, as % and as ms."""
    pairs = list(zip(rows(base), rows(other)))
    percent = [(o[1] / b[1] - 1) * 100 for b, o in pairs]
    millis = [o[1] - b[1] for b, o in pairs]
    return statistics.median(percent), statistics.median(millis), percent
connections = sys.argv[1]
names = ("catalog direct", "catalog via router", "trivial component", "trivial + one hop")
print(f"{'scenario':<40}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
for label, texts in (("1 connection", sys.argv[2:6]), (f"{connections} connections", sys.argv[6:10])):
    for name, text in zip(names, texts):
        rps, p50, p99 = median_row(text)
        print(f"{label + ', ' + name:<40}{rps:>10.0f}{p50:>10.3f}{p99:>10.3f}")
    percent, millis, runs = added(texts[0], texts[1])
    listed = ", ".join(f"{value:+.1f}%" for value in runs)
    print(f"  router overhead, {label}: p50 {percent:+.1f}% ({millis * 1000:+.0f} us; runs: {listed}; target <= +15%)")
    percent, millis, _ = added(texts[2], texts[3])
    print(f"  one service-chaining hop, {label}: p50 {millis * 1000:+.0f} us ({percent:+.1f}% on a trivial component)")
PY
echo "($RUNS interleaved runs of $DURATION per scenario; medians; TCP_NODELAY ${BENCH_TCP_NODELAY:-off})"
