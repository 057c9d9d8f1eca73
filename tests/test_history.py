"""Every record has a first version in its history, whoever wrote it: the record loaded from
fixtures, the countries of the migrations, every import. The history page says what each
version changed; a record loaded from the fixtures can be reverted to its first version;
Editors delete what they entered themselves within a day."""

import datetime

import pytest
from admin_pages import form_data, page_messages, table
from conftest import municipality, sourced_partnership, staff_user
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

from registry.admin.base import HistoryAdmin
from registry.importing import import_partnerships
from registry.management.commands.load_record import record_versions
from registry.models import (
    AlternativeName,
    Country,
    Event,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Region,
    Source,
    StatusChange,
    Theme,
)

pytestmark = pytest.mark.django_db

LOADED = "Loaded from the record (fixtures)"


def versions(record, *fields):
    return list(
        record.history.order_by("history_date", "history_id").values_list(
            "history_type", "history_change_reason", "history_user__username", *fields
        )
    )


# The record of the fixtures.


def test_load_record_gives_every_record_it_loads_its_first_version():
    call_command("load_record", verbosity=0)
    keighley = Municipality.objects.get(slug="keighley")
    assert versions(keighley, "name") == [("+", LOADED, None, "Keighley")]
    counts = {
        model.__name__: (
            model.objects.count(),
            model.history.filter(history_type="+", history_change_reason=LOADED).count(),
            model.history.count(),
        )
        for model in (
            Source,
            Region,
            Municipality,
            AlternativeName,
            Partnership,
            Membership,
            KindChange,
            StatusChange,
            Event,
        )
    }
    assert counts == {
        "Source": (19, 19, 19),
        "Region": (93, 93, 93),
        "Municipality": (179, 179, 179),
        "AlternativeName": (58, 58, 58),
        "Partnership": (72, 72, 72),
        "Membership": (11, 11, 11),
        "KindChange": (27, 27, 27),
        "StatusChange": (11, 11, 11),
        "Event": (98, 98, 98),
    }


def test_loading_the_record_again_adds_no_version_but_to_what_it_sets_back(capsys):
    call_command("load_record", verbosity=0)
    keighley = Municipality.objects.get(slug="keighley")
    keighley.population = 51429
    keighley.save()
    call_command("load_record")
    assert capsys.readouterr().out.endswith(" 1 records got a new version in their history.\n")
    keighley.refresh_from_db()
    assert versions(keighley, "population") == [
        ("+", LOADED, None, None),
        ("~", None, None, 51429),
        ("~", LOADED, None, None),  # the file has no population: set back
    ]
    assert keighley.population is None


@pytest.mark.parametrize("count", [1, 3])
def test_first_versions_of_loaded_records_take_the_same_queries_however_many(
    django_assert_num_queries, count
):
    towns = [municipality(f"Town {n}") for n in range(count)]
    Municipality.history.filter(id__in=[town.pk for town in towns]).delete()
    # The records as they are, their latest versions, the first versions written.
    with django_assert_num_queries(3):
        written = record_versions({Municipality: [town.pk for town in towns]}, "default")
    assert (written, Municipality.history.filter(history_change_reason=LOADED).count()) == (
        count,
        count,
    )


def test_the_countries_and_themes_of_the_migrations_have_their_first_version():
    reason = "As found when the registry began to record first versions"
    assert versions(Country.objects.get(code="DE"), "name_en") == [("+", reason, None, "Germany")]
    assert Country.history.count() == Country.objects.count()
    assert Theme.history.filter(history_type="+").count() == Theme.objects.count()


# Imports.

HEADER = "municipality_a,country_a,municipality_b,country_b,start,source"


def test_every_record_an_import_creates_has_its_first_version_naming_the_run(editor):
    koeln = municipality("Köln", slug="koln")
    before = versions(koeln)
    data = (
        f"{HEADER}\nKöln,DE,Turku,FI,1967,Stadt Köln\nTurku,FI,Tallinn,EE,1991,Stadt Köln\n"
    ).encode()
    report = import_partnerships(data, file_name="partners.csv", user=editor)
    run = report.run
    reason = f"Import run #{run.pk}: partners.csv"
    created = [
        *Municipality.objects.filter(import_run=run).order_by("name"),
        *Partnership.objects.filter(import_run=run).order_by("start"),
        Source.objects.get(citation="Stadt Köln"),
    ]
    assert [(str(record), versions(record)) for record in created] == [
        ("Tallinn", [("+", reason, "editor")]),
        ("Turku", [("+", reason, "editor")]),
        ("Köln – Turku", [("+", reason, "editor")]),
        ("Turku – Tallinn", [("+", reason, "editor")]),
        ("Stadt Köln", [("+", reason, "editor")]),
    ]
    assert versions(koeln) == before  # matched, not created: no new version
    turku = Municipality.objects.get(name="Turku")
    assert turku.history.get().instance.slug == turku.slug


def test_a_region_an_import_creates_has_its_first_version():
    data = b"municipality_a,country_a,region_a,municipality_b,country_b\n"
    data += "Köln,DE,Nordrhein-Westfalen,Turku,FI\n".encode()
    run = import_partnerships(data, file_name="regions.csv").run
    region = Region.objects.get(name="Nordrhein-Westfalen")
    assert versions(region) == [("+", f"Import run #{run.pk}: regions.csv", None)]


def test_reverting_an_import_deletes_its_records_each_with_its_last_version(superuser):
    data = f"{HEADER}\nKöln,DE,Turku,FI,1967,\n".encode()
    run = import_partnerships(data, file_name="partners.csv").run
    turku = Municipality.objects.get(name="Turku")
    link = Partnership.objects.get()
    run.revert(superuser)
    assert (Municipality.objects.filter(import_run=run).exists(), Partnership.objects.exists()) == (
        False,
        False,
    )
    assert [entry[0] for entry in versions(turku)] == ["+", "-"]
    assert [entry[0] for entry in versions(link)] == ["+", "-"]


# The history page.


def history_url(record):
    return f"/admin/registry/{record._meta.model_name}/{record.pk}/history/"


def change(client, record, **values):
    url = f"/admin/registry/{record._meta.model_name}/{record.pk}/change/"
    data = form_data(client.get(url))
    data.update({name: str(value) for name, value in values.items()})
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]


def shown(response):
    """The history without the date column."""
    return [row[:1] + row[2:] for row in table(response, "change-history")]


def test_keighley_edited_in_the_admin_is_reverted_to_its_first_version(editor_client, editor):
    call_command("load_record", verbosity=0)
    keighley = Municipality.objects.get(slug="keighley")
    change(editor_client, keighley, name="Keighley (West Yorkshire)", population=51429)
    response = editor_client.get(history_url(keighley))
    assert shown(response) == [
        ["Object", "Comment", "Changed by", "Change reason", "Changes"],
        [
            "Keighley (West Yorkshire)",
            "Changed",
            "editor",
            "",
            "Local name: Keighley → Keighley (West Yorkshire) Population: — → 51429",
        ],
        ["Keighley", "Created", "—", LOADED, "created"],
    ]
    first = keighley.history.earliest()
    url = f"{history_url(keighley)}{first.history_id}/"
    form = editor_client.get(url)
    assert form.context["title"] == "Revert Keighley"
    response = editor_client.post(url, form_data(form))
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/municipality/")
    keighley.refresh_from_db()
    assert (keighley.name, keighley.population) == ("Keighley", None)
    when = date_format(localtime(first.history_date), "DATETIME_FORMAT")
    assert shown(editor_client.get(history_url(keighley)))[1] == [
        "Keighley",
        "Changed",
        "editor",
        f"Reverted to the version of {when}",
        "Local name: Keighley (West Yorkshire) → Keighley Population: 51429 → —",
    ]


def test_the_changes_show_labels_of_choices_names_of_records_and_dates_as_written(
    editor_client,
):
    koeln = municipality("Köln", slug="koln")
    record = sourced_partnership(koeln, municipality("Liverpool", "GB"), start="1952")
    change(
        editor_client,
        record,
        kind="friendship",
        second=municipality("Lille", "FR").pk,
        start="1958-11",
        **{
            f"{prefix}-TOTAL_FORMS": "0"
            for prefix in ("memberships", "kind_changes", "status_changes", "events")
        },
    )
    assert shown(editor_client.get(history_url(record)))[1][-1] == (
        "Kind: official twinning → friendship "
        "Second partner (sponsored side of an adoption): Liverpool → Lille "
        "Start: 1952 → November 1958"
    )


def test_a_save_that_changed_nothing_and_a_deleted_record_say_so(superuser, client):
    client.force_login(superuser)
    town = municipality("Neustadt", seeking_partner=False)
    town.save()
    town.seeking_partner = True
    town.save()
    response = client.get(history_url(town))
    assert [row[-1] for row in shown(response)] == [
        "Changes",
        "Seeks a partner: no → yes",
        "no change",
        "created",
    ]


def test_the_last_version_of_a_page_is_compared_with_the_first_of_the_next(
    superuser, client, monkeypatch
):
    monkeypatch.setattr(HistoryAdmin, "history_list_per_page", 2)
    client.force_login(superuser)
    town = municipality("Neustadt", population=100)
    for population in (200, 300):
        town.population = population
        town.save()
    assert [row[-1] for row in shown(client.get(history_url(town)))] == [
        "Changes",
        "Population: 200 → 300",
        "Population: 100 → 200",
    ]
    assert [row[-1] for row in shown(client.get(history_url(town), {"p": 2}))] == [
        "Changes",
        "created",
    ]


@pytest.mark.parametrize("edits", [1, 4])
def test_the_history_page_takes_the_same_queries_however_many_versions(
    superuser, client, django_assert_num_queries, edits
):
    record = sourced_partnership(municipality("Köln"), municipality("Liverpool", "GB"))
    for n in range(edits):
        record.second = municipality(f"Town {n}", "FR")
        record.save()
    client.force_login(superuser)
    client.get(history_url(record))  # the user's content type, cached from then on
    # The session and its user; the record; its versions and their count (2); the record's
    # two sides, for the title (2).
    with django_assert_num_queries(7):
        response = client.get(history_url(record))
    assert len(table(response, "change-history")) == edits + 2


def test_the_history_page_speaks_german(editor_client):
    town = municipality("Neustadt", seeking_partner=False)
    town.seeking_partner = True
    town.save()
    response = editor_client.get(history_url(town), headers={"Accept-Language": "de"})
    assert [row[-1] for row in shown(response)][1:] == [
        "Sucht einen Partner: Nein → Ja",
        "angelegt",
    ]


# Editors delete what they entered themselves, within a day.


def add_town(client, name):
    url = "/admin/registry/municipality/add/"
    data = form_data(client.get(url))
    data.update({"name": name, "slug": name.lower(), "kind": "city", "country": "DE"})
    data["country"] = str(Country.objects.get(code="DE").pk)
    data.update({"alternative_names-TOTAL_FORMS": "0", "events-TOTAL_FORMS": "0"})
    response = client.post(url, data, follow=True)  # and its message read
    assert response.redirect_chain, response.context["errors"]
    return Municipality.objects.get(name=name)


def delete_url(record):
    return f"/admin/registry/{record._meta.model_name}/{record.pk}/delete/"


def test_an_editor_deletes_a_record_they_entered_today(editor_client, editor):
    town = add_town(editor_client, "Neustadt")
    assert editor_client.get(delete_url(town)).status_code == 200
    response = editor_client.post(delete_url(town), {"post": "yes"})
    assert (response.status_code, Municipality.objects.filter(pk=town.pk).exists()) == (302, False)
    assert [entry[:3] for entry in versions(town)] == [
        ("+", None, "editor"),
        ("-", None, "editor"),
    ]


def test_an_editor_may_not_delete_what_another_entered_or_what_is_older_than_a_day(
    editor_client, editor
):
    other = Client()
    other.force_login(staff_user("other", group="Editors"))
    theirs = add_town(other, "Altstadt")
    older = add_town(editor_client, "Neustadt")
    older.history.update(history_date=timezone.now() - datetime.timedelta(hours=25))
    loaded = municipality("Loaded")  # no user
    for record in (theirs, older, loaded):
        assert editor_client.get(delete_url(record)).status_code == 403
        assert editor_client.post(delete_url(record), {"post": "yes"}).status_code == 403
    assert Municipality.objects.filter(pk__in=[theirs.pk, older.pk, loaded.pk]).count() == 3
    # The change page offers no delete link for them.
    page = editor_client.get(f"/admin/registry/municipality/{older.pk}/change/")
    assert (page.context["has_delete_permission"], b'class="deletelink"' in page.content) == (
        False,
        False,
    )


def bulk_delete(client, *records):
    return client.post(
        "/admin/registry/municipality/",
        {
            "action": "delete_selected",
            "_selected_action": [str(record.pk) for record in records],
            "post": "yes",
        },
        follow=True,
    )


def test_an_editors_bulk_delete_deletes_their_own_and_refuses_a_selection_with_others(
    editor_client, editor
):
    mine = [add_town(editor_client, "Neustadt"), add_town(editor_client, "Neuburg")]
    old = municipality("Altstadt")
    response = bulk_delete(editor_client, old, *mine)
    assert page_messages(response) == [
        (
            "error",
            "Nothing was deleted: you may delete only what you entered yourself in the last "
            "24 hours, which Altstadt is not.",
        )
    ]
    assert Municipality.objects.count() == 3
    response = bulk_delete(editor_client, *mine)
    assert page_messages(response) == [("success", "Successfully deleted 2 municipalities.")]
    assert list(Municipality.objects.values_list("name", flat=True)) == ["Altstadt"]


def test_the_delete_refusal_speaks_german(editor_client):
    old = municipality("Altstadt")
    response = editor_client.post(
        "/admin/registry/municipality/",
        {"action": "delete_selected", "_selected_action": [str(old.pk)], "post": "yes"},
        headers={"Accept-Language": "de"},
        follow=True,
    )
    assert page_messages(response) == [
        (
            "error",
            "Nichts wurde gelöscht: Sie dürfen nur löschen, was Sie selbst in den letzten "
            "24 Stunden eingetragen haben, und das ist Altstadt nicht.",
        )
    ]


def test_an_editor_reverts_a_record_from_its_history(editor_client, editor):
    town = municipality("Neustadt", population=100)
    town.population = 200
    town.save()
    first = town.history.earliest()
    url = f"{history_url(town)}{first.history_id}/"
    response = editor_client.post(url, form_data(editor_client.get(url)))
    assert response.status_code == 302
    town.refresh_from_db()
    assert (town.population, versions(town)[-1][0], versions(town)[-1][2]) == (100, "~", "editor")
