#!/usr/bin/env bash
# Builds every workspace package with a cdylib target (the Spin components and test fixtures)
# for wasm32-wasip2 in release mode. New components need no change here.
#
# Cargo builds into $CARGO_TARGET_DIR (a shared cache keeps CI and tests fast); the .wasm files
# are then copied to <repo>/target/wasm32-wasip2/release/, where every manifest's `source`
# names them relative to its own folder, as Spin (and spin-test-host) resolve them.
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

built="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/wasm32-wasip2/release"
wanted="$PWD/target/wasm32-wasip2/release"
if [ "$(cd "$built" && pwd -P)" != "$(mkdir -p "$wanted" && cd "$wanted" && pwd -P)" ]; then
  for package in $packages; do
    file="${package//-/_}.wasm"
    # -p keeps the mtime, so unchanged components keep their compile-cache entries.
    cp -p "$built/$file" "$wanted/$file"
  done
  echo "build-wasm.sh: copied the .wasm files from $built to $wanted" >&2
fi
