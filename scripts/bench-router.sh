#!/usr/bin/env bash
# The geo-router's added latency on a cached catalog read, in one run: GET /api/courses
# through the router (spin.toml as shipped: router on /..., catalog private) versus straight
# to the catalog component (the same manifest with the catalog also routed publicly on
# /api/courses/..., which outranks /...), same database, same host, interleaved runs.
# Target: at most 15% more p50 latency through the router.
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

wrk_once() { # url -> "req_per_sec p50_ms p99_ms"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | python3 -c '
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
direct="" routed=""
# Interleaved, so drift in machine load hits both alike.
for _ in $(seq 1 "$RUNS"); do
  direct+="$(wrk_once "http://127.0.0.1:$direct_port$PATH_UNDER_TEST")"$'\n'
  routed+="$(wrk_once "http://127.0.0.1:$routed_port$PATH_UNDER_TEST")"$'\n'
done
python3 - "$direct" "$routed" <<'PY'
import statistics, sys
def medians(text):
    rows = [list(map(float, line.split())) for line in text.splitlines() if line.strip()]
    return [statistics.median(column) for column in zip(*rows)]
direct, routed = medians(sys.argv[1]), medians(sys.argv[2])
print(f"{'scenario':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
for name, (rps, p50, p99) in (("catalog direct", direct), ("catalog via router", routed)):
    print(f"{name:<22}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}")
overhead = (routed[1] / direct[1] - 1) * 100
print(f"router overhead: p50 {overhead:+.1f}%, req/s {(routed[0] / direct[0] - 1) * 100:+.1f}% (target: p50 <= +15%)")
PY
echo "($RUNS interleaved runs of $DURATION each, $CONNECTIONS connections, $THREADS wrk threads; medians)"
