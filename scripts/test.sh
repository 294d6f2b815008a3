#!/usr/bin/env bash
# THE test command: the deployment manifests (deploy/spinkube/test.sh), services, wasm
# components, every test of the workspace (natively, the integration tests on spin-test-host
# against real PostgreSQL and Redis), the API contract (tests/contract/run.sh: schemathesis
# against openapi.json), the browser journeys in headless Chromium (tests/e2e/run.sh), then
# the regions at WAN distances, short (scripts/bench-wan.sh ci).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"

if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

# Seconds, and needs no build: a broken deploy file fails before the long cargo run.
deploy/spinkube/test.sh
scripts/services.sh
scripts/build-wasm.sh
cargo test --workspace "$@"

# `cargo test --workspace` has just built the host and db binaries with the workspace's
# feature set; building them again alone would unify features differently and rebuild wasmtime.
CONTRACT_SKIP_BUILD=1 tests/contract/run.sh
E2E_SKIP_BUILD=1 tests/e2e/run.sh

# The three regions behind the latency/fault proxy: the geo-routed user mix with no error,
# then ap-south partitioned mid-load and healed, with the order audit (0 lost, 0 duplicated,
# every paid order enrolled once). About two minutes; each load run stops itself, and the
# whole is bounded here. Uses the binaries and wasm built above.
command -v jq >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }
WAN_SKIP_BUILD=1 timeout --kill-after=30 900 scripts/bench-wan.sh ci
