"""The importers' foreign keys on PostgreSQL: checked once per key instead of once per row.

Where the role may set ``session_replication_role`` (a superuser, or granted ``SET`` on it),
``COPY`` runs with the database's per-row key checks off and the importer checks every key
itself, locking the rows it names as the database would; elsewhere the database checks.
Either way a key to no row writes nothing.
"""

import io
import uuid

import psycopg
import pytest
from conftest import municipality
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from registry.importing import insert
from registry.models import Municipality, Partnership

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="session_replication_role is PostgreSQL's"
    ),
]

HEADER = "municipality_a,country_a,municipality_b,country_b,source"


def run_import(tmp_path, text):
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    with CaptureQueriesContext(connection) as queries:
        call_command("import_partnerships", str(path), stdout=io.StringIO())
    return [query["sql"] for query in queries.captured_queries]


def switched_off(sqls):
    """How many COPYs ran with the per-row checks off (each turns them back on after)."""
    return sum(sql.startswith("SELECT set_config('session_replication_role'") for sql in sqls)


def role():
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return cursor.fetchone()[0]


def unprivileged_role(grant_set=False):
    """Switch this transaction to a new role that owns nothing and may not set the
    parameter (unless ``grant_set``); the test's rollback removes it again."""
    name = f"twinning_test_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOSUPERUSER")
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {name}")
        if grant_set:
            cursor.execute(f"GRANT SET ON PARAMETER session_replication_role TO {name}")
        cursor.execute(f"SET LOCAL ROLE {name}")


def imported_pairs():
    return sorted(
        (p.first.name, p.second.name) for p in Partnership.objects.select_related("first", "second")
    )


@pytest.mark.parametrize("who", ["superuser", "granted SET", "not granted"])
def test_import_writes_the_same_whoever_checks_the_keys(tmp_path, who):
    municipality("Köln")
    if who != "superuser":
        unprivileged_role(grant_set=who == "granted SET")
    sqls = run_import(
        tmp_path,
        f"{HEADER}\nKöln,DE,Liverpool,GB,https://example.org/a\n"
        "Liverpool,GB,Lille,FR,https://example.org/b\n",
    )
    assert switched_off(sqls) == (0 if who == "not granted" else 3)  # towns, pairs, sources
    assert role() == "origin"
    assert imported_pairs() == [("Köln", "Liverpool"), ("Liverpool", "Lille")]
    assert Partnership.objects.get(first__name="Köln").sources.get().url == "https://example.org/a"
    # The stored counts came through as well.
    assert dict(Municipality.objects.values_list("name", "partner_count")) == {
        "Köln": 1,
        "Liverpool": 2,
        "Lille": 1,
    }


@pytest.mark.parametrize("privileged", [True, False])
def test_a_key_to_no_row_is_an_error_and_writes_nothing(privileged):
    koeln = municipality("Köln")
    missing = Municipality.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    if not privileged:
        unprivileged_role()
    before = Partnership.objects.count()
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        insert(
            Partnership,
            ["kind", "first", "second", "slug"],
            [("official", koeln.pk, missing, "koeln--nowhere")],
        )
        with connection.cursor() as cursor:  # the database's own checks wait for the commit
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    if privileged:
        assert str(error.value) == (
            'insert into "registry_partnership" violates its foreign key on "second_id": '
            f'no row {missing} in "registry_municipality"'
        )
    else:
        assert "violates foreign key constraint" in str(error.value)
    assert Partnership.objects.count() == before
    assert role() == "origin"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_rows_a_copy_names_stay_until_it_commits():
    """As the database's own check does, the import locks each town it refers to: another
    transaction cannot delete one of them before the import commits."""
    koeln, lille = municipality("Köln"), municipality("Lille", "FR")
    params = connection.get_connection_params()
    with transaction.atomic():
        insert(
            Partnership,
            ["kind", "first", "second", "slug"],
            [("official", koeln.pk, lille.pk, "koeln--lille")],
        )
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM registry_municipality WHERE id = %s", [lille.pk])
    assert imported_pairs() == [("Köln", "Lille")]
