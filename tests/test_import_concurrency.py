"""Two imports at once, and an import meeting another writer.

On PostgreSQL with two real connections: imports run one after the other (an advisory lock
held until the import's transaction ends), and the second matches what the first wrote. On
SQLite, which lets one writer in at a time, an import that cannot get in says so in a line.
"""

import io
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from conftest import import_counts, municipality
from django.core.management import call_command
from django.db import connection, transaction

from registry.importing import runner
from registry.models import (
    ImportRun,
    Municipality,
)

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs two concurrent connections; SQLite admits one writer at a time",
)

# Each command with a file of two rows; {slug}: Köln – Lille's.
FILES = {
    "import_partnerships": (
        "municipality_a,country_a,municipality_b,country_b\n"
        "Bonn,DE,Oxford,GB\nOxford,GB,Grenoble,FR\n"
    ),
    "import_municipalities": "name,country\nBonn,DE\nOxford,GB\n",
    "import_networks": "network,municipality,country\nHanse,Bonn,DE\nHanse,Oxford,GB\n",
    "import_events": (
        "kind,date,title,municipality_a,country_a\n"
        "visit,1990,Choir visit,Köln,DE\nvisit,1991,Band visit,Lille,FR\n"
    ),
    "import_changes": "date,status,partnership\n1965,dormant,{slug}\n1975,active,{slug}\n",
}


def start(name, command, path, results):
    """Run the command in a thread of its own, with its own connection; the outcome goes
    to ``results[name]``: ("ok" or the error, stdout, stderr)."""

    def target():
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(command, str(path), stdout=out, stderr=err)
            outcome = "ok"
        except Exception as error:  # noqa: BLE001 - the test reports it
            outcome = f"{type(error).__name__}: {error}"
        finally:
            connection.close()
        results[name] = (outcome, out.getvalue(), err.getvalue())

    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


@pytest.fixture
def held_open(monkeypatch):
    """The import run by the thread named "first" holds its transaction open, all written,
    until ``release`` is set; ``written`` is set when it has got there."""
    written, release = threading.Event(), threading.Event()
    original = runner.data_changed  # called last in every import's transaction

    def data_changed():
        if threading.current_thread().name == "first":
            written.set()
            release.wait(20)
        original()

    monkeypatch.setattr(runner, "data_changed", data_changed)
    return written, release


def blocked_or_done(name, results, timeout=10):
    """Wait until the thread ``name`` is done, or some connection waits for a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if name in results:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"{name} neither finished nor waited")


@postgresql_only
@pytest.mark.parametrize("command", list(FILES))
def test_two_imports_of_one_file_at_once_run_one_after_the_other(
    tmp_path, koeln_lille_slug, held_open, command
):
    path = tmp_path / "list.csv"
    path.write_text(FILES[command].format(slug=koeln_lille_slug), encoding="utf-8")
    written, release = held_open
    before = import_counts()
    results = {}
    first = start("first", command, path, results)
    assert written.wait(10)
    second = start("second", command, path, results)
    blocked_or_done("second", results)
    release.set()
    first.join(20)
    second.join(20)
    outcome, out, err = results["first"]
    assert (outcome, err) == ("ok", "")
    assert out.splitlines()[-1] == f"Imported as run {ImportRun.objects.get().pk}."
    after_first = import_counts()
    outcome, out, err = results["second"]
    assert (outcome, out.splitlines()[-1:], err) == (
        "ok",
        ["Nothing new: nothing was written, and no import run recorded."],
        "Another import is running; waiting for it to end ...\n",
    )
    assert re.search(r"\n  already in the registry +2\n", out)
    assert after_first == import_counts() != before


@postgresql_only
def test_the_second_import_matches_the_towns_the_first_wrote(tmp_path, held_open):
    """It reads the registry after the first has committed: Bonn and Oxford are the first's
    towns, not created again."""
    first_file, second_file = tmp_path / "first.csv", tmp_path / "second.csv"
    header = "municipality_a,country_a,municipality_b,country_b\n"
    first_file.write_text(f"{header}Bonn,DE,Oxford,GB\n", encoding="utf-8")
    second_file.write_text(f"{header}Oxford,GB,Bonn,DE\nOxford,GB,Grenoble,FR\n", "utf-8")
    written, release = held_open
    results = {}
    first = start("first", "import_partnerships", first_file, results)
    assert written.wait(10)
    second = start("second", "import_partnerships", second_file, results)
    blocked_or_done("second", results)
    release.set()
    first.join(20)
    second.join(20)
    assert results["first"][0] == "ok"
    outcome, out, _ = results["second"]
    assert outcome == "ok"
    runs = list(ImportRun.objects.order_by("pk"))
    assert out == (
        "Imported:\n"
        "  rows read                2\n"
        "  rows rejected            0\n"
        "  municipalities created   1\n"
        "  municipalities matched   2\n"
        "  partnerships created     1\n"
        "  duplicates merged        0\n"
        "  already in the registry  1\n"
        f"Imported as run {runs[1].pk}.\n"
    )
    assert sorted(
        Municipality.objects.values_list("name", "partner_count", "import_run__file_name")
    ) == [
        ("Bonn", 1, str(first_file)),
        ("Grenoble", 1, str(second_file)),
        ("Oxford", 2, str(first_file)),
    ]


@postgresql_only
def test_a_town_saved_meanwhile_in_the_admin_stops_the_import_with_one_line(tmp_path):
    """A save in the admin takes no import lock: the import meets its town in the unique
    index, writes nothing and says that a rerun will match it; the rerun does."""
    path = tmp_path / "list.csv"
    path.write_text(
        "municipality_a,country_a,municipality_b,country_b\nBonn,DE,Oxford,GB\n", "utf-8"
    )
    saved, release = threading.Event(), threading.Event()

    def staff():
        try:
            with transaction.atomic():
                municipality("Oxford", "GB", slug="oxford")  # the slug the import gives it
                saved.set()
                release.wait(20)
        finally:
            connection.close()

    other = threading.Thread(target=staff)
    other.start()
    assert saved.wait(10)
    results = {}
    importer = start("import", "import_partnerships", path, results)
    blocked_or_done("import", results)  # at the unique index, until the save commits
    release.set()
    other.join(20)
    importer.join(20)
    assert results["import"] == (
        f"CommandError: {path}: someone else wrote the same records at the same moment "
        "(municipality_unique_slug); nothing was imported. Run the import again: it will "
        "match what they wrote.",
        "",
        "",
    )
    assert (ImportRun.objects.count(), list(Municipality.objects.values_list("name"))) == (
        0,
        [("Oxford",)],
    )
    out = io.StringIO()
    call_command("import_partnerships", str(path), stdout=out, stderr=io.StringIO())
    assert "  municipalities matched   1\n" in out.getvalue()
    assert sorted(Municipality.objects.values_list("name", "slug")) == [
        ("Bonn", "bonn"),
        ("Oxford", "oxford"),
    ]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own lock")
def test_an_import_that_cannot_get_sqlites_write_lock_says_so_in_one_line(tmp_path):
    """In a separate process on a file database (a copy of the test database), while
    another connection holds the write lock: after the connection's timeout the import
    gives up, writes nothing and says so; once the lock is free it imports."""
    database = tmp_path / "db.sqlite3"
    connection.ensure_connection()
    copy = sqlite3.connect(database)
    try:
        connection.connection.backup(copy)
    finally:
        copy.close()
    path = tmp_path / "list.csv"
    path.write_text(
        "municipality_a,country_a,municipality_b,country_b\nBonn,DE,Oxford,GB\n", "utf-8"
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}?timeout=1"}

    def command():
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "import_partnerships", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer, as long as this test likes
        result = command()
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert (result.returncode, result.stderr, result.stdout) == (
        1,
        f"CommandError: {path}: the database is busy with another write (another import?) "
        "and stayed so too long; nothing was imported. Run the import again when it is "
        "done.\n",
        "",
    )
    result = command()
    with closing(sqlite3.connect(database)) as copy:  # (a connection's `with` does not close)
        # Its number is the database's next one: a transactional test before this one (the
        # browser's admin import) may have used 1, as flushing a table keeps its sequence.
        runs = copy.execute("SELECT id FROM registry_importrun").fetchall()
    assert len(runs) == 1
    assert (result.returncode, result.stderr, result.stdout.splitlines()[-1]) == (
        0,
        "",
        f"Imported as run {runs[0][0]}.",
    )


@postgresql_only
def test_a_revert_waits_for_the_import_running_and_keeps_the_towns_it_uses(tmp_path, held_open):
    """Reverting a run takes the imports' lock: while an import that gives one of the run's
    towns a partnership holds it, the revert waits, and then keeps that town, in use now.
    (Without the lock the revert finds the town unused, deletes it, and fails on its key
    when the import commits.)"""
    towns, pairs = tmp_path / "towns.csv", tmp_path / "pairs.csv"
    towns.write_text("name,country\nBonn,DE\nOxford,GB\n", encoding="utf-8")
    pairs.write_text(
        "municipality_a,country_a,municipality_b,country_b\nBonn,DE,Grenoble,FR\n", "utf-8"
    )
    call_command("import_municipalities", str(towns), stdout=io.StringIO())
    reverted_run = ImportRun.objects.get()
    written, release = held_open
    results = {}
    importer = start("first", "import_partnerships", pairs, results)
    assert written.wait(10)

    def revert():
        try:
            counts = ImportRun.objects.get(pk=reverted_run.pk).revert(None)
            results["revert"] = {model.__name__: count for model, count in counts.items()}
        except Exception as error:  # noqa: BLE001 - the test reports it
            results["revert"] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    reverter = threading.Thread(target=revert, name="revert")
    reverter.start()
    blocked_or_done("revert", results)
    release.set()
    importer.join(20)
    reverter.join(20)
    assert results["first"][0] == "ok"
    assert results["revert"] == {
        "Partnership": 0,
        "Municipality": 1,
        "Membership": 0,
        "Event": 0,
        "KindChange": 0,
        "StatusChange": 0,
    }
    assert sorted(
        Municipality.objects.values_list("name", "partner_count", "import_run__file_name")
    ) == [("Bonn", 1, str(towns)), ("Grenoble", 1, str(pairs))]
