"""Two staff at once, on PostgreSQL with two real connections."""

import random
import threading
import time

import pytest
from admin_pages import ADD, add_form, change_url, form_data, form_errors
from conftest import municipality, partnership, sourced_partnership, staff_user
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils.formats import date_format
from django.utils.timezone import localtime

from registry.models import Membership, Municipality, Partnership

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs two concurrent connections; SQLite admits one writer at a time",
    ),
]


def test_two_staff_creating_the_same_pair_at_once_make_one_row_and_one_form_error(
    editor_client,
):
    koeln, liverpool = municipality("Köln"), municipality("Liverpool", "GB")
    data = add_form(editor_client, first=liverpool.pk, second=koeln.pk, start="1952")
    saved, release = threading.Event(), threading.Event()

    def first_editor():
        try:
            with transaction.atomic():
                first = Partnership(first=koeln, second=liverpool, start="1952")
                first.full_clean()  # takes the pair's lock, held until commit
                first.save()
                saved.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=first_editor)
    other.start()
    assert saved.wait(10)
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    response = editor_client.post(ADD, data)
    waited = time.monotonic() - started
    other.join(10)
    assert waited >= 0.9  # the second save waited for the first to commit
    assert form_errors(response) == {
        "second": [
            "These two municipalities already have a partnership of this kind: Köln – Liverpool."
        ]
    }
    assert [str(p) for p in Partnership.objects.all()] == ["Köln – Liverpool"]


def post_all_at_once(posts):
    """Send each post (name: client, url, data) from a thread of its own, at the same moment.

    Each thread has its own database connection. Returns each response, and how long it
    took, by name.
    """
    barrier = threading.Barrier(len(posts))
    results = {}

    def send(name, client, url, data):
        try:
            barrier.wait(10)
            started = time.monotonic()
            response = client.post(url, data)
            results[name] = (response, time.monotonic() - started)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(name, *post)) for name, post in posts.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def slow_saves(monkeypatch):
    """Every admin save holds its transaction open for half a second after saving.

    So the posts really overlap: the second arrives while the first has not committed.
    """
    original = admin.ModelAdmin.save_related

    def save_related(self, request, form, formsets, change):
        original(self, request, form, formsets, change)
        time.sleep(0.5)

    monkeypatch.setattr(admin.ModelAdmin, "save_related", save_related)


def test_two_staff_saving_the_same_form_at_once_one_wins_the_other_is_told(editor, slow_saves):
    twinning = sourced_partnership(
        municipality("Köln"), municipality("Liverpool", "GB"), start="1952"
    )
    url = change_url(twinning)
    colleague = staff_user("colleague", group="Editors")
    clients = {}
    for user in (editor, colleague):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    opened = form_data(clients["editor"].get(url))  # one rendered form, saved twice
    values = {"editor": {"status": "ended", "end": "1990"}, "colleague": {"status": "dormant"}}
    posts = {name: (clients[name], url, {**opened, **values[name]}) for name in values}
    results = post_all_at_once(posts)
    statuses = {name: response.status_code for name, (response, _) in results.items()}
    assert sorted(statuses.values()) == [200, 302]
    winner = next(name for name, status in statuses.items() if status == 302)
    loser = next(name for name, status in statuses.items() if status == 200)
    response, waited = results[loser]
    assert waited >= 0.4  # the loser waited for the winner's transaction
    when = date_format(localtime(twinning.history.latest().history_date), "DATETIME_FORMAT")
    assert form_errors(response) == {
        "__all__": [
            f"{winner} saved this partnership at {when}, after you opened it. Your changes "
            "have not been saved: reload the page to see theirs, then make yours again."
        ]
    }
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end) == (
        values[winner]["status"],
        values[winner].get("end"),
    )
    assert [record.history_user.username for record in twinning.history.all()[:1]] == [winner]
    assert twinning.history.count() == 2


def test_a_municipality_form_saved_while_a_partnership_is_added_keeps_the_new_count(
    editor_client,
):
    koeln, liverpool = municipality("Köln"), municipality("Liverpool", "GB")
    url = change_url(koeln)
    data = form_data(editor_client.get(url))
    data["population"] = "1084831"
    recounted, release = threading.Event(), threading.Event()

    def other_editor():
        try:
            with transaction.atomic():
                partnership(koeln, liverpool)  # recounts Köln: 1, not yet committed
                recounted.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=other_editor)
    other.start()
    assert recounted.wait(10)
    threading.Timer(0.5, release.set).start()
    response = editor_client.post(url, data)
    other.join(10)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/municipality/")
    assert Municipality.objects.values_list("population", "partner_count").get(pk=koeln.pk) == (
        1084831,
        1,
    )


# What a save may meet that a person would see as a form's message: the pair exists already
# (checked, or caught by the unique index when a kind changes), the row is gone meanwhile.
REFUSALS = (ValidationError, IntegrityError, ObjectDoesNotExist)


def test_stored_partner_counts_equal_a_recount_after_concurrent_changes():
    """Four staff at once add, delete and reclassify partnerships among five towns."""
    towns = [municipality(name) for name in ("Aachen", "Bonn", "Celle", "Dessau", "Essen")]
    kinds = [Partnership.Kind.OFFICIAL, Partnership.Kind.FRIENDSHIP]
    values = {"kind": kinds, "status": [Partnership.Status.ACTIVE, Partnership.Status.ENDED]}
    done, errors = [], []

    def change(pick):
        partnerships = Partnership.objects.select_for_update()
        existing = list(Partnership.objects.values_list("pk", flat=True))
        operation = pick.choice(["add", "add", "add", "delete", "kind", "status", "joint"])
        if operation == "add" or not existing:
            first, second = pick.sample(towns, 2)
            record = Partnership(first=first, second=second, kind=pick.choice(kinds))
            record.full_clean()
            record.save()
            return "add"
        record = partnerships.get(pk=pick.choice(existing))
        if operation == "delete":
            record.delete()
        elif operation == "joint":
            side = pick.choice(["first", "second"])
            Membership.objects.create(
                partnership=record, municipality=pick.choice(towns), side=side
            )
        else:
            setattr(record, operation, pick.choice(values[operation]))
            record.save(update_fields=[operation])
        return operation

    def staff(seed):
        pick = random.Random(seed)  # noqa: S311 - test data, not a secret
        try:
            for _ in range(40):
                try:
                    with transaction.atomic():
                        done.append(change(pick))
                        time.sleep(pick.random() / 50)  # as saving an admin form's inlines
                except REFUSALS:
                    pass
        except Exception as error:  # noqa: BLE001 - a deadlock, say: reported below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=staff, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert set(done) == {"add", "delete", "kind", "status", "joint"}
    stored = dict(Municipality.objects.values_list("pk", "partner_count"))
    Municipality.objects.all().recount_partners()
    assert stored == dict(Municipality.objects.values_list("pk", "partner_count"))
    assert sum(stored.values()) > 0
