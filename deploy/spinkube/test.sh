#!/usr/bin/env bash
# Renders every region overlay with kubectl kustomize and validates each object: core kinds
# against Kubernetes' JSON schemas (kubernetes-validate, offline), SpinApp and
# SpinAppExecutor against the spin-operator CRDs in schema/; then checks region, topology,
# secrets, probes and references, and the Akamai Functions variables files in
# ../akamai (validate.py). Ends with `N passed, N failed`.
#
# Installs what it lacks into a virtualenv (idempotent; as root on a fresh Debian it also
# apt-get installs python3-venv). Runs before `cargo test` in scripts/test.sh.
#   KUBERNETES_VERSION=1.33.0   schemas to validate against
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${DEPLOY_VENV:-$HOME/.cache/course-platform/deploy-venv}"

if ! python3 -c 'import ensurepip, venv' 2> /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv > /dev/null \
    || { apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv > /dev/null; }
fi
# Reinstall only when requirements.txt changed since the last install.
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2> /dev/null)" != "$want" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" > "$stamp"
fi

# Render a copy whose overlays hold their committed example secrets: the real files are
# gitignored and never on a CI machine.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$HERE" "$work/spinkube"
for overlay in "$work"/spinkube/overlays/*/; do
  for example in "$overlay"*.example; do cp "$example" "${example%.example}"; done
done

"$VENV/bin/python" "$HERE/validate.py" "$VENV/bin/kubectl" "$work/spinkube" "$ROOT/spin.toml"
