#!/usr/bin/env bash
# README command 1: set up, migrate, load the historical record, serve on
# http://127.0.0.1:8000 (PORT=8001 bash scripts/run.sh for another port).
# DEBUG defaults to 1 here so a laptop needs no SECRET_KEY; export DEBUG=0 and a SECRET_KEY
# to try production settings. Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

export DEBUG="${DEBUG:-1}"
port="${PORT:-8000}"

echo "run: migrating the database"
python manage.py migrate --noinput

echo "run: loading the historical record (fixtures/; loading again changes nothing)"
python manage.py load_record

echo "run: collecting static files (served by WhiteNoise when DEBUG is off)"
python manage.py collectstatic --noinput --verbosity 0

echo "run: serving on http://127.0.0.1:$port/ (admin: /admin/; Ctrl-C stops)"
exec python manage.py runserver "127.0.0.1:$port"
