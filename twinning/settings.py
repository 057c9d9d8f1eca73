"""Settings of the twinning registry.

Everything that differs between machines comes from the environment (on a laptop, also from
the ``.env`` that ``scripts/setup.sh`` writes); the README has a table of every variable. The
defaults are safe: SQLite in the project, ``DEBUG`` off, and no start at all in production
without a secret key.
"""

import datetime
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP, build_policy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_ENV_LINE = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)")


def read_env_file():
    """Put the variables of a local ``.env`` file (``KEY=VALUE`` lines, ``#`` comments, values
    optionally in single or double quotes) into the environment, where not set there already:
    a real environment variable always wins. ``scripts/setup.sh`` writes one for a laptop.

    The file is ``TWINNING_ENV_FILE`` if set (empty: none), else ``BASE_DIR / ".env"`` when it
    exists; under pytest none unless named, so the suite tests production settings as CI does.
    """
    name = os.environ.get("TWINNING_ENV_FILE")
    if name is None:
        path = BASE_DIR / ".env"
        if "PYTEST_VERSION" in os.environ or not path.exists():
            return
    elif not name:
        return
    else:
        path = Path(name)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured(f"Cannot read the environment file {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.fullmatch(line)
        if not match:
            raise ImproperlyConfigured(
                f"{path}, line {number}: expected KEY=VALUE (a variable name, '=', a value)."
            )
        value = match["value"]
        if value[:1] in {"'", '"'}:
            if len(value) < 2 or value[-1] != value[0]:
                raise ImproperlyConfigured(
                    f"{path}, line {number}: the value's opening {value[0]} is not closed "
                    "at the end of the line."
                )
            value = value[1:-1]
        os.environ.setdefault(match["key"], value)


read_env_file()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name, default=False):
    """Read a yes/no variable; anything unrecognised is a configuration error."""
    value = os.environ.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}."
    )


def env_int(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None


def env_list(name, default=()):
    """A comma-separated list; blanks are dropped."""
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Set DEBUG=1 for local development, "
            "or give a long random SECRET_KEY in production."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105 - DEBUG only  # nosec B105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "simple_history",
    "axes",
    "django_tasks_db",
    "registry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the app server, compressed, hashed names cached for ever.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Brute force: after AXES_FAILURE_LIMIT failed logins an account, and separately the address
# they came from (for the usernames that failed from it), is locked out for
# AXES_COOLOFF_MINUTES. The axes backend comes first, so a locked-out attempt is refused
# before any password is hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# An address is locked only for the usernames that failed from it (twinning.logins), and
# behind the proxy it is the client's, read from the proxies' X-Forwarded-For.
AXES_LOCKOUT_PARAMETERS = "twinning.logins.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "twinning.logins.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Lockouts are lifted from the shell (`manage.py axes_reset_username NAME`, `axes_reset_ip`),
# not from the admin, so the admin holds the registry's records only.
AXES_ENABLE_ADMIN = False

ROOT_URLCONF = "twinning.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

WSGI_APPLICATION = "twinning.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}

# A read replica (PostgreSQL streaming replica): reads go there, writes to the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    # In tests the replica is the primary under another name, as in production.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["twinning.routers.PrimaryReplicaRouter"]

# Redis as the shared cache of all app servers in production; local memory by default.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "twinning",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# CACHE_BACKEND=dummy caches nothing: the benchmark measures the uncached request path so.
if os.environ.get("CACHE_BACKEND") == "dummy":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

# Background work (a large import confirmed in the admin): django.tasks, by default stored in
# the database and run by `manage.py db_worker` (django-tasks-db); TASKS_BACKEND=immediate runs
# each task at once in the process that enqueues it (no worker needed; tests use it).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
}
_tasks_backend = os.environ.get("TASKS_BACKEND", "").strip() or "database"
if _tasks_backend not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)}, not {_tasks_backend!r}."
    )
TASKS = {"default": {"BACKEND": TASK_BACKENDS[_tasks_backend]}}
# An import confirmed in the admin runs in the request up to this many lines of its file;
# a larger file runs as a background task, its progress on the upload's page.
IMPORT_IN_REQUEST_ROWS = env_int("IMPORT_IN_REQUEST_ROWS", 2000)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# `collectstatic` writes content-hashed, pre-compressed copies to STATIC_ROOT; WhiteNoise serves
# them with far-future cache headers (a CDN in front of it caches them too). With DEBUG on,
# templates link the plain names, so a laptop needs no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def static_file_headers(headers, path, url):
    """WhiteNoise answers a static file before the CSP and X-Frame-Options middleware see it
    (SecurityMiddleware, before it, adds the others): give each file the policy and the framing
    rule every page has, read from the settings when WhiteNoise starts. An SVG or a stylesheet
    opened on its own is a document too."""
    from django.conf import settings

    for header, config in [
        (CSP.HEADER_ENFORCE, settings.SECURE_CSP),
        (CSP.HEADER_REPORT_ONLY, settings.SECURE_CSP_REPORT_ONLY),
    ]:
        if config:
            headers[str(header)] = build_policy(config)
    headers["X-Frame-Options"] = settings.X_FRAME_OPTIONS


WHITENOISE_ADD_HEADERS_FUNCTION = static_file_headers

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Security headers. HTTPS-only settings follow DEBUG: on in production, off on a laptop.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# A refused form's page in the site's layout; Django's own has an inline style the CSP blocks.
CSRF_FAILURE_VIEW = "twinning.views.csrf_failure"
# The language chosen in the page footer: HTTPS-only like the session, same-site like the others.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# `check --deploy --fail-level WARNING` passes in CI; what it would warn about, and why not:
SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT:
    # security.W008: the reverse proxy in front of the app servers terminates TLS and
    # redirects plain HTTP (README, "Scaling out"); SECURE_SSL_REDIRECT=1 where Django
    # itself faces the internet.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if not SECURE_HSTS_PRELOAD:
    # security.W021: entering the browsers' HSTS preload list binds every subdomain for
    # months and is the operator's decision: SECURE_HSTS_PRELOAD=1 makes it.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# Behind the HTTPS proxy (README, "In production"): the scheme from X-Forwarded-Proto, and the
# client's address from the last TRUSTED_PROXY_COUNT entries of X-Forwarded-For, the ones our
# proxies appended (twinning.logins.client_ip).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
if TRUSTED_PROXY_COUNT < 1:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT must be 1 or more (the proxies in front of the app servers); "
        f"got {TRUSTED_PROXY_COUNT}."
    )
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline script or style anywhere: the site and the admin both work under this policy.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own default handler would print every message a second time.
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # One line per failed login is noise; lockouts are warnings and still shown.
        "axes": {"level": "WARNING"},
    },
}

# Mail to staff (a correction reported on the public site), Django's MAILERS: printed to the
# console with DEBUG on (a laptop), sent through EMAIL_HOST with it off (`check --deploy`
# refuses the console in production); EMAIL_BACKEND chooses either way.
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_email_backend = os.environ.get("EMAIL_BACKEND", "").strip() or ("console" if DEBUG else "smtp")
if _email_backend not in EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}, not {_email_backend!r}."
    )
MAILERS = {"default": {"BACKEND": EMAIL_BACKENDS[_email_backend]}}
if _email_backend == "smtp":
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who is told of a reported correction: CORRECTIONS_EMAIL, else the MANAGERS, else nobody.
MANAGERS = [(address, address) for address in env_list("MANAGERS")]
CORRECTIONS_EMAIL = env_list("CORRECTIONS_EMAIL")
# How many corrections one address may report in an hour (registry.corrections).
CORRECTIONS_PER_HOUR = env_int("CORRECTIONS_PER_HOUR", 5)
if CORRECTIONS_PER_HOUR < 1:
    raise ImproperlyConfigured(
        f"CORRECTIONS_PER_HOUR must be 1 or more; got {CORRECTIONS_PER_HOUR}."
    )

# simple_history keeps who changed what; reverting goes through the admin's history view.
SIMPLE_HISTORY_REVERT_DISABLED = False
