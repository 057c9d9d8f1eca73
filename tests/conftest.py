"""Plain helpers that create registry records; countries come from the migration."""

import itertools

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings
from django.utils import translation
from django.utils.text import slugify

from registry import caching
from registry.models import (
    Country,
    Event,
    ImportRun,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Source,
    StatusChange,
)
from registry.text import fold

_numbers = itertools.count(1)


def country(code):
    return Country.objects.get(code=code)


def municipality(name, code="DE", **fields):
    """A municipality in the country with ISO code ``code``; the slug is made unique."""
    fields.setdefault("slug", f"{slugify(fold(name))}-{next(_numbers)}")
    return Municipality.objects.create(name=name, country=country(code), **fields)


def partnership(first, second, kind=Partnership.Kind.OFFICIAL, **fields):
    return Partnership.objects.create(first=first, second=second, kind=kind, **fields)


def network(name, *members, **fields):
    created = Partnership.objects.create(kind=Partnership.Kind.NETWORK, name=name, **fields)
    for member in members:
        Membership.objects.create(partnership=created, municipality=member)
    return created


def a_source():
    """The source the admin's partnerships carry (it refuses to save one without)."""
    return Source.objects.get_or_create(key="test-source", defaults={"citation": "A source"})[0]


def sourced_partnership(first, second, kind=Partnership.Kind.OFFICIAL, **fields):
    """:func:`partnership` with a source, as the admin saves one."""
    created = partnership(first, second, kind, **fields)
    created.sources.add(a_source())
    return created


def sourced_network(name, *members, **fields):
    """:func:`network` with a source, as the admin saves one."""
    created = network(name, *members, **fields)
    created.sources.add(a_source())
    return created


def staff_user(username, group=None, **fields):
    user = User.objects.create_user(username, password="a-long-test-password", **fields)
    user.is_staff = True
    user.save()
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests need no slow key stretching; production keeps Django's default hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def empty_static_root(tmp_path_factory):
    """Production links content-hashed names from collectstatic's manifest (tests/test_static.py
    checks that); other tests link the plain names and need no collectstatic first. Session-wide
    and first of all fixtures, so that module-scoped ones and the live server see it too."""
    root = tmp_path_factory.mktemp("static-root")
    storages = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=root, STORAGES=storages):
        yield root


@pytest.fixture(scope="session", autouse=True)
def immediate_tasks():
    """Background tasks (a large import from the admin) run at once, in the test's process
    and transaction: no worker, and the test sees what the task did."""
    tasks = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=tasks):
        yield


@pytest.fixture(autouse=True)
def fresh_cache():
    """A test's data is rolled back, not deleted: no signal tells the cache. Each test starts
    with a new data version, so no test reads a page cached from another's data."""
    caching.forget()


@pytest.fixture(autouse=True)
def default_language(settings):
    """A request in another language leaves that language active in the thread: each test
    starts in the default language, whatever ran before it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def editor(db):
    return staff_user("editor", group="Editors")


@pytest.fixture
def reviewer(db):
    return staff_user("reviewer", group="Reviewers")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("boss", password="a-long-test-password")


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


def database_state():
    """Every row of every table as the database returns it, in primary key order: registry,
    history, auth, sessions, all."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")  # noqa: S608 (model names)
            state[model._meta.label] = cursor.fetchall()
    return state


@pytest.fixture
def koeln_lille_slug():
    """A partnership Köln – Lille, by its slug: what the import files of events and changes
    refer to."""
    return partnership(municipality("Köln"), municipality("Lille", "FR")).slug


def import_counts():
    """How many import runs, towns, partnerships, members, events and changes there are."""
    return [
        model.objects.count()
        for model in (ImportRun, Municipality, Partnership, Membership, Event, StatusChange)
    ] + [KindChange.objects.count()]
