"""Importing a file in the admin: the dry run's report before anything is written, the
confirmation (in the request, or as a background task with its progress), who ran it;
reverting a run after a page that lists what goes; a partnership needs a source."""

import re

import pytest
from admin_pages import empty_inlines, form_data
from conftest import import_counts, municipality, partnership
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from registry.models import ImportRun, ImportUpload, Municipality, Partnership, Source

pytestmark = pytest.mark.django_db

IMPORT = "/admin/registry/importrun/import/"
CHANGELIST = "/admin/registry/importrun/"

GOOD = (
    "municipality_a,country_a,municipality_b,country_b,start\n"
    "Köln,DE,Lille,FR,1958\n"
    "Köln,DE,Turku,FI,1967\n"
    "Bonn,DE,Oxford,GB,1947\n"
)

BROKEN = (
    "municipality_a,country_a,municipality_b,country_b,start\n"
    "Köln,DE,Lille,FR,1958\n"
    "Köln,XX,Turku,FI,1967\n"
    "Bonn,DE,Oxford,GB,someday\n"
)


def upload(client, text, kind="partnerships", name="partners.csv", **fields):
    data = {"kind": kind, "file": SimpleUploadedFile(name, text.encode()), **fields}
    return client.post(IMPORT, data)


def uploaded(response):
    """The upload a redirect from the upload form leads to."""
    upload_pk = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    return ImportUpload.objects.get(pk=upload_pk)


def report_tables(response):
    from admin_pages import table

    return table(response, "upload-summary"), table(response, "upload-errors")


@pytest.fixture
def koeln():
    return municipality("Köln", slug="koeln")


def test_the_runs_list_has_the_import_button_for_editors_only(client, editor, reviewer, koeln):
    client.force_login(editor)
    assert 'href="/admin/registry/importrun/import/"' in client.get(CHANGELIST).content.decode()
    client.force_login(reviewer)
    response = client.get(CHANGELIST)
    assert (response.status_code, "/importrun/import/" in response.content.decode()) == (
        200,
        False,
    )


def test_the_dry_run_reports_exact_counts_and_writes_nothing(editor_client, editor, koeln):
    before = import_counts()
    response = upload(editor_client, GOOD)
    assert response.status_code == 302
    record = uploaded(response)
    assert import_counts() == before
    page = editor_client.get(response["Location"])
    summary, errors = report_tables(page)
    assert summary == [
        ["Rows read", "3"],
        ["Rows rejected", "0"],
        ["Municipalities created", "4"],
        ["Municipalities matched", "1"],
        ["Partnerships created", "3"],
        ["Duplicates merged", "0"],
        ["Already in the registry", "0"],
    ]
    assert errors == []
    assert (record.state, record.user, record.rows_total) == ("checked", editor, 4)
    assert 'value="Import"' in page.content.decode()


def test_confirming_imports_in_the_request_as_the_user_who_confirmed(editor_client, editor, koeln):
    record = uploaded(upload(editor_client, GOOD))
    response = editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    run = ImportRun.objects.get()
    assert response["Location"] == f"/admin/registry/importrun/{run.pk}/change/"
    assert (run.user, run.partnerships_created, run.municipalities_created) == (editor, 3, 4)
    assert Partnership.objects.count() == 3
    record.refresh_from_db()
    assert (record.state, record.run) == ("done", run)
    page = editor_client.get(response["Location"]).content.decode()
    run_by = re.search(
        r'field-user">.*?<label>(.*?)</label>.*?class="readonly">(.*?)</div>', page, re.S
    )
    user_link = f'<a href="/admin/auth/user/{editor.pk}/change/">editor</a>'
    assert run_by.groups() == ("Run by:", user_link)
    listing = editor_client.get(CHANGELIST).content.decode()
    assert '<td class="field-user nowrap">editor</td>' in listing
    # A second confirmation imports nothing again.
    again = editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/", follow=True)
    assert [str(message) for message in again.context["messages"]] == [
        "This file cannot be imported (again): it was imported before, or its check found "
        "nothing to import."
    ]
    assert ImportRun.objects.count() == 1


def test_a_file_with_bad_rows_shows_each_problem_and_imports_only_the_good_rows(
    editor_client, koeln
):
    before = import_counts()
    record = uploaded(upload(editor_client, BROKEN))
    page = editor_client.get(f"/admin/registry/importrun/upload/{record.pk}/")
    summary, errors = report_tables(page)
    assert errors == [
        ["Line", "Column", "Problem"],
        ["3", "country_a", errors[1][2]],
        ["4", "start", errors[2][2]],
    ]
    assert "XX" in errors[1][2] and "someday" in errors[2][2]
    assert "<caption>2 problems</caption>" in page.content.decode()
    assert summary[0:2] == [["Rows read", "3"], ["Rows rejected", "2"]]
    assert import_counts() == before
    assert 'value="Import the 1 good row, leave out the rows with problems"' in (
        page.content.decode()
    )
    editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    assert [str(link) for link in Partnership.objects.all()] == ["Köln – Lille"]


def test_a_file_that_cannot_be_read_cannot_be_confirmed(editor_client, koeln):
    before = import_counts()
    record = uploaded(upload(editor_client, "town,country\nKöln,DE\n"))
    page = editor_client.get(f"/admin/registry/importrun/upload/{record.pk}/")
    text = page.content.decode()
    assert record.state == "refused"
    assert (
        "line 1: missing required column(s): municipality_a, country_a, municipality_b, "
        "country_b." in text
    )
    assert 'id="confirm-form"' not in text
    response = editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    assert response.status_code == 302
    assert import_counts() == before


def test_a_file_whose_every_row_is_bad_cannot_be_confirmed(editor_client, koeln):
    record = uploaded(
        upload(
            editor_client, "municipality_a,country_a,municipality_b,country_b\nKöln,XX,Lille,FR\n"
        )
    )
    text = editor_client.get(f"/admin/registry/importrun/upload/{record.pk}/").content.decode()
    assert ('id="confirm-form"' in text, 'id="cannot-confirm"' in text) == (False, True)


def test_the_upload_form_refuses_geocoding_other_kinds_with_a_message(editor_client):
    response = upload(editor_client, GOOD, kind="events", geocode="on")
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "geocode": ["Only partnership lists can be geocoded."]
    }
    assert ImportUpload.objects.count() == 0


def test_a_large_file_runs_as_a_task_and_records_its_progress(
    editor_client, editor, koeln, settings
):
    settings.IMPORT_IN_REQUEST_ROWS = 2
    record = uploaded(upload(editor_client, GOOD))
    page = editor_client.get(f"/admin/registry/importrun/upload/{record.pk}/").content.decode()
    assert "The file is large: the import runs in the background" in page
    response = editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    # The test's task backend runs it at once (ImmediateBackend).
    record.refresh_from_db()
    run = ImportRun.objects.get()
    assert (record.state, record.rows_done, record.rows_total, record.run, run.user) == (
        "done",
        4,
        4,
        run,
        editor,
    )
    assert response["Location"] == f"/admin/registry/importrun/{run.pk}/change/"


def test_a_running_import_shows_its_progress_and_reloads(editor_client, koeln):
    record = uploaded(upload(editor_client, GOOD))
    ImportUpload.objects.filter(pk=record.pk).update(state="running", rows_done=2, rows_total=4)
    text = editor_client.get(f"/admin/registry/importrun/upload/{record.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in text
    assert '<progress max="4" value="2"></progress>' in text
    assert "2 of 4 lines checked" in text
    assert 'id="confirm-form"' not in text


@pytest.mark.parametrize("who", ["reviewer", "staff"])
def test_who_may_not_import_gets_403_everywhere(client, who, reviewer, editor, koeln):
    from conftest import staff_user

    user = reviewer if who == "reviewer" else staff_user("plain")
    record = ImportUpload.objects.create(
        user=editor, kind="partnerships", file_name="x.csv", data=GOOD.encode()
    )
    client.force_login(user)
    before = import_counts()
    cells = [
        client.get(IMPORT).status_code,
        upload(client, GOOD).status_code,
        client.get(f"/admin/registry/importrun/upload/{record.pk}/").status_code,
        client.post(f"/admin/registry/importrun/upload/{record.pk}/").status_code,
    ]
    assert cells == [403, 403, 403, 403]
    assert (import_counts(), ImportUpload.objects.count()) == (before, 1)


def test_the_superuser_may_import(admin_client, koeln):
    record = uploaded(upload(admin_client, GOOD))
    admin_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    assert ImportRun.objects.get().partnerships_created == 3


# Reverting a run: a page that lists what goes, and a POST.


@pytest.fixture
def imported(admin_client, koeln):
    """A run of GOOD, and a partnership of someone else's with one of the towns it made."""
    record = uploaded(upload(admin_client, GOOD))
    admin_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    run = ImportRun.objects.get()
    partnership(Municipality.objects.get(name="Oxford"), municipality("Bonn", "DE", slug="b2"))
    return run


def test_the_revert_page_lists_what_goes_and_changes_nothing(admin_client, imported):
    before = import_counts()
    response = admin_client.get(f"/admin/registry/importrun/{imported.pk}/revert/")
    text = response.content.decode()
    assert import_counts() == before
    deleted = text.split('<ul class="revert-deleted">')[1].split("<p>It keeps:</p>")[0]
    assert [line.strip() for line in deleted.replace("<li>", "\n").split("\n") if ":" in line] == [
        "3 partnerships:",
        "3 municipalities:",
    ]
    for name in ("Köln – Lille", "Köln – Turku", "Bonn – Oxford", "Lille", "Turku", "Bonn"):
        assert f">{name}</a>" in deleted
    kept = text.split('<ul class="revert-kept">')[1].split("</ul>\n</div>")[0]
    assert "the 1 municipality it matched (it was in the registry before)" in kept
    assert "1 municipality it created that other records use:" in kept
    oxford = Municipality.objects.get(name="Oxford")
    assert f'<a href="/admin/registry/municipality/{oxford.pk}/change/">Oxford</a>' in kept
    deleted_counts, _ = imported.revert_preview()
    assert {model.__name__: queryset.count() for model, queryset in deleted_counts.items()} == {
        model.__name__: count
        for model, count in imported.revert(None).items()  # the preview is what goes
    }


def test_posting_the_revert_page_reverts(admin_client, imported):
    response = admin_client.post(f"/admin/registry/importrun/{imported.pk}/revert/", follow=True)
    assert [str(message) for message in response.context["messages"]][-1] == (
        f"Reverted “{imported}”: 3 partnerships and 3 municipalities deleted."
    )
    imported.refresh_from_db()
    assert (imported.reverted_by.username, Partnership.objects.count()) == ("admin", 1)


def test_the_list_action_asks_first(admin_client, imported):
    before = import_counts()
    data = {"action": "revert_import", "_selected_action": [str(imported.pk)]}
    response = admin_client.post(CHANGELIST, data)
    text = response.content.decode()
    assert (response.status_code, "3 partnerships:" in text, import_counts()) == (200, True, before)
    assert '<input type="hidden" name="post" value="yes">' in text
    admin_client.post(CHANGELIST, {**data, "post": "yes"})
    assert Partnership.objects.count() == 1


def test_an_editor_may_not_revert(editor_client, imported):
    before = import_counts()
    cells = [
        editor_client.get(f"/admin/registry/importrun/{imported.pk}/revert/").status_code,
        editor_client.post(f"/admin/registry/importrun/{imported.pk}/revert/").status_code,
    ]
    assert (cells, import_counts()) == ([403, 403], before)


# A partnership saved in the admin carries a source.


def test_a_partnership_without_a_source_is_refused_with_the_message(editor_client, koeln):
    add = "/admin/registry/partnership/add/"
    data = empty_inlines(form_data(editor_client.get(add)))
    data.update({"kind": "official", "first": str(koeln.pk), "status": "active"})
    data["second"] = str(municipality("Lille", "FR").pk)
    data.pop("sources", None)
    response = editor_client.post(add, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "sources": [
            "Give at least one source for this partnership: choose one, or add a new one "
            "with the “+” beside the field."
        ]
    }
    assert Partnership.objects.count() == 0
    page = editor_client.get(add).content.decode()
    assert 'id="add_id_sources"' in page  # the "+" that adds a new source in a popup


def test_the_report_speaks_german_to_who_asks_for_it(editor_client, koeln):
    record = uploaded(upload(editor_client, BROKEN))
    response = editor_client.get(
        f"/admin/registry/importrun/upload/{record.pk}/", headers={"Accept-Language": "de"}
    )
    summary, errors = report_tables(response)
    text = response.content.decode()
    assert (summary[0], errors[0]) == (["Gelesene Zeilen", "3"], ["Zeile", "Spalte", "Problem"])
    assert "<caption>2 Probleme</caption>" in text
    assert 'value="Die 1 gute Zeile importieren, die Zeilen mit Problemen auslassen"' in text


def test_a_network_without_a_source_is_refused_too(editor_client):
    add = "/admin/registry/partnership/add/"
    data = empty_inlines(form_data(editor_client.get(add)))
    data.update({"kind": "network", "name": "Rhine towns", "status": "active"})
    data.pop("sources", None)
    response = editor_client.post(add, data)
    assert (response.status_code, list(response.context["adminform"].form.errors)) == (
        200,
        ["sources"],
    )
    data["sources"] = str(Source.objects.create(key="rhine", citation="Rhine towns").pk)
    response = editor_client.post(add, data)
    assert (response.status_code, [str(link) for link in Partnership.objects.all()]) == (
        302,
        ["Rhine towns"],
    )


def test_with_the_database_backend_a_large_file_waits_for_the_worker(
    editor_client, editor, koeln, settings, monkeypatch
):
    settings.IMPORT_IN_REQUEST_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    record = uploaded(upload(editor_client, GOOD))
    response = editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    assert response["Location"] == f"/admin/registry/importrun/upload/{record.pk}/"
    record.refresh_from_db()
    page = editor_client.get(response["Location"]).content.decode()
    assert (record.state, ImportRun.objects.count(), "waiting to run" in page) == (
        "pending",
        0,
        True,
    )
    # The worker, in the test's transaction: its closing of old connections between tasks
    # would close the test's own (on PostgreSQL).
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    record.refresh_from_db()
    assert (record.state, record.rows_done, record.run.user) == ("done", 4, editor)


def test_an_import_that_meets_another_writer_can_be_confirmed_again(
    editor_client, koeln, monkeypatch
):
    from registry import uploads
    from registry.importing import ImportConflict

    record = uploaded(upload(editor_client, GOOD))

    def conflict(*args, **kwargs):
        raise ImportConflict("the database is busy with another write; nothing was imported.")

    monkeypatch.setitem(uploads.IMPORTERS, "partnerships", conflict)
    response = editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/", follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        "The import failed, nothing was written: the database is busy with another write; "
        "nothing was imported."
    ]
    assert (ImportRun.objects.count(), 'id="confirm-form"' in response.content.decode()) == (
        0,
        True,
    )
    monkeypatch.undo()
    editor_client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    assert ImportRun.objects.get().partnerships_created == 3


def test_the_commands_record_the_user_they_are_given(editor, koeln, tmp_path):
    from django.core.management import CommandError

    file = tmp_path / "partners.csv"
    file.write_text(GOOD, encoding="utf-8")
    with pytest.raises(CommandError, match="^there is no user 'nobody'.$"):
        call_command("import_partnerships", str(file), "--user", "nobody")
    assert ImportRun.objects.count() == 0
    call_command("import_partnerships", str(file), "--user", "editor", verbosity=0)
    assert ImportRun.objects.get().user == editor


def test_the_run_is_run_by_who_confirmed_the_upload_by_who_uploaded(client, editor, koeln):
    from conftest import staff_user

    client.force_login(editor)
    record = uploaded(upload(client, GOOD))
    other = staff_user("other", group="Editors")
    client.force_login(other)
    client.post(f"/admin/registry/importrun/upload/{record.pk}/")
    record.refresh_from_db()
    assert (record.user, record.confirmed_by, ImportRun.objects.get().user) == (
        editor,
        other,
        other,
    )
    text = client.get(f"/admin/registry/importrun/upload/{record.pk}/").content.decode()
    assert (
        '<th scope="row">Uploaded by</th><td>editor</td>' in text,
        '<th scope="row">Confirmed by</th><td>other</td>' in text,
    ) == (True, True)


@pytest.mark.parametrize("text", [GOOD, BROKEN])
def test_the_upload_page_takes_the_same_queries_whatever_the_report(
    editor_client, koeln, text, django_assert_num_queries
):
    record = uploaded(upload(editor_client, text))
    url = f"/admin/registry/importrun/upload/{record.pk}/"
    editor_client.get(url)
    with django_assert_num_queries(5):
        assert editor_client.get(url).status_code == 200
