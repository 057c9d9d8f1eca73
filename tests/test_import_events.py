"""import_events: the events of partnerships, networks and towns the registry has."""

import io

import pytest
from conftest import municipality, network, partnership
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from registry.models import Event, ImportRun, Partnership

pytestmark = pytest.mark.django_db

HEADER = (
    "kind,date,title,partnership,municipality_a,country_a,municipality_b,country_b,"
    "partnership_kind,award,country_at_time,place,source"
)


@pytest.fixture
def record():
    koeln, lille, liege = (
        municipality("Köln"),
        municipality("Lille", "FR"),
        municipality("Liège", "BE"),
    )
    twinning = partnership(koeln, lille, start="1958")
    friendship = partnership(koeln, lille, kind=Partnership.Kind.FRIENDSHIP)
    hanse = network("Neue Hanse", koeln, liege, slug="neue-hanse")
    return koeln, lille, twinning, friendship, hanse


def write(tmp_path, text):
    path = tmp_path / "events.csv"
    path.write_bytes(text.encode())
    return path


def run(path, *options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_events", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def events():
    """Every event's subject and details, in order of date."""
    return list(
        Event.objects.order_by("date", "title").values_list(
            "partnership__slug",
            "municipality__name",
            "kind",
            "date",
            "title",
            "award",
            "country_at_time__code",
            "place",
            "sources__url",
        )
    )


def test_events_of_a_partnership_a_network_and_a_town(tmp_path, record):
    koeln, lille, twinning, friendship, hanse = record
    out, err = run(
        write(
            tmp_path,
            f"{HEADER}\n"
            "signing,1958-10-24,Signing in Lille,,Lille,France,Köln,Germany,official,,,Lille,\n"
            "Visit,1990,Choir visit,,koln,DE,Lille,FR,friendship,,,,\n"
            "network_meeting,2001,Hanse day,neue-hanse,,,,,,,,,https://hanse.org\n"
            "award,1966,Europe Prize for Köln,,Köln,Deutschland,,,,Europe Prize,West Germany,,\n",
        )
    )
    assert events() == [
        (twinning.slug, None, "signing", "1958-10-24", "Signing in Lille", "", None, "Lille", None),
        (None, "Köln", "award", "1966", "Europe Prize for Köln", "europe_prize", "DE", "", None),
        (friendship.slug, None, "visit", "1990", "Choir visit", "", None, "", None),
        (
            "neue-hanse",
            None,
            "network_meeting",
            "2001",
            "Hanse day",
            "",
            None,
            "",
            "https://hanse.org",
        ),
    ]
    run_ = ImportRun.objects.get()
    assert (run_.events_created, run_.rows_read, run_.partnerships_created) == (4, 4, 0)
    assert (out, err) == (
        "Imported:\n"
        "  rows read                4\n"
        "  rows rejected            0\n"
        "  events created           4\n"
        "  duplicates merged        0\n"
        "  already in the registry  0\n"
        f"Imported as run {run_.pk}.\n",
        "",
    )


def test_an_event_listed_twice_or_already_there_is_one_event(tmp_path, record):
    koeln, lille, twinning, friendship, hanse = record
    Event.objects.create(kind="visit", date="1990", title="Choir visit", partnership=friendship)
    path = write(
        tmp_path,
        "kind,date,title,municipality_a,country_a,municipality_b,country_b,partnership_kind,place\n"
        "visit,1990,Choir visit,Köln,DE,Lille,FR,friendship,\n"
        "visit,1991,Return visit,Lille,FR,Köln,DE,official,\n"
        "visit,1991,Return visit,Köln,DE,Lille,FR,official,Köln\n",
    )
    run(path)
    assert sorted(Event.objects.values_list("title", "place", "partnership")) == [
        ("Choir visit", "", friendship.pk),
        ("Return visit", "Köln", twinning.pk),
    ]
    assert ImportRun.objects.values_list(
        "events_created", "duplicates_merged", "already_present"
    ).get() == (1, 1, 1)
    run(path)  # again: nothing new
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "visit,1990,Visit,,Köln,DE,Lille,FR,,,,,",
            "line 3, partnership_kind: 'Köln' and 'Lille' have 2 partnerships; "
            "give partnership_kind to choose one",
        ),
        (
            "visit,1990,Visit,,Köln,DE,Liège,BE,,,,,",
            "line 3, municipality_b: 'Köln' and 'Liège' have no partnership in the registry",
        ),
        (
            "visit,1990,Visit,,Bonn,DE,,,,,,,",
            "line 3, municipality_a: 'Bonn' is not a municipality of Germany in the registry",
        ),
        (
            "visit,1990,Visit,no-such-slug,,,,,,,,,",
            "line 3, partnership: no partnership or network has the slug 'no-such-slug'",
        ),
        (
            "visit,1990,Visit,neue-hanse,Köln,DE,,,,,,,",
            "line 3, partnership: give the partnership or the municipalities, not both",
        ),
        ("award,1966,Prize,,Köln,DE,,,,,,,", "line 3, award: name the level of the award"),
        (
            "visit,1966,Visit,,Köln,DE,,,,europe_prize,,,",
            "line 3, award: only an award has a level",
        ),
        ("parade,1966,Parade,,Köln,DE,,,,,,,", "line 3, kind: 'parade' is not one of"),
        ("visit,3000,Visit,,Köln,DE,,,,,,,", "line 3, date: 3000 lies too far in the future"),
        ("visit,,Visit,,Köln,DE,,,,,,,", "line 3, date: is empty"),
        ("visit,1990,,,Köln,DE,,,,,,,", "line 3, title: is empty"),
        (
            "visit,1990,Visit,,Köln,Narnia,,,,,,,",
            "line 3, country_a: 'Narnia' is not a country we know",
        ),
        (
            "visit,1990,Vis\x00it,,Köln,DE,,,,,,,",
            "line 3, title: contains a control character (such as NUL)",
        ),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(tmp_path, record, row, message):
    before = events(), ImportRun.objects.count()
    path = write(tmp_path, f"{HEADER}\nvisit,1980,Fine,,Köln,DE,,,,,,,\n{row}\n")
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_events", str(path), stdout=io.StringIO(), stderr=err)
    assert str(refused.value).startswith("1 bad row(s); nothing was imported.")
    assert err.getvalue().startswith(f"{path}: {message}")
    assert err.getvalue().count("\n") == 1
    assert (events(), ImportRun.objects.count()) == before


def revert_in_admin(client, user, run_, **options):
    """Revert ``run_`` with the admin's action as ``user``; the messages the list then shows."""
    client.force_login(user)
    response = client.post(
        reverse("admin:registry_importrun_changelist"),
        {"action": "revert_import", "post": "yes", "_selected_action": [str(run_.pk)]},
        follow=True,
        **options,
    )
    return [message.message for message in response.context["messages"]]


def test_reverting_the_run_deletes_its_events_only(client, superuser, tmp_path, record):
    koeln, lille, twinning, friendship, hanse = record
    kept = Event.objects.create(
        kind="visit", date="1959", title="First visit", partnership=twinning
    )
    run(write(tmp_path, f"{HEADER}\nvisit,1960,Second visit,,Köln,DE,Lille,FR,official,,,,\n"))
    assert Event.objects.count() == 2
    run_ = ImportRun.objects.get()
    assert revert_in_admin(client, superuser, run_) == [f"Reverted “{run_}”: 1 event deleted."]
    assert list(Event.objects.all()) == [kept]
    assert Partnership.objects.count() == 3


def test_reverting_a_run_whose_events_are_gone_says_so(client, superuser, tmp_path, record):
    """Staff deleted the imported events by hand before reverting: nothing is left to go."""
    path = write(tmp_path, f"{HEADER}\nvisit,1960,Second visit,,Köln,DE,Lille,FR,official,,,,\n")
    run(path)
    Event.objects.filter(import_run__isnull=False).delete()
    run_ = ImportRun.objects.get()
    assert revert_in_admin(client, superuser, run_, headers={"accept-language": "de"}) == [
        f"„{run_}“ rückgängig gemacht: nichts davon war mehr zu löschen."
    ]
    assert ImportRun.objects.get().reverted is not None


@pytest.mark.parametrize("rows", [5, 60])
def test_query_count_does_not_grow_with_rows(tmp_path, record, django_assert_num_queries, rows):
    lines = [
        f"visit,{1960 + n},Visit {n},,Köln,DE,Lille,FR,official,,,,source {n % 3}"
        for n in range(rows)
    ]
    path = write(tmp_path, f"{HEADER}\n" + "\n".join(lines) + "\n")
    # One to wait for any other import (ImportRun.take_import_lock). PostgreSQL:
    # +3 per COPY (events, their sources), which turns the database's per-row key checks off,
    # back on, and checks the keys itself (registry.importing.writing.insert); no ANALYZE
    # (autovacuum's job there). And 2 + 2 for the history: the highest keys before and after
    # the writes, the first versions of the events and the sources (writing.write_first_versions).
    with django_assert_num_queries(20 if connection.vendor == "sqlite" else 25):
        run(path)
    assert Event.objects.count() == rows
