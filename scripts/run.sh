#!/usr/bin/env bash
# README command 1: set up, migrate, load the historical record, serve on
# http://127.0.0.1:8000 (PORT=8001 bash scripts/run.sh for another port), with the task
# worker (manage.py db_worker) beside it.
# DEBUG=1 and the SECRET_KEY come from the .env that setup writes on its first run (as for
# every manage.py command); DEBUG=0 ALLOWED_HOSTS=127.0.0.1 bash scripts/run.sh tries the
# production settings. Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/setup.sh
source scripts/setup.sh

port="${PORT:-8000}"

echo "run: migrating the database"
python manage.py migrate --noinput

echo "run: loading the historical record (fixtures/; loading again changes nothing)"
python manage.py load_record

echo "run: collecting static files (served by WhiteNoise when DEBUG is off)"
python manage.py collectstatic --noinput --verbosity 0

echo "run: starting the task worker (large imports from the admin; stops with the server)"
python manage.py db_worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT

echo "run: serving on http://127.0.0.1:$port/ (admin: /admin/; Ctrl-C stops)"
python manage.py runserver "127.0.0.1:$port"
