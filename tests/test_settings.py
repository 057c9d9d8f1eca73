"""Settings come from the environment, with safe defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRINT = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
    "s.ALLOWED_HOSTS)"
)


def run_settings(code=PRINT, **env):
    """Import the settings in a fresh interpreter with exactly these variables, and no .env
    (a developer's own .env in the checkout is not read: TWINNING_ENV_FILE is empty)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "ALLOWED_HOSTS",
            "DATABASE_REPLICA_URL",
            "REDIS_URL",
            "BEHIND_PROXY",
            "TRUSTED_PROXY_COUNT",
            "TIME_ZONE",
        }
    }
    clean.update({"TWINNING_ENV_FILE": ""}, **env, DJANGO_SETTINGS_MODULE="twinning.settings")
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_settings()
    assert result.returncode == 1
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_defaults_to_sqlite_in_the_project_with_debug_off():
    result = run_settings(
        SECRET_KEY="k" * 50, ALLOWED_HOSTS="twinning.example, www.twinning.example"
    )
    assert result.stdout.split("\n")[0] == (
        f"False django.db.backends.sqlite3 {ROOT / 'db.sqlite3'} "
        "['twinning.example', 'www.twinning.example']"
    )


def test_database_url_selects_postgresql():
    result = run_settings(DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/twinning")
    assert result.stdout.split("\n")[0] == (
        "True django.db.backends.postgresql twinning ['localhost', '127.0.0.1', '[::1]']"
    )


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_unreadable_debug_is_a_clear_error(value):
    result = run_settings(DEBUG=value, SECRET_KEY="k" * 50)
    assert result.returncode == 1
    assert f"DEBUG must be one of 1/0, true/false, yes/no, on/off; got {value!r}." in result.stderr


def test_behind_proxy_trusts_one_proxy_unless_told_how_many():
    code = "from django.conf import settings as s; print(s.BEHIND_PROXY, s.TRUSTED_PROXY_COUNT)"
    assert run_settings(code, SECRET_KEY="k" * 50).stdout == "False 1\n"
    on = run_settings(code, SECRET_KEY="k" * 50, BEHIND_PROXY="1", TRUSTED_PROXY_COUNT="2")
    assert on.stdout == "True 2\n"


@pytest.mark.parametrize("value", ["0", "-1"])
def test_no_trusted_proxy_is_a_clear_error(value):
    result = run_settings(SECRET_KEY="k" * 50, BEHIND_PROXY="1", TRUSTED_PROXY_COUNT=value)
    assert result.returncode == 1
    assert (
        "TRUSTED_PROXY_COUNT must be 1 or more (the proxies in front of the app servers); "
        f"got {value}." in result.stderr
    )


def test_replica_url_adds_a_replica_that_tests_mirror_to_the_primary():
    code = (
        "from django.conf import settings as s; r = s.DATABASES['replica']; "
        "print(sorted(s.DATABASES), r['ENGINE'], r['HOST'], r['TEST']['MIRROR'])"
    )
    result = run_settings(
        code,
        DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/twinning",
        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/twinning",
    )
    assert result.stdout == (
        "['default', 'replica'] django.db.backends.postgresql replica.internal default\n"
    )


def test_redis_url_selects_the_shared_redis_cache():
    code = (
        "from django.core.cache import caches; import uuid; key = uuid.uuid4().hex; "
        "cache = caches['default']; "
        "cache.set(key, 'kept', 10); print(type(cache).__name__, cache.get(key)); "
        "cache.delete(key)"
    )
    assert run_settings(code, DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/0").stdout == (
        "RedisCache kept\n"
    )
    assert run_settings(code, DEBUG="1").stdout == "LocMemCache kept\n"


def test_deployment_checks_pass_with_production_settings():
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}},
            "TWINNING_ENV_FILE": "",
            "SECRET_KEY": "x9!" * 20 + "production-like-secret-key",
            "ALLOWED_HOSTS": "twinning.example",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "System check identified no issues (2 silenced).\n"


ENV_PRINT = "from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY, s.TIME_ZONE)"


def env_file(tmp_path, text):
    path = tmp_path / "local.env"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    path = env_file(
        tmp_path,
        "# for this laptop only\n"
        "\n"
        "DEBUG=1\n"
        "  SECRET_KEY = 'a key with # and = in it'  \n"
        'TIME_ZONE="Europe/Helsinki"\n',
    )
    assert run_settings(ENV_PRINT, TWINNING_ENV_FILE=path).stdout == (
        "True a key with # and = in it Europe/Helsinki\n"
    )
    result = run_settings(ENV_PRINT, TWINNING_ENV_FILE=path, DEBUG="0", SECRET_KEY="k" * 50)
    assert result.stdout == f"False {'k' * 50} Europe/Helsinki\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("DEBUG", "line 2: expected KEY=VALUE (a variable name, '=', a value)."),
        ("SECRET KEY=x", "line 2: expected KEY=VALUE (a variable name, '=', a value)."),
        (
            "SECRET_KEY='unclosed",
            "line 2: the value's opening ' is not closed at the end of the line.",
        ),
    ],
)
def test_a_malformed_env_file_line_is_a_clear_error_naming_the_line(tmp_path, line, message):
    path = env_file(tmp_path, f"# a comment\n{line}\nDEBUG=1\n")
    result = run_settings(TWINNING_ENV_FILE=path)
    assert result.returncode == 1
    assert f"django.core.exceptions.ImproperlyConfigured: {path}, {message}\n" in result.stderr


def test_a_named_env_file_that_is_missing_is_an_error(tmp_path):
    path = tmp_path / "missing.env"
    result = run_settings(TWINNING_ENV_FILE=str(path))
    assert result.returncode == 1
    assert f"Cannot read the environment file {path}: [Errno 2]" in result.stderr


@pytest.mark.parametrize(
    ("env_text", "under_pytest", "debug"),
    [("DEBUG=1\n", False, True), (None, False, None), ("DEBUG=1\n", True, None)],
    ids=["read-when-there", "none-there", "not-read-under-pytest"],
)
def test_the_checkouts_own_env_file(tmp_path, env_text, under_pytest, debug):
    """Without TWINNING_ENV_FILE the settings read BASE_DIR/.env if there is one, except under
    pytest (the suite tests production settings, as CI does); without it and without a key
    they refuse to start. Run on a copy of the settings module, so that the developer's own
    .env is neither read nor touched."""
    (tmp_path / "twinning").mkdir()
    (tmp_path / "twinning" / "__init__.py").write_text("")
    (tmp_path / "twinning" / "settings.py").write_text(
        (ROOT / "twinning" / "settings.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    if env_text is not None:
        (tmp_path / ".env").write_text(env_text)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "TWINNING_ENV_FILE", "PYTEST_VERSION"}
    }
    if under_pytest:
        env["PYTEST_VERSION"] = "9.2.0"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "from twinning import settings; print(settings.DEBUG)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if debug is None:
        assert result.returncode == 1
        assert "SECRET_KEY must be set when DEBUG is off." in result.stderr
    else:
        assert (result.returncode, result.stdout, result.stderr) == (0, f"{debug}\n", "")


def test_mail_to_staff_is_printed_on_a_laptop_and_sent_by_smtp_in_production():
    code = (
        "from django.conf import settings; m = settings.MAILERS['default']; "
        "print(m['BACKEND'].rsplit('.', 2)[-2], m.get('OPTIONS', {}).get('host'), "
        "settings.CORRECTIONS_EMAIL, settings.CORRECTIONS_PER_HOUR)"
    )
    assert run_settings(code, DEBUG="1").stdout == "console None [] 5\n"
    assert run_settings(code, SECRET_KEY="k" * 50).stdout == "smtp localhost [] 5\n"
    assert (
        run_settings(
            code,
            DEBUG="1",
            EMAIL_BACKEND="smtp",
            EMAIL_HOST="mail.example",
            CORRECTIONS_EMAIL="a@example.org, b@example.org",
            CORRECTIONS_PER_HOUR="20",
        ).stdout
        == "smtp mail.example ['a@example.org', 'b@example.org'] 20\n"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "EMAIL_BACKEND",
            "pigeon",
            "EMAIL_BACKEND must be one of console, smtp, dummy, not 'pigeon'.",
        ),
        ("CORRECTIONS_PER_HOUR", "0", "CORRECTIONS_PER_HOUR must be 1 or more; got 0."),
    ],
)
def test_wrong_mail_settings_stop_the_start(variable, value, message):
    result = run_settings(DEBUG="1", **{variable: value})
    assert f"django.core.exceptions.ImproperlyConfigured: {message}\n" in result.stderr
