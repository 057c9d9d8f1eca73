"""Two staff editing the same record: the later save from a stale form is refused.

Both open the change form; the first saves; the second saves what they see, which no longer
is what is stored. Their save is refused with a message on the form (saying who changed the
record and when), and the first one's values stay. Concurrent posts are in test_concurrency.
"""

import re
from datetime import datetime
from html import unescape

import pytest
from admin_pages import change_url, form_data, form_errors, inline_errors

# The admin saves no partnership without a source: those these tests open carry one.
from conftest import municipality, staff_user
from conftest import sourced_partnership as partnership
from django.test import Client
from django.utils.formats import date_format
from django.utils.timezone import localtime, now

from registry.models import Event, Membership, Municipality, Partnership, Theme

pytestmark = pytest.mark.django_db

RELOAD = "Your changes have not been saved: reload the page to see theirs, then make yours again."


def stale_message(user, record, model="partnership"):
    when = date_format(localtime(record.history.latest().history_date), "DATETIME_FORMAT")
    return f"{user} saved this {model} at {when}, after you opened it. {RELOAD}"


@pytest.fixture
def other_client(db):
    client = Client()
    client.force_login(staff_user("colleague", group="Editors"))
    return client


@pytest.fixture
def twinning(db):
    return partnership(municipality("Köln"), municipality("Liverpool", "GB"), start="1952")


def test_the_form_carries_its_fingerprint_in_the_page(editor_client, twinning):
    response = editor_client.get(change_url(twinning))
    fields = re.findall(
        r'<input type="hidden" name="state_fingerprint" value="([^"]*)"', response.content.decode()
    )
    assert fields == [response.context["adminform"].form.initial["state_fingerprint"]]
    digest, opened = unescape(fields[0]).split(" ")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert datetime.fromisoformat(opened) <= now()


def test_a_save_from_an_up_to_date_form_is_saved(editor_client, twinning):
    data = form_data(editor_client.get(change_url(twinning)))
    data.update(status="ended", end="1990")
    response = editor_client.post(change_url(twinning), data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end) == ("ended", "1990")


def test_the_second_save_from_a_stale_form_is_refused_and_the_first_stays(
    editor_client, other_client, twinning
):
    url = change_url(twinning)
    first, second = form_data(editor_client.get(url)), form_data(other_client.get(url))
    first.update(status="ended", end="1990")
    assert editor_client.post(url, first).status_code == 302
    second.update(status="dormant", description="Quiet since 1985.")
    response = other_client.post(url, second)
    assert form_errors(response) == {"__all__": [stale_message("editor", twinning)]}
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end, twinning.description) == ("ended", "1990", "")
    assert twinning.history.count() == 2  # created, and the first editor's change


def test_after_reloading_the_second_editor_saves_on_top_of_the_first(
    editor_client, other_client, twinning
):
    url = change_url(twinning)
    first, stale = form_data(editor_client.get(url)), form_data(other_client.get(url))
    first.update(status="ended", end="1990")
    editor_client.post(url, first)
    stale.update(description="Quiet since 1985.")
    assert other_client.post(url, stale).status_code == 200
    reloaded = form_data(other_client.get(url))
    reloaded.update(description="Quiet since 1985.")
    assert other_client.post(url, reloaded).status_code == 302
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end, twinning.description) == (
        "ended",
        "1990",
        "Quiet since 1985.",
    )


def test_a_change_of_a_many_to_many_choice_makes_the_form_stale(
    editor_client, other_client, twinning
):
    url = change_url(twinning)
    first, second = form_data(editor_client.get(url)), form_data(other_client.get(url))
    first["themes"] = [str(Theme.objects.get(slug="culture").pk)]
    assert editor_client.post(url, first).status_code == 302
    second["description"] = "Schools."
    response = other_client.post(url, second)
    assert form_errors(response) == {"__all__": [stale_message("editor", twinning)]}
    assert list(twinning.themes.values_list("slug", flat=True)) == ["culture"]


def test_a_stale_inline_row_is_refused_and_the_first_edit_of_it_stays(
    editor_client, other_client, twinning
):
    member = Membership.objects.create(
        partnership=twinning, municipality=municipality("Bootle", "GB"), side="second"
    )
    url = change_url(twinning)
    first, second = form_data(editor_client.get(url)), form_data(other_client.get(url))
    first["memberships-0-joined"] = "1989"
    assert editor_client.post(url, first).status_code == 302
    second["memberships-0-note"] = "Joint partner."
    response = other_client.post(url, second)
    when = date_format(localtime(member.history.latest().history_date), "DATETIME_FORMAT")
    assert form_errors(response) == {
        "__all__": [f"editor saved this partnership at {when}, after you opened it. {RELOAD}"]
    }
    member.refresh_from_db()
    assert (member.joined, member.note) == ("1989", "")


def test_a_row_added_inline_by_another_makes_the_form_stale(editor_client, other_client, twinning):
    url = change_url(twinning)
    first, second = form_data(editor_client.get(url)), form_data(other_client.get(url))
    first.update(
        {
            "events-TOTAL_FORMS": "1",
            "events-0-kind": "signing",
            "events-0-title": "Signing",
            "events-0-date": "1952",
        }
    )
    assert editor_client.post(url, first).status_code == 302
    second["status"] = "dormant"
    response = other_client.post(url, second)
    assert list(form_errors(response)) == ["__all__"]
    assert inline_errors(response) == {}
    twinning.refresh_from_db()
    assert twinning.status == "active"
    assert list(Event.objects.values_list("title", flat=True)) == ["Signing"]


def test_a_change_made_outside_the_admin_is_refused_without_a_name(editor_client, twinning):
    url = change_url(twinning)
    stale = form_data(editor_client.get(url))
    Partnership.objects.filter(pk=twinning.pk).update(status="suspended")  # no history
    stale["end"] = "1990"
    response = editor_client.post(url, stale)
    assert form_errors(response) == {
        "__all__": [f"Someone else saved this partnership after you opened it. {RELOAD}"]
    }
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end) == ("suspended", None)


def test_a_stale_municipality_form_is_refused(editor_client, other_client):
    town = municipality("Köln", population=1000000)
    url = change_url(town)
    first, second = form_data(editor_client.get(url)), form_data(other_client.get(url))
    first["population"] = "1084831"
    assert editor_client.post(url, first).status_code == 302
    second["website"] = "https://www.stadt-koeln.de/"
    response = other_client.post(url, second)
    assert form_errors(response) == {"__all__": [stale_message("editor", town, "municipality")]}
    town.refresh_from_db()
    assert (town.population, town.website) == (1084831, "")


def test_a_new_partnership_of_the_town_does_not_make_its_form_stale(editor_client):
    """The partner count is the registry's, not the form's: it may change meanwhile."""
    town = municipality("Köln")
    url = change_url(town)
    data = form_data(editor_client.get(url))
    partnership(town, municipality("Liverpool", "GB"))
    data["population"] = "1084831"
    response = editor_client.post(url, data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/municipality/")
    assert Municipality.objects.values_list("population", "partner_count").get(pk=town.pk) == (
        1084831,
        1,
    )


def test_a_post_without_the_fingerprint_is_refused(editor_client, twinning):
    data = form_data(editor_client.get(change_url(twinning)))
    del data["state_fingerprint"]
    data["status"] = "ended"
    response = editor_client.post(change_url(twinning), data)
    assert form_errors(response) == {
        "__all__": [
            "This form came without the record of what it was opened from, so whether someone "
            "else saved this partnership meanwhile cannot be told. Nothing has been saved: "
            "reload the page, then make your changes again."
        ]
    }
    twinning.refresh_from_db()
    assert twinning.status == "active"


def revert_url(record, version):
    return f"/admin/registry/partnership/{record.pk}/history/{version.history_id}/"


def test_a_revert_form_opened_before_another_save_is_refused(editor_client, other_client, twinning):
    first = form_data(other_client.get(change_url(twinning)))
    first.update(status="ended", end="1990")
    assert other_client.post(change_url(twinning), first).status_code == 302
    url = revert_url(twinning, twinning.history.earliest())
    revert = form_data(editor_client.get(url))  # back to active, no end
    changed = form_data(other_client.get(change_url(twinning)))
    changed["description"] = "Renewed in 2001."
    assert other_client.post(change_url(twinning), changed).status_code == 302
    response = editor_client.post(url, revert)
    assert form_errors(response) == {"__all__": [stale_message("colleague", twinning)]}
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end, twinning.description) == (
        "ended",
        "1990",
        "Renewed in 2001.",
    )


def test_an_up_to_date_revert_form_reverts(editor_client, other_client, twinning):
    changed = form_data(other_client.get(change_url(twinning)))
    changed.update(status="ended", end="1990")
    assert other_client.post(change_url(twinning), changed).status_code == 302
    url = revert_url(twinning, twinning.history.earliest())
    response = editor_client.post(url, form_data(editor_client.get(url)))
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    twinning.refresh_from_db()
    assert (twinning.status, twinning.end) == ("active", None)
