"""Who did what and when: every admin add, change and delete is recorded with its user and
time, and import runs are recorded and can be reverted from the admin."""

import io

import pytest
from admin_matrix import MATRIX, make_record, payloads, urls
from admin_pages import page_messages, table

# The admin saves no partnership or network without a source: those these tests open carry one.
from conftest import database_state, municipality, staff_user
from conftest import sourced_network as network
from conftest import sourced_partnership as partnership
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

from registry.models import Event, ImportRun, Municipality, Partnership

pytestmark = pytest.mark.django_db

# Every admin add, change and delete, of every model the admin edits.

# Import runs are written by imports only, review flags on the flagged record's page
# (tests/test_review_flags.py), corrections on the public site (tests/test_corrections.py),
# merges by the municipalities' action (tests/test_merging.py).
EDITED_IN_THE_ADMIN = sorted(
    set(MATRIX)
    - {"registry.ImportRun", "registry.Merge", "registry.ReviewFlag", "registry.CorrectionReport"}
)


@pytest.mark.parametrize("label", EDITED_IN_THE_ADMIN)
def test_every_admin_add_change_and_delete_is_recorded_with_user_and_time(client, superuser, label):
    targets, others = make_record()
    target = targets[label]
    model = type(target)
    pages = urls(target)
    posted = payloads(label, target, others, pages)
    client.force_login(superuser)
    existing = set(model._base_manager.values_list("pk", flat=True))
    started = timezone.now()
    statuses = [client.post(pages["add"], posted["add"]).status_code]
    (added,) = set(model._base_manager.values_list("pk", flat=True)) - existing
    statuses.append(client.post(pages["change"], posted["change"]).status_code)
    statuses.append(client.post(pages["delete"], posted["delete"]).status_code)
    finished = timezone.now()
    assert statuses == [302, 302, 302]
    logged = LogEntry.objects.filter(action_time__gte=started).order_by("pk")
    assert [
        (entry.action_flag, entry.object_id, entry.user, started <= entry.action_time <= finished)
        for entry in logged
    ] == [
        (ADDITION, str(added), superuser, True),
        (CHANGE, str(target.pk), superuser, True),
        (DELETION, str(target.pk), superuser, True),
    ]
    if hasattr(model, "history"):  # the registry's: each version, to see and revert
        versions = model.history.filter(history_date__gte=started).order_by("history_id")
        assert [
            (
                version.history_type,
                version.id,
                version.history_user,
                version.history_date <= finished,
            )
            for version in versions
        ] == [
            ("+", added, superuser, True),
            ("~", target.pk, superuser, True),
            ("-", target.pk, superuser, True),
        ]


CHANGELIST = "/admin/registry/importrun/"
HEADER = "municipality_a,country_a,municipality_b,country_b,start"


def import_file(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    call_command("import_partnerships", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return ImportRun.objects.get(file_name=str(path))


def counts():
    return dict(Municipality.objects.values_list("name", "partner_count"))


def recounted():
    """The partner count of every municipality, recounted from scratch (and stored)."""
    Municipality.objects.all().recount_partners()
    return counts()


@pytest.fixture
def runs(tmp_path):
    """Köln and Liverpool were there before; the first run adds Turku, Kraków and Tallinn,
    staff then use Kraków and Gdańsk, and a second run partners Bonn with Turku."""
    koeln = municipality("Köln", slug="koln")
    partnership(koeln, municipality("Liverpool", "GB"), start="1952")
    first = import_file(
        tmp_path,
        "first.csv",
        [
            "Köln,DE,Turku,FI,1967",
            "Köln,DE,Kraków,PL,2011",
            "Turku,FI,Tallinn,EE,1991",
            "Köln,DE,Gdańsk,PL,",
        ],
    )
    krakow = Municipality.objects.get(name="Kraków")
    Event.objects.create(kind="visit", title="Mayor's visit", date="2012", municipality=krakow)
    network("Hanse", Municipality.objects.get(name="Gdańsk"), koeln, start="1980")
    second = import_file(tmp_path, "second.csv", ["Bonn,DE,Turku,FI,1990"])
    assert counts() == {
        "Bonn": 1,
        "Gdańsk": 1,
        "Kraków": 1,
        "Köln": 4,
        "Liverpool": 1,
        "Tallinn": 1,
        "Turku": 3,
    }
    return first, second


def revert(client, *runs):
    return client.post(
        CHANGELIST,
        {
            "action": "revert_import",
            "post": "yes",
            "_selected_action": [str(run.pk) for run in runs],
        },
    )


def test_import_run_keeps_user_time_file_hash_and_counts(tmp_path, runs):
    first, _ = runs
    assert (
        first.file_name,
        len(first.sha256),
        first.rows_read,
        first.municipalities_created,
        first.municipalities_matched,
        first.partnerships_created,
        first.reverted,
        first.reverted_by,
    ) == (str(tmp_path / "first.csv"), 64, 4, 4, 1, 4, None, None)
    assert timezone.now() - first.created < timezone.timedelta(minutes=1)


def test_superuser_reverts_an_import_in_the_admin(client, superuser, runs):
    first, second = runs
    client.force_login(superuser)
    started = timezone.now()
    response = revert(client, first)
    assert (response.status_code, response["Location"]) == (302, CHANGELIST)
    after = client.get(CHANGELIST)
    assert page_messages(after) == [
        (
            "success",
            f"Reverted “{first}”: 4 partnerships and 1 municipality deleted.",
        )
    ]
    # Its partnerships are gone; of its towns, only Tallinn, which nothing else uses now.
    assert sorted(str(p) for p in Partnership.objects.all()) == [
        "Bonn – Turku",
        "Hanse",
        "Köln – Liverpool",
    ]
    assert sorted(Municipality.objects.values_list("name", flat=True)) == [
        "Bonn",
        "Gdańsk",
        "Kraków",
        "Köln",
        "Liverpool",
        "Turku",
    ]
    expected_counts = {
        "Bonn": 1,
        "Gdańsk": 0,  # a network member: networks are not counted
        "Kraków": 0,
        "Köln": 1,
        "Liverpool": 1,
        "Turku": 1,
    }
    assert counts() == expected_counts
    assert recounted() == expected_counts
    first.refresh_from_db()
    assert (first.reverted_by, started <= first.reverted <= timezone.now()) == (superuser, True)
    second.refresh_from_db()
    assert (second.reverted, second.reverted_by) == (None, None)
    # The run says so in the list, and the admin's log has the action with its user.
    assert [[row[1], row[-2], row[-1]] for row in table(after)[1:]] == [
        [second.file_name, "-", "-"],
        [first.file_name, date_format(localtime(first.reverted), "DATETIME_FORMAT"), "boss"],
    ]
    assert list(LogEntry.objects.values_list("user__username", "object_id", "change_message")) == [
        ("boss", str(first.pk), "Reverted")
    ]
    # Every deleted partnership keeps its last version in its history, with who deleted it.
    deleted = Partnership.history.filter(history_type="-").order_by("slug")
    assert [(entry.slug, entry.history_user) for entry in deleted] == [
        ("koln--gdansk", superuser),
        ("koln--krakow", superuser),
        ("koln--turku", superuser),
        ("turku--tallinn", superuser),
    ]


def test_the_action_is_offered_to_those_who_may_delete_partnerships_only(
    client, superuser, editor, reviewer
):
    deleter = staff_user("deleter")
    deleter.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_importrun", "delete_partnership"])
    )
    offered = {}
    for user in (superuser, deleter, editor, reviewer):
        client.force_login(user)
        form = client.get(CHANGELIST).context["action_form"]
        offered[user.username] = form and form.fields["action"].choices
    assert offered == {
        "boss": [("", "- Select an option -"), ("revert_import", "Revert this import")],
        "deleter": [("", "- Select an option -"), ("revert_import", "Revert this import")],
        "editor": None,
        "reviewer": None,
    }


def test_a_user_who_may_delete_partnerships_reverts(client, runs):
    first, _ = runs
    deleter = staff_user("deleter")
    deleter.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_importrun", "delete_partnership"])
    )
    client.force_login(deleter)
    assert revert(client, first).status_code == 302
    first.refresh_from_db()
    assert (first.reverted_by, Partnership.objects.filter(import_run=first).count()) == (
        deleter,
        0,
    )


@pytest.mark.parametrize("who", ["editor", "reviewer"])
def test_editors_and_reviewers_cannot_revert(client, runs, request, who):
    first, second = runs
    client.force_login(request.getfixturevalue(who))
    before = database_state()
    response = revert(client, first)
    # The list again, unchanged: without an action to offer, the admin ignores the request.
    assert (response.status_code, [row[1] for row in table(response)[1:]]) == (
        200,
        [second.file_name, first.file_name],
    )
    assert database_state() == before


def test_a_reverted_run_is_not_reverted_again(client, superuser, runs):
    first, _ = runs
    client.force_login(superuser)
    revert(client, first)
    client.get(CHANGELIST)  # shows, and so clears, the first message
    before = database_state()
    response = revert(client, first)
    assert (response.status_code, response["Location"]) == (302, CHANGELIST)
    assert page_messages(client.get(CHANGELIST)) == [
        ("warning", f"“{first}” was reverted before; nothing was done.")
    ]
    assert database_state() == before


def test_reverting_both_runs_undoes_the_newest_first(client, superuser, runs):
    """Turku came with the first run and Bonn–Turku with the second: reverted newest first,
    Turku is free to go with its own run."""
    first, second = runs
    client.force_login(superuser)
    assert revert(client, first, second).status_code == 302
    assert page_messages(client.get(CHANGELIST)) == [
        ("success", f"Reverted “{second}”: 1 partnership and 1 municipality deleted."),
        ("success", f"Reverted “{first}”: 4 partnerships and 2 municipalities deleted."),
    ]
    assert sorted(str(p) for p in Partnership.objects.all()) == ["Hanse", "Köln – Liverpool"]
    assert counts() == {"Gdańsk": 0, "Kraków": 0, "Köln": 1, "Liverpool": 1}
    assert recounted() == {"Gdańsk": 0, "Kraków": 0, "Köln": 1, "Liverpool": 1}


def test_a_revert_that_fails_half_way_changes_nothing(client, superuser, runs, monkeypatch):
    """One transaction: the partnerships are deleted first, then the towns; if deleting
    the towns fails, the partnerships are back and the run is not marked reverted."""
    first, _ = runs
    client.force_login(superuser)
    before = database_state()
    delete = Municipality.objects.none().delete.__func__

    def failing_delete(queryset):
        if queryset.model is Municipality:
            raise RuntimeError("the disk is full")
        return delete(queryset)

    monkeypatch.setattr(type(Municipality.objects.none()), "delete", failing_delete)
    with pytest.raises(RuntimeError, match="the disk is full"):
        revert(client, first)
    monkeypatch.undo()
    assert database_state() == before
