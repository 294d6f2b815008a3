#!/usr/bin/env bash
# Reproducible check that two checkouts sharing one CARGO_TARGET_DIR each embed their own UI
# assets (components/web/build.rs). Clones this repository's HEAD twice into a temp folder,
# gives each clone a different marker in assets/app.css, makes the second clone's files
# older than the first clone's build (as for a worktree or clone made before it), then builds
# the web component in A, B and A again with the same target dir and checks that each
# web.wasm holds its own checkout's marker and not the other's.
#
#   scripts/check-web-assets.sh            # uses $CARGO_TARGET_DIR (default ~/.cache/course-platform/target)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/course-platform/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for name in a b; do
  git clone -q --no-hardlinks "$PWD" "$work/$name"
  printf '\n/* checkout-marker-%s-%s */\n' "$name" "$$" >> "$work/$name/components/web/assets/app.css"
done
# B's files are older than A's build will be, as in a checkout made earlier.
find "$work/b" -exec touch -h -d '2020-01-01 00:00:00' {} +

failed=0
build_and_check() { # checkout other
  local dir="$work/$1" wasm
  (cd "$dir" && cargo build -q --target wasm32-wasip2 --release -p web)
  wasm="$CARGO_TARGET_DIR/wasm32-wasip2/release/web.wasm"
  if grep -q "checkout-marker-$1-$$" "$wasm" && ! grep -q "checkout-marker-$2-$$" "$wasm"; then
    echo "check-web-assets.sh: checkout $1 embeds its own assets: ok"
  else
    echo "check-web-assets.sh: checkout $1 does NOT embed its own assets" >&2
    failed=1
  fi
}
build_and_check a b
build_and_check b a
build_and_check a b
exit "$failed"
