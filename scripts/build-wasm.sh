#!/usr/bin/env bash
# Builds every workspace package with a cdylib target (the Spin components and test fixtures)
# for wasm32-wasip2 in release mode. New components need no change here.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for package in meta["packages"]:
    if package["id"] in members and any("cdylib" in t["crate_types"] for t in package["targets"]):
        print(package["name"])
')
if [ -z "$packages" ]; then
  echo "build-wasm.sh: no cdylib packages in the workspace" >&2
  exit 0
fi
args=()
for package in $packages; do args+=(-p "$package"); done
echo "build-wasm.sh: building ${packages//$'\n'/ }" >&2
cargo build --target wasm32-wasip2 --release "${args[@]}"
