#!/usr/bin/env bash
# What the geo-router costs a cached catalog read (GET /api/courses), in one run, three
# manifests served side by side against the same database:
#   (a) catalog   the catalog alone: spin.toml without its middleware;
#   (b) floor     the catalog behind a trivial pass-through middleware (tests/fixtures/
#                 pass-through): what composing any middleware costs in this runtime;
#   (c) router    spin.toml as shipped: the catalog behind the geo-router.
# Each is served twice, without TCP_NODELAY (as Spin serves) and with it, and measured one
# request at a time and under load (BENCH_CONNECTIONS), in interleaved runs, medians printed.
# Targets: (c) within 15 % of (b) in p50 and req/s (the router's own work), and (c) at least
# 0.6x (a) in req/s under load.
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

psql -h 127.0.0.1 -U postgres -qc "drop database if exists $DB_NAME with (force)" -c "create database $DB_NAME"
DATABASE_URL="$DATABASE_URL" "$BIN/db" migrate >/dev/null
DATABASE_URL="$DATABASE_URL" "$BIN/db" seed >/dev/null

# The variants live beside spin.toml, so its relative component paths still resolve.
CATALOG="$(mktemp --suffix=.toml -p .)"
FLOOR="$(mktemp --suffix=.toml -p .)"
STATE_ROOT="$(mktemp -d)"  # the servers' state dirs
PIDS=()
cleanup() {
  [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null
  rm -f "$CATALOG" "$FLOOR"
  rm -rf "$STATE_ROOT"
}
trap cleanup EXIT
python3 - spin.toml "$CATALOG" "$FLOOR" <<'PY'
import re, sys
source, catalog, floor = sys.argv[1:]
text = open(source).read()
middleware = re.compile(r'^dependencies\.middleware = \[\{ component = "geo-router", inherit_configuration = true \}\]\n', re.M)
if len(middleware.findall(text)) < 2:
    sys.exit("bench-router.sh: spin.toml no longer puts the geo-router in front as expected")
open(catalog, "w").write(middleware.sub("", text))
open(floor, "w").write(middleware.sub(
    'dependencies.middleware = [{ component = "pass-through", inherit_configuration = true }]\n', text)
    + '\n[component.pass-through]\nsource = "target/wasm32-wasip2/release/fixture_pass_through.wasm"\n')
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # manifest nodelay(on|off) -> port
  local port state_dir flag=()
  port=$(free_port)
  [ "$2" = on ] && flag=(--tcp-nodelay)
  # Each server its own state dir (the `default` store's SQLite file), as separate apps have.
  state_dir="$(mktemp -d -p "$STATE_ROOT")"
  SPIN_VARIABLE_DATABASE_URL="$DATABASE_URL" SPIN_VARIABLE_RATE_LIMIT_REQUESTS=1000000000 \
    "$HOST" serve --manifest "$1" --listen "127.0.0.1:$port" --runtime-config-file runtime-config/local.toml \
    --state-dir "$state_dir" "${flag[@]}" >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port$PATH_UNDER_TEST" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port$PATH_UNDER_TEST" || { echo "bench-router.sh: $1 did not start" >&2; exit 1; }
  echo "$port"
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

declare -A urls results
for nodelay in off on; do
  urls[catalog-$nodelay]="http://127.0.0.1:$(start "$CATALOG" $nodelay)$PATH_UNDER_TEST"
  urls[floor-$nodelay]="http://127.0.0.1:$(start "$FLOOR" $nodelay)$PATH_UNDER_TEST"
  urls[router-$nodelay]="http://127.0.0.1:$(start spin.toml $nodelay)$PATH_UNDER_TEST"
done
# The router really is in front in (c) and not in (a): its headers say so.
curl -sfi "${urls[router-off]}" | grep -qi '^x-served-by:' || { echo "bench-router.sh: no router in (c)" >&2; exit 1; }
if curl -sfi "${urls[catalog-off]}" | grep -qi '^x-served-by:'; then echo "bench-router.sh: a router in (a)" >&2; exit 1; fi

# Interleaved, so drift in machine load hits every scenario alike.
for _ in $(seq 1 "$RUNS"); do
  for load in "1 1" "$CONNECTIONS $THREADS"; do
    read -r connections threads <<<"$load"
    for nodelay in off on; do
      for target in catalog floor router; do
        results[$target-$nodelay-$connections]+="$(wrk_once "${urls[$target-$nodelay]}" "$connections" "$threads")"$'\n'
      done
    done
  done
done
args=()
for nodelay in off on; do
  for connections in 1 "$CONNECTIONS"; do
    for target in catalog floor router; do
      args+=("${results[$target-$nodelay-$connections]}")
    done
  done
done
python3 - "$CONNECTIONS" "${args[@]}" <<'PY'
import statistics, sys
def rows(text):
    return [list(map(float, line.split())) for line in text.splitlines() if line.strip()]
def median(text, column):
    return statistics.median(row[column] for row in rows(text))
def ratio(base, other, column):
    """Median over runs of other/base for one column (0: req/s, 1: p50)."""
    return statistics.median(o[column] / b[column] for b, o in zip(rows(base), rows(other)))
connections = sys.argv[1]
texts = iter(sys.argv[2:])
names = ("(a) catalog alone", "(b) behind pass-through", "(c) behind geo-router")
print(f"{'scenario':<52}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
verdicts = []
for nodelay in ("off (as Spin)", "on"):
    for label in ("1 connection", f"{connections} connections"):
        catalog, floor, router = next(texts), next(texts), next(texts)
        for name, text in zip(names, (catalog, floor, router)):
            print(f"{'NODELAY ' + nodelay + ', ' + label + ', ' + name:<52}"
                  f"{median(text, 0):>10.0f}{median(text, 1):>10.3f}{median(text, 2):>10.3f}")
        p50 = ratio(floor, router, 1)
        rps = ratio(floor, router, 0)
        rps_alone = ratio(catalog, router, 0)
        print(f"  router's own work, (c) vs (b): p50 {(p50 - 1) * 100:+.1f}%, req/s {(rps - 1) * 100:+.1f}% (target within 15%)")
        print(f"  composition floor, (b) vs (a): p50 {(ratio(catalog, floor, 1) - 1) * 100:+.1f}%, req/s x{ratio(catalog, floor, 0):.2f}")
        print(f"  through the router, (c) vs (a): req/s x{rps_alone:.2f}" + (" (target >= x0.60)" if label != "1 connection" else ""))
        if label != "1 connection":
            verdicts.append((f"NODELAY {nodelay}, under load", p50 <= 1.15 and rps >= 0.85, rps_alone >= 0.6))
for label, own, alone in verdicts:
    print(f"verdict {label}: router's own work within 15% of the floor: {'yes' if own else 'NO'}; "
          f">= x0.6 of the catalog alone: {'yes' if alone else 'NO'}")
PY
echo "($RUNS interleaved runs of $DURATION per scenario; medians of per-run values)"
