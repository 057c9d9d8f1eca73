#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml: exact versions and hashes of every
# (transitive) dependency, dev and geocode extras included, one file for every platform and for
# Python 3.12 and newer. uv is installed into a throwaway venv and removed afterwards.
#
#   bash scripts/lock.sh                          keep current pins where still allowed
#   bash scripts/lock.sh --upgrade                newest allowed versions of everything
#   bash scripts/lock.sh --upgrade-package django just one package
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh --find-python-only

COMPILE=(uv pip compile pyproject.toml --extra dev --extra geocode --universal --generate-hashes
    --python-version 3.12 -o requirements.lock)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "lock: installing uv into a throwaway venv"
"$TWINNING_PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet uv >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; exit 1; }

echo "lock: ${COMPILE[*]}${*:+ $*}"
PATH="$tmp/venv/bin:$PATH" "${COMPILE[@]}" --no-header --quiet "$@"

{
    echo "# Exact versions and hashes of every dependency of pyproject.toml, dev and geocode extras included."
    echo "# Do not edit by hand. Regenerate with:  bash scripts/lock.sh [--upgrade]"
    echo "# which runs (with uv from a throwaway venv):"
    echo "#    ${COMPILE[*]}"
    echo "# Install with:  pip install --require-hashes -r requirements.lock"
    cat requirements.lock
} >"$tmp/lock"
mv "$tmp/lock" requirements.lock
echo "lock: wrote requirements.lock ($(grep -c '^[a-z]' requirements.lock) packages)"
