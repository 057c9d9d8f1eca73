"""Every command the README shows works as written on a fresh clone, after its set-up.

The README's ```sh blocks are read. Each `.venv/bin/python manage.py ...` command in them is run
(once as it is, without the options in [brackets], and once with all of them), and so are the
scripts in SAFE_SCRIPTS; every other `scripts/*.sh` command, and a manage.py command that cannot
run here, is in SKIPPED with the reason. They run in a copy of the checkout as a clone of it
would have it (the files git tracks, or would track) with the .venv this suite runs in linked
in, from a clean shell: no DEBUG, SECRET_KEY or DATABASE_URL, nothing but what
`bash scripts/setup.sh` writes there (its .env), on the copy's own SQLite database.
"""

import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# Run as written: safe, and needing neither the network nor a server.
SAFE_SCRIPTS = {"scripts/setup.sh"}

# Shown in the README, not run here. A README script must be here or in SAFE_SCRIPTS; a
# manage.py command is run unless it is here.
SKIPPED = {
    "scripts/run.sh": "serves until stopped; its other steps (setup, migrate, load_record, "
    "collectstatic) run here",
    "scripts/test.sh": "runs the whole suite, this test included; CI runs it",
    "scripts/lock.sh": "asks PyPI over the network and rewrites requirements.lock",
    "scripts/audit.sh": "asks vulnerability services over the network",
    "runserver": "serves until stopped",
    "db_worker": "works until stopped",
}

# The files the README's commands name, small and valid, written into the copy. Towns and
# partnerships of the historical record (loaded as scripts/run.sh does) are the subjects.
INPUTS = {
    "list.csv": (
        "municipality_a,country_a,municipality_b,country_b,kind,start\n"
        "Lörrach,DE,Sens,FR,official,1966\n"
    ),
    "towns.csv": "name,country,kind,population\nNeustadt an der Weinstraße,DE,city,53000\n",
    "events.csv": (
        "kind,date,title,municipality_a,country_a,municipality_b,country_b,partnership_kind\n"
        "visit,2025-05,Youth exchange,Ludwigsburg,DE,Montbéliard,FR,official\n"
    ),
    "networks.csv": (
        "network,municipality,country,joined\n"
        "Rhine towns,Ludwigsburg,DE,2001\n"
        "Rhine towns,Montbéliard,FR,2003\n"
    ),
    "changes.csv": (
        "date,status,municipality_a,country_a,municipality_b,country_b,partnership_kind\n"
        "2025-06,active,Ludwigsburg,DE,Montbéliard,FR,official\n"
    ),
}

# What a clean shell has; nothing that configures the settings.
SHELL_VARIABLES = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TERM"}


def readme_commands():
    """(key, line) of each README command this test knows about, in the README's order: the key
    is the script (`scripts/setup.sh`) or the manage.py command (`migrate`)."""
    text = README.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                words.pop(0)  # VARIABLE=value before the command
            if words[:2] == [".venv/bin/python", "manage.py"] and len(words) > 2:
                found.append((words[2], line.split(" #")[0].strip()))
            elif words[:1] == ["bash"] and len(words) > 1 and words[1].startswith("scripts/"):
                found.append((words[1], line.split(" #")[0].strip()))
    return found


def forms(line):
    """The argument lists to run for a README line: with all its [options], then without."""
    with_options = shlex.split(re.sub(r"\[([^\]]*)\]", r"\1", line))
    without = shlex.split(re.sub(r"\s*\[[^\]]*\]", "", line))
    return [with_options, without] if with_options != without else [without]


def run_in(copy, argv, **env):
    shell = {k: v for k, v in os.environ.items() if k in SHELL_VARIABLES}
    return subprocess.run(  # noqa: S603 - the README's own commands, in a temporary copy
        argv, cwd=copy, env={**shell, **env}, capture_output=True, text=True, check=False
    )


def explain(argv, result):
    return f"`{shlex.join(argv)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the checkout as a fresh clone has it, after `bash scripts/setup.sh` and the
    other steps of scripts/run.sh (migrate, load_record, collectstatic), all but serving."""
    venv = Path(sys.prefix)
    lock = hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()
    stamp = venv / ".lock-sha256"
    if not stamp.exists() or stamp.read_text().strip() != lock:
        pytest.fail(
            f"{venv} is not set up from this requirements.lock (run `bash scripts/setup.sh`); "
            "setup in the copy would install into it."
        )
    copy = tmp_path_factory.mktemp("fresh-clone")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() or source.is_symlink():  # a deleted, not yet committed file: not
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name, follow_symlinks=False)
    (copy / ".venv").symlink_to(venv, target_is_directory=True)
    for name, text in INPUTS.items():
        (copy / name).write_text(text, encoding="utf-8")

    setup = run_in(copy, ["bash", "scripts/setup.sh"])
    for argv in (
        [".venv/bin/python", "manage.py", "migrate", "--noinput"],
        [".venv/bin/python", "manage.py", "load_record"],
        [".venv/bin/python", "manage.py", "collectstatic", "--noinput"],
    ):
        result = run_in(copy, argv)
        assert result.returncode == 0, explain(argv, result)
    return copy, setup


def test_the_readme_shows_the_commands_this_test_runs():
    keys = [key for key, _ in readme_commands()]
    assert {"scripts/setup.sh", "createsuperuser", "migrate", "load_record"} <= set(keys)
    scripts = {key for key in keys if key.startswith("scripts/")}
    assert scripts - SAFE_SCRIPTS - set(SKIPPED) == set(), "README scripts neither run nor listed"


def test_setup_writes_a_private_env_with_debug_and_a_random_key(clone):
    copy, setup = clone
    assert setup.returncode == 0, explain(["bash", "scripts/setup.sh"], setup)
    assert "setup: wrote .env (DEBUG=1 and a random SECRET_KEY, for this laptop only)\n" in (
        setup.stdout
    )
    env_file = copy / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = [line for line in env_file.read_text().splitlines() if not line.startswith("#")]
    assert values[0] == "DEBUG=1"
    assert re.fullmatch(r"SECRET_KEY=[A-Za-z0-9_-]{60,}", values[1])
    assert len(values) == 2

    before = env_file.read_bytes()
    again = run_in(copy, ["bash", "scripts/setup.sh"])
    assert (again.returncode, "setup: .env ok (kept as it is)\n" in again.stdout) == (0, True)
    assert env_file.read_bytes() == before


def test_git_ignores_the_env_file():
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", ".env"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, ".env\n")


@pytest.mark.parametrize(
    ("key", "line"),
    [command for command in readme_commands() if not command[0].startswith("scripts/")],
    ids=[line for key, line in readme_commands() if not key.startswith("scripts/")],
)
def test_readme_manage_py_command_works_as_written(clone, key, line):
    if key in SKIPPED:
        pytest.skip(SKIPPED[key])
    copy, _ = clone
    env = {}
    if key == "createsuperuser":
        # The README's interactive command, answered by Django's documented variables.
        env = {
            "DJANGO_SUPERUSER_USERNAME": "officer",
            "DJANGO_SUPERUSER_EMAIL": "officer@example.org",
            "DJANGO_SUPERUSER_PASSWORD": "a-long-readme-test-password",
        }
    for argv in forms(line):
        if key == "createsuperuser":
            argv = [*argv, "--noinput"]
        result = run_in(copy, argv, **env)
        assert result.returncode == 0, explain(argv, result)
