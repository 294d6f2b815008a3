#!/usr/bin/env bash
# Load-tests apps served by `spin-test-host serve` (release build) with wrk, TCP_NODELAY on and
# off, and prints the median req/s, p50 and p99 of several runs per scenario. The scenarios run
# interleaved within each run, and the cached/uncached ratio is the median of per-run ratios.
#
# Add a scenario as one more SCENARIOS entry: "name|manifest|path|VAR=value VAR2=value2"
# (variables are exported as SPIN_VARIABLE_<VAR> for the server). Knobs: BENCH_RUNS (3),
# BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_ONLY (scenario name),
# BENCH_PROFILE (release; `dev` reuses the test build, whose dependencies are optimised too),
# BENCH_SKIP_BUILD=1 (use the wasm and the debug host/db binaries `scripts/test.sh` just built:
# building the host alone would unify features differently and rebuild wasmtime).
set -euo pipefail
cd "$(dirname "$0")/.."

# The catalog scenarios read the demo catalog from this database (see prepare_catalog_db).
BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/course_platform_bench?sslmode=disable"
CATALOG_PAGE="/api/courses?category=programming&sort=price_asc&page=2"
# One load generator is one client: lift the geo-router's per-client rate limit.
NO_RATE_LIMIT="RATE_LIMIT_REQUESTS=1000000000"

SCENARIOS=(
  "hello|tests/fixtures/spin.toml|/hello|API_TOKEN=bench"
  "probe-kv|tests/fixtures/spin.toml|/probe/kv/default/k|API_TOKEN=bench"
  "probe-kv-sized|tests/fixtures/spin.toml|/probe/kv-sized/default/k|API_TOKEN=bench"
  "catalog-cached|spin.toml|$CATALOG_PAGE|DATABASE_URL=$BENCH_DATABASE_URL $NO_RATE_LIMIT"
  "catalog-uncached|spin.toml|$CATALOG_PAGE|DATABASE_URL=$BENCH_DATABASE_URL $NO_RATE_LIMIT CATALOG_CACHE_ENABLED=false"
)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"
RUNS="${BENCH_RUNS:-3}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench.sh: installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi

scripts/services.sh
PROFILE="${BENCH_PROFILE:-release}"
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
  PROFILE=dev
else
  scripts/build-wasm.sh
  cargo build --profile "$PROFILE" -p spin-test-host -p db
fi
BIN="$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"
HOST="$BIN/spin-test-host"

# Creates, migrates and seeds the catalog benchmark database (all idempotent).
prepare_catalog_db() {
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'course_platform_bench'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE course_platform_bench"
  DATABASE_URL="$BENCH_DATABASE_URL" "$BIN/db" migrate
  DATABASE_URL="$BENCH_DATABASE_URL" "$BIN/db" seed
}
if [ -z "${BENCH_ONLY:-}" ] || [[ "$BENCH_ONLY" == catalog-* ]]; then prepare_catalog_db; fi

STATE_ROOT="$(mktemp -d)"  # the servers' state dirs, removed at exit
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One wrk run -> "req_per_sec p50_ms p99_ms"
wrk_once() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(value):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"bench.sh: {errors.group(1)} failed responses:\n{text}")
print(rps, p50, p99)
'
}

# Starts one server: manifest vars nodelay-flag -> "pid port" once it answers `path`.
start_server() { # manifest path vars flag
  local manifest=$1 path=$2 vars=$3 flag=$4 port pid
  port=$(free_port)
  # The app lists key-value stores beyond `default`: serve it with their runtime config.
  local runtime_config=()
  if [ "$manifest" = spin.toml ]; then runtime_config=(--runtime-config-file runtime-config/local.toml); fi
  # Each server its own state dir (the `default` store's SQLite file), as separate apps have.
  local state_dir
  state_dir="$(mktemp -d -p "$STATE_ROOT")"
  (
    for assignment in $vars; do export "SPIN_VARIABLE_${assignment%%=*}=${assignment#*=}"; done
    exec "$HOST" serve --manifest "$manifest" --listen "127.0.0.1:$port" "${runtime_config[@]}" \
      --state-dir "$state_dir" $flag
  ) >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    # The probe scenarios read key `k` of the default store: set it once.
    curl -sf -o /dev/null -X PUT --data v "http://127.0.0.1:$port/probe/kv/default/k" 2>/dev/null || true
    if curl -sf -o /dev/null "http://127.0.0.1:$port$path"; then echo "$pid $port"; return; fi
    sleep 0.1
  done
  echo "bench.sh: $manifest did not answer $path; run it by hand to see why" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

# Every server is started first; then each run measures them all in turn, so drift in the
# machine's load hits every scenario of a run alike (ratios are taken within a run).
names=() urls=() pids=()
for scenario in "${SCENARIOS[@]}"; do
  IFS='|' read -r name manifest path vars <<<"$scenario"
  if [ -n "${BENCH_ONLY:-}" ] && [ "$BENCH_ONLY" != "$name" ]; then continue; fi
  for nodelay in on off; do
    flag=""; [ "$nodelay" = on ] && flag="--tcp-nodelay"  # off: as Spin serves
    read -r pid port <<<"$(start_server "$manifest" "$path" "$vars" "$flag")"
    names+=("$name $nodelay"); urls+=("http://127.0.0.1:$port$path"); pids+=("$pid")
  done
done
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$STATE_ROOT"' EXIT

results=""
for run in $(seq 1 "$RUNS"); do
  for index in "${!names[@]}"; do
    read -r rps p50 p99 <<<"$(wrk_once "${urls[$index]}")"
    results+="$run ${names[$index]} $rps $p50 $p99"$'\n'
  done
done

printf '%s' "$results" | python3 -c "$(cat <<'PY'
import collections, statistics, sys

rows = collections.defaultdict(dict)  # (name, nodelay) -> run -> (rps, p50, p99)
for line in sys.stdin:
    run, name, nodelay, rps, p50, p99 = line.split()
    rows[(name, nodelay)][run] = tuple(map(float, (rps, p50, p99)))


def ratio(a, b, column=0):
    """Median over runs of a/b, both measured in the same run."""
    return statistics.median(rows[a][run][column] / rows[b][run][column] for run in rows[a])


print(f"\n{'scenario':<20} {'tcp_nodelay':<12} {'req/s':>12} {'p50 ms':>10} {'p99 ms':>10}")
for (name, nodelay), runs in rows.items():
    rps, p50, p99 = (statistics.median(column) for column in zip(*runs.values()))
    print(f"{name:<20} {nodelay:<12} {rps:>12.0f} {p50:>10.2f} {p99:>10.2f}")
print()
for name in dict.fromkeys(name for name, _ in rows):
    on, off = (name, "on"), (name, "off")
    print(f"{name:<20} on/off: req/s x{ratio(on, off):.2f}, p50 x{ratio(on, off, 1):.2f}")
cached, uncached = ("catalog-cached", "on"), ("catalog-uncached", "on")
if cached in rows and uncached in rows:
    per_run = [rows[cached][run][0] / rows[uncached][run][0] for run in sorted(rows[cached])]
    listed = ", ".join(f"x{value:.2f}" for value in per_run)
    print(f"catalog cached/uncached req/s: x{statistics.median(per_run):.2f}, median of runs ({listed}); target: at least x3")
PY
)"
echo "($RUNS runs of $DURATION each, scenarios interleaved within a run, $CONNECTIONS connections, $THREADS wrk threads; medians)"
