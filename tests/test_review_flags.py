"""Reviewers flag a record for review with a comment, from its change form; Editors find the
flags in their list, go to the record and mark them resolved."""

import re

import pytest
from admin_pages import form_data, page_messages, table
from conftest import municipality, sourced_partnership, staff_user
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

from registry.models import Municipality, ReviewFlag

pytestmark = pytest.mark.django_db

FLAGS = "/admin/registry/reviewflag/"


def change_url(record):
    return f"/admin/registry/{record._meta.model_name}/{record.pk}/change/"


def flag_url(record):
    return f"/admin/registry/{record._meta.model_name}/{record.pk}/flag/"


def when(moment):
    return date_format(localtime(moment), "DATETIME_FORMAT")


@pytest.fixture
def link():
    return sourced_partnership(municipality("Köln"), municipality("Liverpool", "GB"), start="1952")


def test_a_reviewers_change_form_has_the_button_flag_for_review(reviewer_client, link):
    response = reviewer_client.get(change_url(link))
    assert re.findall(
        r'<a href="([^"]+)" class="flaglink">([^<]+)</a>', response.content.decode()
    ) == [(flag_url(link), "Flag for review")]


def test_staff_who_may_not_flag_see_no_button_and_cannot_open_the_page(client, link):
    viewer = staff_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_partnership"))
    client.force_login(viewer)
    assert b"flaglink" not in client.get(change_url(link)).content
    assert client.get(flag_url(link)).status_code == 403
    assert client.post(flag_url(link), {"comment": "Wrong year"}).status_code == 403
    assert not ReviewFlag.objects.exists()


def test_a_reviewer_flags_a_record_with_a_comment(reviewer_client, reviewer, link):
    form = reviewer_client.get(flag_url(link))
    assert (form.status_code, form.context["title"]) == (200, "Flag for review: Köln – Liverpool")
    response = reviewer_client.post(flag_url(link), {"comment": "  The year is 1953, not 1952. "})
    assert (response.status_code, response["Location"]) == (302, change_url(link))
    flag = ReviewFlag.objects.get()
    assert (flag.record, flag.comment, flag.created_by, flag.status, flag.resolved_by) == (
        link,
        "The year is 1953, not 1952.",
        reviewer,
        "open",
        None,
    )
    page = reviewer_client.get(change_url(link))
    assert page_messages(page) == [("success", "Köln – Liverpool is flagged for review.")]
    assert table_of_flags(page) == [
        f"reviewer, {when(flag.created_at)}: The year is 1953, not 1952."
    ]


def table_of_flags(response):
    """The open flags listed on a change form, as read."""
    html = response.content.decode()
    section = html.partition('id="review-flags"')[2].partition("</div>")[0]
    return [
        " ".join(re.sub(r"<[^>]+>", "", item).split())
        for item in re.findall(r"<li>(.*?)</li>", section, re.DOTALL)
    ]


def test_an_empty_comment_is_refused_with_a_message_and_nothing_is_saved(reviewer_client, link):
    response = reviewer_client.post(flag_url(link), {"comment": "   "})
    assert (response.status_code, page_messages(response)) == (
        400,
        [("error", "Say what needs a review: the comment is required.")],
    )
    assert not ReviewFlag.objects.exists()


def test_the_flag_page_of_a_record_that_is_not_there_is_a_404(reviewer_client, link):
    assert reviewer_client.get("/admin/registry/partnership/999999/flag/").status_code == 404


def test_the_change_form_lists_only_the_records_open_flags(editor_client, superuser, link):
    other = sourced_partnership(municipality("Bonn"), municipality("Oxford", "GB"))
    open_flag = ReviewFlag.objects.create(
        record=link, comment="Still in force?", created_by=superuser
    )
    ReviewFlag.objects.create(record=link, comment="Old one", status="resolved")
    ReviewFlag.objects.create(record=other, comment="Another record's")
    assert table_of_flags(editor_client.get(change_url(link))) == [
        f"boss, {when(open_flag.created_at)}: Still in force?"
    ]
    assert (
        table_of_flags(editor_client.get(change_url(Municipality.objects.get(name="Bonn")))) == []
    )


def flags(reviewer, *records):
    made = []
    for n, record in enumerate(records):
        made.append(
            ReviewFlag.objects.create(record=record, comment=f"Check {n}", created_by=reviewer)
        )
    return made


def test_editors_list_the_flags_with_a_link_to_each_record(editor_client, reviewer, link):
    town = Municipality.objects.get(name="Köln")
    first, second = flags(reviewer, link, town)
    ReviewFlag.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timezone.timedelta(hours=1)
    )
    first.refresh_from_db()
    response = editor_client.get(FLAGS)
    assert table(response) == [
        ["Flagged at", "Record", "Comment", "Flagged by", "Status", "Resolved by", "Resolved at"],
        [when(second.created_at), "municipality: Köln", "Check 1", "reviewer", "open", "-", "-"],
        [
            when(first.created_at),
            "partnership: Köln – Liverpool",
            "Check 0",
            "reviewer",
            "open",
            "-",
            "-",
        ],
    ]
    links = re.findall(
        r'<a href="(/admin/registry/(?!reviewflag)\w+/\d+/change/)">', response.content.decode()
    )
    assert links == [change_url(town), change_url(link)]


def test_a_flag_of_a_deleted_record_says_so(editor_client, reviewer, link):
    (flag,) = flags(reviewer, link)
    pk = link.pk
    link.delete()
    assert table(editor_client.get(FLAGS))[1][1] == f"partnership #{pk} (deleted)"
    assert flag.pk


def test_editors_filter_the_flags_by_status(editor_client, reviewer, link):
    first, second = flags(reviewer, link, link)
    ReviewFlag.objects.filter(pk=first.pk).resolve(reviewer)
    shown = table(editor_client.get(FLAGS, {"status__exact": "open"}))
    assert [row[2] for row in shown[1:]] == ["Check 1"]
    shown = table(editor_client.get(FLAGS, {"status__exact": "resolved"}))
    assert [row[2] for row in shown[1:]] == ["Check 0"]


def test_editors_mark_flags_resolved(editor_client, editor, reviewer, link):
    first, second = flags(reviewer, link, link)
    started = timezone.now()
    response = editor_client.post(
        FLAGS, {"action": "mark_resolved", "_selected_action": [str(first.pk)]}, follow=True
    )
    assert page_messages(response) == [("success", "1 flag marked resolved.")]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.resolved_by, first.resolved_at >= started) == (
        "resolved",
        editor,
        True,
    )
    assert (second.status, second.resolved_by, second.resolved_at) == ("open", None, None)
    assert table_of_flags(editor_client.get(change_url(link))) == [
        f"reviewer, {when(second.created_at)}: Check 1"
    ]


def test_an_editor_resolves_a_flag_on_its_page_and_may_open_it_again(
    editor_client, editor, reviewer, link
):
    (flag,) = flags(reviewer, link)
    url = f"{FLAGS}{flag.pk}/change/"
    data = form_data(editor_client.get(url))
    assert data == {"status": "open"}  # the rest is shown, not edited
    assert editor_client.post(url, {"status": "resolved"}).status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by, flag.comment) == ("resolved", editor, "Check 0")
    assert editor_client.post(url, {"status": "open"}).status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by, flag.resolved_at) == ("open", None, None)


def test_reviewers_see_the_flags_but_cannot_resolve_them(reviewer_client, reviewer, link):
    (flag,) = flags(reviewer, link)
    assert reviewer_client.get(FLAGS).context["action_form"] is None
    assert (
        reviewer_client.post(f"{FLAGS}{flag.pk}/change/", {"status": "resolved"}).status_code == 403
    )
    flag.refresh_from_db()
    assert flag.status == "open"


def test_nobody_adds_a_flag_through_the_add_form(client, superuser):
    client.force_login(superuser)
    assert client.get(f"{FLAGS}add/").status_code == 403


@pytest.mark.parametrize("count", [1, 3])
def test_the_list_of_flags_takes_the_same_queries_however_many(
    editor_client, reviewer, link, django_assert_num_queries, count
):
    flags(
        reviewer,
        *[
            sourced_partnership(municipality(f"A{n}"), municipality(f"B{n}", "FR"))
            for n in range(count)
        ],
    )
    flags(reviewer, *[municipality(f"Town {n}") for n in range(count)])
    editor_client.get(FLAGS)  # the content types, cached from then on
    # The session and its user; the user's permissions (the user's own, the groups'); the
    # count, with and without the filter; the flags with their types and users; the flagged
    # records of each type (2), with the relations their names read.
    with django_assert_num_queries(9):
        response = editor_client.get(FLAGS)
    assert len(table(response)) == 2 * count + 1


def test_the_flag_page_speaks_german(reviewer_client, link):
    response = reviewer_client.post(
        flag_url(link), {"comment": ""}, headers={"Accept-Language": "de"}
    )
    assert (response.status_code, page_messages(response), response.context["title"]) == (
        400,
        [("error", "Sagen Sie, was geprüft werden sollte: Der Kommentar ist erforderlich.")],
        "Zur Prüfung markieren: Köln – Liverpool",
    )


def test_the_list_of_flags_speaks_german(editor_client, reviewer, link):
    flags(reviewer, link)
    response = editor_client.get(FLAGS, headers={"Accept-Language": "de"})
    assert table(response)[0] == [
        "Markiert am",
        "Eintrag",
        "Kommentar",
        "Markiert von",
        "Status",
        "Erledigt von",
        "Erledigt am",
    ]
    assert table(response)[1][4] == "offen"


def test_an_editor_of_another_client_sees_the_flag_a_reviewer_made(reviewer_client, editor, link):
    reviewer_client.post(flag_url(link), {"comment": "Which year?"})
    client = Client()
    client.force_login(editor)
    assert [row[2] for row in table(client.get(FLAGS))[1:]] == ["Which year?"]
