#!/usr/bin/env bash
# README command 2: lint, format check, bandit, Django's system checks, the migration check and the
# whole test suite. Stops at the first failing step. Extra arguments go to pytest:
#   bash scripts/test.sh -k partnership -x
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/twinning bash scripts/test.sh
# On PostgreSQL pytest-django creates and drops its own test_<name> database; the named
# database itself need not exist.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

# Test the production settings (DEBUG off) with a fixed key that is never used for real.
unset DEBUG
# ... and reads no local .env (setup.sh writes one with DEBUG=1 for a laptop; empty: no file).
export TWINNING_ENV_FILE=""
export SECRET_KEY="${SECRET_KEY:-insecure-fixed-key-for-scripts-test-sh-only-never-in-production}"

step() {
    local name="$1"
    shift
    echo "test: $name"
    if ! "$@"; then
        echo >&2
        echo "test: FAILED: $name ($*)" >&2
        exit 1
    fi
}

if [[ -z "${DATABASE_URL:-}" ]]; then
    echo "test: database: SQLite (DATABASE_URL unset)"
else
    # Say which database (password masked) and make sure PostgreSQL answers before we start.
    python - <<'PY' || exit 1
import os
import sys
from urllib.parse import urlsplit

import dj_database_url

url = os.environ["DATABASE_URL"]
parts = urlsplit(url)
shown = url
if parts.password:
    host = parts.netloc.rpartition("@")[2]
    shown = parts._replace(netloc=f"{parts.username}:***@{host}").geturl()
try:
    db = dj_database_url.parse(url)
except Exception as exc:
    sys.exit(f"test: DATABASE_URL={shown} cannot be parsed: {exc}")
engine = db["ENGINE"]
print(f"test: database: {shown} ({engine.rsplit('.', 1)[-1]})")
if "postgresql" in engine or "postgis" in engine:
    import psycopg

    # Django creates the test database from the maintenance database "postgres".
    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": 5,
    }
    try:
        psycopg.connect(**{k: v for k, v in params.items() if v is not None}).close()
    except psycopg.Error as exc:
        where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}"
        sys.exit(
            f"test: ERROR: cannot connect to PostgreSQL at {where} as {db.get('USER') or 'default user'}:\n"
            f"  {str(exc).strip()}\n"
            "  Start the server (e.g. `service postgresql start`), fix DATABASE_URL, "
            "or unset DATABASE_URL to test on SQLite."
        )
PY
fi

step "ruff check" ruff check .
step "ruff format --check" ruff format --check .
step "bandit" bandit -c pyproject.toml -r registry twinning bench scripts -q
step "manage.py check" python manage.py check
# The migration check needs no real database: an in-memory SQLite one avoids creating files
# or warning about a PostgreSQL database that does not exist.
step "makemigrations --check" env DATABASE_URL=sqlite://:memory: \
    python manage.py makemigrations --check --dry-run
if [[ $# == 0 && ! -d tests ]]; then
    # pytest would search the whole tree and, with warnings as errors, crash on its own warning
    echo "test: no tests/ directory yet: no tests ran"
    exit 5 # pytest's own code for 'no tests collected'
fi

# The browser tests (tests/browser/) drive Debian's Chromium through Playwright; Playwright's
# own browser download is never used. Install the package where it is missing, or fail:
# CI must not pass by silently skipping them. TWINNING_SKIP_BROWSER=1 skips them on purpose.
CHROMIUM=/usr/bin/chromium
if [[ "${TWINNING_SKIP_BROWSER:-}" == 1 ]]; then
    echo "test: browser tests skipped (TWINNING_SKIP_BROWSER=1)"
elif [[ ! -x "$CHROMIUM" ]]; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo >&2
        echo "test: ERROR: $CHROMIUM is missing; the browser tests need Debian's Chromium." >&2
        echo "  Install it (e.g. sudo apt-get install chromium), or skip the browser tests" >&2
        echo "  explicitly with TWINNING_SKIP_BROWSER=1." >&2
        exit 1
    fi
    echo "test: installing Debian package chromium (for the browser tests)"
    if ! (
        _setup_quietly "apt-get update" apt-get update -qq
        _setup_quietly "installing chromium" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends chromium
    ); then
        echo "test: ERROR: could not install chromium for the browser tests (output above);" >&2
        echo "  install it by hand, or skip them explicitly with TWINNING_SKIP_BROWSER=1." >&2
        exit 1
    fi
    if [[ ! -x "$CHROMIUM" ]]; then
        echo "test: ERROR: the chromium package installed, but $CHROMIUM is not there." >&2
        exit 1
    fi
fi

echo "test: pytest${*:+ $*}"
exec python -m pytest "$@"
