#!/usr/bin/env bash
# Prepare this checkout to run: a Python >= 3.12, the virtualenv .venv with exactly the
# versions in requirements.lock, compiled translations, and (first run only) a local .env with
# DEBUG=1 and a random SECRET_KEY, which twinning/settings.py reads, so that every
# `.venv/bin/python manage.py ...` works as written. Safe to run again and again: a rerun with
# an unchanged lock file installs nothing, and an existing .env is never touched.
#
#   bash scripts/setup.sh                       set up (run.sh and test.sh do this first)
#   source scripts/setup.sh                     the same, and .venv/bin goes first on PATH
#   source scripts/setup.sh --find-python-only  only set TWINNING_PYTHON (used by lock.sh)
#
# PYTHON=/path/to/python3.13 picks the interpreter used to create .venv.
set -euo pipefail

TWINNING_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TWINNING_VENV="$TWINNING_ROOT/.venv"
TWINNING_MIN_PYTHON="3.12"

_setup_say() { echo "setup: $*"; }
_setup_warn() { echo "setup: warning: $*" >&2; }
_setup_die() {
    echo >&2
    echo "setup: ERROR: $*" >&2
    exit 1
}

# Run a command quietly; on failure show everything it printed, then stop.
_setup_quietly() {
    local what="$1" log
    shift
    log="$(mktemp "${TMPDIR:-/tmp}/twinning-setup.XXXXXX")"
    if ! "$@" >"$log" 2>&1; then
        echo >&2
        echo "setup: ERROR: $what failed: $*" >&2
        echo "----- output -----" >&2
        cat "$log" >&2
        echo "------------------" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
}

# Print "VERSION OK_VERSION HAS_VENV" for an interpreter, or fail if it does not run at all.
# (pyenv puts shims such as python3.13 on PATH that exit 127 unless that version is selected.)
_setup_probe() {
    "$1" -c '
import importlib.util, sys
new_enough = sys.version_info >= (3, 12)
has_venv = all(importlib.util.find_spec(m) is not None for m in ("venv", "ensurepip"))
print("%d.%d.%d" % sys.version_info[:3], int(new_enough), int(has_venv))
' 2>/dev/null
}

_setup_candidates() {
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}" v
    for v in 3.14 3.13 3.12; do
        command -v "python$v" 2>/dev/null || true
    done
    # newest first: sort by version, not alphabetically (3.13.10 after 3.13.9)
    for v in $(find "$pyenv_root/versions" -mindepth 1 -maxdepth 1 -name '3.1[2-9]*' \
        -printf '%f\n' 2>/dev/null | sort -rV); do
        echo "$pyenv_root/versions/$v/bin/python3"
    done
    for v in $(find /usr/bin -maxdepth 1 -name 'python3.1[2-9]' -printf '%f\n' 2>/dev/null |
        sort -rV); do
        echo "/usr/bin/$v"
    done
    command -v python3 2>/dev/null || true
}

# Sets TWINNING_PYTHON to the first usable interpreter, or explains what is missing.
setup_find_python() {
    local candidate info version new_enough has_venv no_venv=""
    if [[ -n "${PYTHON:-}" ]]; then
        if ! info="$(_setup_probe "$PYTHON")"; then
            _setup_warn "PYTHON=$PYTHON does not run; ignoring it and searching."
        else
            read -r version new_enough has_venv <<<"$info"
            if [[ "$new_enough" != 1 ]]; then
                _setup_warn "PYTHON=$PYTHON is Python $version, too old (need >= $TWINNING_MIN_PYTHON); ignoring it and searching."
            elif [[ "$has_venv" != 1 ]]; then
                _setup_warn "PYTHON=$PYTHON (Python $version) has no venv/ensurepip module; ignoring it and searching."
                no_venv="$PYTHON"
            else
                TWINNING_PYTHON="$PYTHON"
                TWINNING_PYTHON_VERSION="$version"
                return 0
            fi
        fi
    fi
    while IFS= read -r candidate; do
        [[ -n "$candidate" ]] || continue
        info="$(_setup_probe "$candidate")" || continue
        read -r version new_enough has_venv <<<"$info"
        [[ "$new_enough" == 1 ]] || continue
        if [[ "$has_venv" != 1 ]]; then
            no_venv="$candidate"
            continue
        fi
        TWINNING_PYTHON="$candidate"
        TWINNING_PYTHON_VERSION="$version"
        return 0
    done < <(_setup_candidates)

    echo >&2
    echo "setup: ERROR: no usable Python >= $TWINNING_MIN_PYTHON found." >&2
    if [[ -n "$no_venv" ]]; then
        echo "  $no_venv is new enough but cannot create virtualenvs (no venv/ensurepip)." >&2
        echo "  On Debian/Ubuntu:  apt-get install $(basename "$no_venv")-venv" >&2
    fi
    cat >&2 <<EOF
  Looked at: \$PYTHON, python3.14/3.13/3.12 on PATH, ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.1[2-9]*,
  /usr/bin/python3.1[2-9] and python3 ($(python3 --version 2>&1 || echo 'not found')).
  Install one, for example:
    Debian/Ubuntu:  apt-get update && apt-get install python3.13 python3.13-venv
    pyenv:          pyenv install 3.13
  or point at one:  PYTHON=/path/to/python3.13 bash scripts/setup.sh
EOF
    exit 1
}

# Is .venv there, runnable, new enough and able to run pip?
_setup_venv_ok() {
    local info version new_enough has_venv
    [[ -x "$TWINNING_VENV/bin/python" ]] || return 1
    info="$(_setup_probe "$TWINNING_VENV/bin/python")" || return 1
    read -r version new_enough has_venv <<<"$info"
    [[ "$new_enough" == 1 ]] || return 1
    "$TWINNING_VENV/bin/python" -m pip --version >/dev/null 2>&1 || return 1
    TWINNING_VENV_VERSION="$version"
}

setup_venv() {
    if _setup_venv_ok; then
        _setup_say ".venv ok (Python $TWINNING_VENV_VERSION)"
        return 0
    fi
    setup_find_python
    if [[ -e "$TWINNING_VENV" ]]; then
        _setup_say ".venv is broken or too old; recreating it with $TWINNING_PYTHON (Python $TWINNING_PYTHON_VERSION)"
        rm -rf "$TWINNING_VENV"
    else
        _setup_say "creating .venv with $TWINNING_PYTHON (Python $TWINNING_PYTHON_VERSION)"
    fi
    _setup_quietly "creating the virtualenv" "$TWINNING_PYTHON" -m venv "$TWINNING_VENV"
    _setup_venv_ok || _setup_die "the new .venv does not work; remove it and try another Python (PYTHON=...)."
}

setup_dependencies() {
    local lock="$TWINNING_ROOT/requirements.lock" stamp="$TWINNING_VENV/.lock-sha256" sum
    [[ -f "$lock" ]] || _setup_die "requirements.lock is missing; regenerate it with: bash scripts/lock.sh"
    sum="$(sha256sum "$lock" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" ]]; then
        _setup_say "dependencies up to date (requirements.lock unchanged)"
        return 0
    fi
    _setup_say "installing requirements.lock into .venv (hash-checked)"
    rm -f "$stamp"
    _setup_quietly "installing the locked dependencies" \
        "$TWINNING_VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        --require-hashes -r "$lock"
    echo "$sum" >"$stamp"
}

setup_translations() {
    local po
    po="$(find "$TWINNING_ROOT" -path "$TWINNING_VENV" -prune -o -path "$TWINNING_ROOT/.git" -prune \
        -o -path '*/locale/*' -name '*.po' -print -quit)"
    if [[ -z "$po" ]]; then
        _setup_say "no translations to compile (no locale/*.po yet)"
        return 0
    fi
    if ! command -v msgfmt >/dev/null 2>&1; then
        if [[ "$(id -u)" != 0 ]]; then
            _setup_die "msgfmt (GNU gettext) is needed to compile translations. Install it, e.g.: sudo apt-get install gettext"
        fi
        command -v apt-get >/dev/null 2>&1 ||
            _setup_die "msgfmt (GNU gettext) is needed to compile translations and apt-get is not available; install gettext."
        _setup_say "installing Debian package gettext (for msgfmt)"
        _setup_quietly "apt-get update" apt-get update -qq
        _setup_quietly "installing gettext" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends gettext
    fi
    _setup_say "compiling translations"
    # settings refuse to load without a key when DEBUG is off; compiling needs no real one
    (cd "$TWINNING_ROOT" && _setup_quietly "compiling translations" \
        env SECRET_KEY="${SECRET_KEY:-compilemessages-only}" \
        "$TWINNING_VENV/bin/python" manage.py compilemessages --ignore=.venv)
}

# A local .env for this checkout, unless there is one (yours to edit; a rerun keeps it).
setup_env_file() {
    local env_file="$TWINNING_ROOT/.env" key
    if [[ -e "$env_file" || -L "$env_file" ]]; then
        _setup_say ".env ok (kept as it is)"
        return 0
    fi
    key="$("$TWINNING_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')" ||
        _setup_die "could not generate a SECRET_KEY for .env"
    # mode 0600 from the start; noclobber: never overwrite one written meanwhile
    (umask 077 && set -o noclobber && cat >"$env_file") <<EOF
# Settings of this checkout on this laptop only, written by scripts/setup.sh on its first run.
# twinning/settings.py reads this file; a variable set in the environment wins over it.
# Never commit it (.gitignore keeps it out) and never copy it to a server: production has no
# .env, but DEBUG off and its own long random SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, ...
# in the server's environment (README: Configuration, In production).
DEBUG=1
SECRET_KEY=$key
EOF
    _setup_say "wrote .env (DEBUG=1 and a random SECRET_KEY, for this laptop only)"
}

setup_activate() {
    export VIRTUAL_ENV="$TWINNING_VENV"
    export PATH="$TWINNING_VENV/bin:$PATH"
    unset PYTHONHOME
}

if [[ "${1:-}" == "--find-python-only" ]]; then
    setup_find_python
else
    setup_venv
    setup_dependencies
    setup_translations
    setup_env_file
    setup_activate
fi
