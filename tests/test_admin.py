"""The admin as staff use it: search, filters, validation, permissions, history, query counts."""

import re
from html import escape, unescape

import pytest
from admin_pages import (
    ADD,
    add_form,
    change_url,
    empty_inlines,
    form_data,
    form_data_as,
    form_errors,
    inline_errors,
    page_messages,
    table,
)

# The admin saves no partnership or network without a source: those these tests open carry one.
from conftest import a_source, country, municipality
from conftest import sourced_network as network
from conftest import sourced_partnership as partnership
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import CharField
from django.test import RequestFactory
from django.utils.formats import date_format
from django.utils.timezone import localtime, now

from registry.models import (
    AlternativeName,
    Association,
    CorrectionReport,
    Country,
    Event,
    ImportRun,
    KindChange,
    Membership,
    Merge,
    Municipality,
    Partnership,
    Region,
    ReviewFlag,
    Source,
    StatusChange,
    Theme,
)

# Every test here reaches the database, some only through request.getfixturevalue().
pytestmark = pytest.mark.django_db

# Helpers: read what the admin shows, and post a form back as a browser would.


def rows(response):
    """The first column (the object's name) of every row of a changelist."""
    return [row[0] for row in table(response)[1:]]


def filter_choices(response, title):
    """The links of one filter of the changelist sidebar: (query string, label)."""
    html = response.content.decode()
    block = re.search(rf'<details data-filter-title="{title}".*?</details>', html, re.DOTALL)
    return [
        (unescape(href), " ".join(label.split()))
        for href, label in re.findall(r'<a href="([^"]*)">(.*?)</a>', block.group())
    ]


def koeln(**fields):
    town = municipality("Köln", slug="koeln", **fields)
    AlternativeName.objects.create(municipality=town, name="Cologne", language="en")
    return town


def liverpool():
    town = municipality("Liverpool", "GB", slug="liverpool")
    AlternativeName.objects.create(municipality=town, name="Lerpwl", language="cy")
    return town


# Search.


@pytest.mark.parametrize("term", ["koln", "KÖLN", "Köln", "Cologne", "cologne"])
def test_municipality_search_finds_koeln_by_any_name_without_accents(admin_client, term):
    koeln()
    liverpool()
    municipality("Košice", "SK")
    response = admin_client.get("/admin/registry/municipality/", {"q": term})
    assert rows(response) == ["Köln"]


def test_municipality_search_ignores_the_hacek(admin_client):
    koeln()
    municipality("Košice", "SK")
    response = admin_client.get("/admin/registry/municipality/", {"q": "kosice"})
    assert rows(response) == ["Košice"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("koln", ["Köln – Liverpool", "Köln – Kraków"]),
        ("Cologne", ["Köln – Liverpool", "Köln – Kraków"]),
        ("lerpwl", ["Köln – Liverpool", "Liverpool – Dublin"]),
        ("dublin", ["Liverpool – Dublin"]),
        ("krakow", ["Hanse", "Köln – Kraków"]),
        ("hanse", ["Hanse"]),
    ],
)
def test_partnership_search_finds_either_partner_or_member_by_any_name(
    admin_client, term, expected
):
    cologne, scouse = koeln(), liverpool()
    krakow = municipality("Kraków", "PL")
    partnership(cologne, scouse, start="1952")
    partnership(scouse, municipality("Dublin", "IE"), start="1997")
    partnership(cologne, krakow, start="2011")
    network("Hanse", krakow, municipality("Brugge", "BE"), start="1980")
    response = admin_client.get("/admin/registry/partnership/", {"q": term})
    assert rows(response) == expected


def test_autocomplete_finds_koeln_by_folded_name(editor_client):
    cologne = koeln()
    liverpool()
    municipality("Kölleda")
    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "registry",
            "model_name": "partnership",
            "field_name": "first",
            "term": "koln",
        },
    )
    assert response.json() == {
        "results": [{"id": str(cologne.pk), "text": "Köln"}],
        "pagination": {"more": False},
    }


def test_autocomplete_finds_koeln_by_english_name(editor_client):
    cologne = koeln()
    liverpool()
    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "registry",
            "model_name": "membership",
            "field_name": "municipality",
            "term": "cologne",
        },
    )
    assert response.json() == {
        "results": [{"id": str(cologne.pk), "text": "Köln"}],
        "pagination": {"more": False},
    }


# Filters.


@pytest.fixture
def four_partnerships(db):
    cologne, scouse = koeln(), liverpool()
    partnership(cologne, scouse, start="1952")
    partnership(scouse, municipality("Dublin", "IE"), start="1997-05")
    partnership(
        cologne, municipality("Kraków", "PL"), kind=Partnership.Kind.FRIENDSHIP, start="1959-12-31"
    )
    partnership(
        municipality("Bonn"),
        municipality("Oxford", "GB"),
        status=Partnership.Status.ENDED,
        start="1960",
        end="1990",
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind__exact": "friendship"}, ["Köln – Kraków"]),
        ({"status__exact": "ended"}, ["Bonn – Oxford"]),
        ({"country": "GB"}, ["Köln – Liverpool", "Bonn – Oxford", "Liverpool – Dublin"]),
        ({"country": "IE"}, ["Liverpool – Dublin"]),
        ({"country": "FR"}, []),
        ({"decade": "1950"}, ["Köln – Liverpool", "Köln – Kraków"]),
        ({"decade": "1990"}, ["Liverpool – Dublin"]),
        ({"decade": "1970"}, []),
        ({"country": "DE", "decade": "1960"}, ["Bonn – Oxford"]),
    ],
)
def test_partnership_filters(admin_client, four_partnerships, query, expected):
    response = admin_client.get("/admin/registry/partnership/", query)
    assert rows(response) == expected


def test_partnership_country_filter_counts_network_members(admin_client):
    koeln()
    network("Hanse", municipality("Brugge", "BE"), start="1980")
    network("Eurocities", municipality("Lyon", "FR"), start="1986")
    response = admin_client.get("/admin/registry/partnership/", {"country": "BE"})
    assert rows(response) == ["Hanse"]


def test_decade_filter_offers_only_decades_with_a_start(admin_client, four_partnerships):
    response = admin_client.get("/admin/registry/partnership/")
    assert filter_choices(response, "decade of start") == [
        ("?", "All"),
        ("?decade=1990", "1990s"),
        ("?decade=1960", "1960s"),
        ("?decade=1950", "1950s"),
    ]


def test_a_new_decade_is_offered_at_once(admin_client, four_partnerships):
    """The decades are cached until the data changes, as the public pages' counts are."""
    admin_client.get("/admin/registry/partnership/")
    partnership(municipality("Lille", "FR"), municipality("Liège", "BE"), start="1975")
    response = admin_client.get("/admin/registry/partnership/")
    assert ("?decade=1970", "1970s") in filter_choices(response, "decade of start")


def test_country_filters_offer_the_countries_with_a_municipality(admin_client):
    koeln()
    liverpool()
    country("FR")  # no town: not offered
    assert filter_choices(admin_client.get("/admin/registry/partnership/"), "country") == [
        ("?", "All"),
        ("?country=DE", "Germany"),
        ("?country=GB", "United Kingdom"),
    ]
    choices = filter_choices(admin_client.get("/admin/registry/municipality/"), "country")
    assert [label for _, label in choices] == ["All", "Germany", "United Kingdom"]


def test_municipalities_are_listed_by_their_folded_names(admin_client):
    for name in ("Zwickau", "Ärzen", "Aachen", "Arnsberg"):
        municipality(name)
    response = admin_client.get("/admin/registry/municipality/")
    assert rows(response) == ["Aachen", "Arnsberg", "Ärzen", "Zwickau"]


def test_a_filtered_changelist_offers_all_rather_than_counting_them(admin_client):
    koeln()
    liverpool()
    response = admin_client.get("/admin/registry/municipality/", {"q": "Köln"})
    html = " ".join(response.content.decode().split())
    assert '1 result (<a href="?">Show all</a>)' in html


@pytest.mark.parametrize("decade", ["abc", "1955", "19500", "<b>"])
def test_an_invalid_decade_says_so_and_lists_nothing(admin_client, four_partnerships, decade):
    for query in ({"decade": decade}, {"decade": decade, "_facets": "True"}):
        response = admin_client.get("/admin/registry/partnership/", query)
        assert (rows(response), page_messages(response)) == (
            [],
            [("error", f"“{escape(decade)}” is not a decade such as 1980.")],
        )


def test_municipality_filters_by_country_and_kind(admin_client):
    koeln()
    liverpool()
    municipality("Rhein-Erft-Kreis", kind=Municipality.Kind.COUNTY)
    response = admin_client.get(
        "/admin/registry/municipality/", {"country__id__exact": country("DE").pk}
    )
    assert rows(response) == ["Köln", "Rhein-Erft-Kreis"]
    response = admin_client.get("/admin/registry/municipality/", {"kind__exact": "county"})
    assert rows(response) == ["Rhein-Erft-Kreis"]


# Dates at their precision.


def test_partnership_changelist_shows_dates_at_their_precision(admin_client):
    cologne, scouse = koeln(), liverpool()
    partnership(cologne, scouse, start="1952")
    partnership(cologne, municipality("Turku", "FI"), start="1988-11", end="2000")
    partnership(scouse, municipality("Dublin", "IE"), start="1980-05-22", end="1980")
    response = admin_client.get("/admin/registry/partnership/")
    assert table(response) == [
        ["Partnership", "Kind", "Start", "End", "Status"],
        ["Köln – Liverpool", "official twinning", "1952", "-", "active"],
        ["Liverpool – Dublin", "official twinning", "May 22, 1980", "1980", "active"],
        ["Köln – Turku", "official twinning", "November 1988", "2000", "active"],
    ]


def test_partnership_changelist_sorts_by_the_date_not_its_text(admin_client):
    cologne, scouse = koeln(), liverpool()
    partnership(cologne, scouse, start="1952")
    partnership(cologne, municipality("Turku", "FI"), start="1988-11")
    partnership(scouse, municipality("Dublin", "IE"), start="1980-05-22")
    # Column 3 is the start (0 is the action checkbox); "-" sorts descending.
    response = admin_client.get("/admin/registry/partnership/", {"o": "-3"})
    assert [row[2] for row in table(response)[1:]] == ["November 1988", "May 22, 1980", "1952"]


def test_event_changelist_shows_the_date_at_its_precision(admin_client):
    signed = partnership(koeln(), liverpool(), start="1952")
    Event.objects.create(
        kind=Event.Kind.SIGNING, title="Signing in Köln", date="1952-03", partnership=signed
    )
    Event.objects.create(
        kind=Event.Kind.ANNIVERSARY,
        title="Fiftieth anniversary",
        date="2002",
        partnership=signed,
    )
    response = admin_client.get("/admin/registry/event/")
    assert table(response) == [
        # The numbers are the sort priorities the admin shows: by date, then title.
        ["1 Date", "2 Title", "Kind", "Award", "Partnership or network", "Municipality"],
        [
            "March 1952",
            "Signing in Köln",
            "signing of the certificate",
            "-",
            "Köln – Liverpool",
            "-",
        ],
        ["2002", "Fiftieth anniversary", "anniversary", "-", "Köln – Liverpool", "-"],
    ]


# Validation: a message on the form, never a 500, nothing half-saved.


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"first": "koeln", "second": "koeln"},
            {"second": ["A municipality cannot be partnered with itself."]},
        ),
        (
            {"first": "koeln", "second": "liverpool", "start": "1990", "end": "1980"},
            {"end": ["The end cannot be before the start."]},
        ),
        (
            {"first": "koeln", "second": "liverpool", "start": "1980-05-22", "end": "1980-04"},
            {"end": ["The end cannot be before the start."]},
        ),
        (
            {"kind": "network", "name": "Hanse", "first": "koeln", "second": "liverpool"},
            {"first": ["A network has no sides: add its towns as members below instead."]},
        ),
        (
            {"kind": "network", "name": "Hanse", "second": "liverpool"},
            {"first": ["A network has no sides: add its towns as members below instead."]},
        ),
        (
            {"kind": "network"},
            {"name": ["A network needs a name."]},
        ),
        (
            {"first": "koeln"},
            {"second": ["A bilateral partnership needs a second partner."]},
        ),
        (
            {"second": "liverpool"},
            {"first": ["A bilateral partnership needs a first partner."]},
        ),
        (
            {},
            {
                "first": ["A bilateral partnership needs a first partner."],
                "second": ["A bilateral partnership needs a second partner."],
            },
        ),
        (
            {"first": "koeln", "second": "liverpool", "start": "31 Feb 1980"},
            {"start": ["Enter a date like 1988, Nov 1988, 22 May 1980 or 1980-05-22."]},
        ),
        (
            {"first": "koeln", "second": "liverpool", "end": "abc"},
            {"end": ["Enter a date like 1988, Nov 1988, 22 May 1980 or 1980-05-22."]},
        ),
        (
            {"first": "koeln", "second": "liverpool", "start": "2999"},
            {"start": ["2999 lies too far in the future."]},
        ),
    ],
)
def test_partnership_add_form_shows_every_rule_and_saves_nothing(editor_client, values, errors):
    towns = {"koeln": koeln(), "liverpool": liverpool()}
    values = {
        name: towns[value].pk if name in ("first", "second") else value
        for name, value in values.items()
    }
    response = editor_client.post(ADD, add_form(editor_client, **values))
    assert form_errors(response) == errors
    assert Partnership.objects.count() == 0  # as before the POST


def test_an_end_in_the_month_of_the_start_is_not_before_it(editor_client):
    cologne, scouse = koeln(), liverpool()
    data = add_form(
        editor_client, first=cologne.pk, second=scouse.pk, start="1980-05-22", end="May 1980"
    )
    response = editor_client.post(ADD, data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    assert list(Partnership.objects.values_list("start", "end")) == [("1980-05-22", "1980-05")]


def test_reversed_pair_of_the_same_kind_is_refused_with_a_message(editor_client):
    cologne, scouse = koeln(), liverpool()
    existing = partnership(cologne, scouse, start="1952")
    data = add_form(editor_client, first=scouse.pk, second=cologne.pk, start="1953")
    response = editor_client.post(ADD, data)
    assert form_errors(response) == {
        "second": [
            "These two municipalities already have a partnership of this kind: Köln – Liverpool."
        ]
    }
    assert list(Partnership.objects.values_list("pk", flat=True)) == [existing.pk]


def test_reversed_pair_of_another_kind_is_allowed(editor_client):
    cologne, scouse = koeln(), liverpool()
    partnership(cologne, scouse, start="1952")
    data = add_form(editor_client, first=scouse.pk, second=cologne.pk, kind="friendship")
    response = editor_client.post(ADD, data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    assert sorted(Partnership.objects.values_list("kind", flat=True)) == ["friendship", "official"]


def test_the_form_shows_the_message_beside_the_field(editor_client):
    cologne, scouse = koeln(), liverpool()
    data = add_form(editor_client, first=cologne.pk, second=scouse.pk, end="abc")
    response = editor_client.post(ADD, data)
    html = response.content.decode()
    assert re.findall(r'<p class="errornote">\s*(.*?)\s*</p>', html, re.DOTALL) == [
        "Please correct the error below."
    ]
    assert re.findall(r'<ul class="errorlist" id="(\w+)"><li>(.*?)</li></ul>', html) == [
        ("id_end_error", "Enter a date like 1988, Nov 1988, 22 May 1980 or 1980-05-22.")
    ]
    assert Partnership.objects.count() == 0


def membership_row(index, municipality, side=""):
    return {
        f"memberships-{index}-municipality": str(municipality.pk),
        f"memberships-{index}-side": side,
    }


@pytest.mark.parametrize(
    ("kind", "member", "side", "errors"),
    [
        (
            "official",
            "liverpool",
            "second",
            {"municipality": ["This municipality is already one of the two partners."]},
        ),
        ("official", "realejo", "", {"side": ["Say which side this joint partner belongs to."]}),
        (
            "network",
            "realejo",
            "first",
            {"side": ["Members of a network have no side; leave it empty."]},
        ),
    ],
)
def test_membership_rules_on_the_change_form(editor_client, kind, member, side, errors):
    cologne, scouse = koeln(), liverpool()
    realejo = municipality("El Realejo", "NI")
    if kind == "network":
        record = network("Hanse", cologne)
    else:
        record = partnership(cologne, scouse, start="1952")
    before = list(Membership.objects.values_list("partnership", "municipality", "side"))
    url = change_url(record)
    data = form_data(editor_client.get(url))
    rows_before = int(data["memberships-TOTAL_FORMS"])
    data.update(
        membership_row(rows_before, {"liverpool": scouse, "realejo": realejo}[member], side)
    )
    data["memberships-TOTAL_FORMS"] = str(rows_before + 1)
    response = editor_client.post(url, data)
    assert form_errors(response) == {}
    assert inline_errors(response) == {"memberships": [{}] * rows_before + [errors]}
    assert list(Membership.objects.values_list("partnership", "municipality", "side")) == before


def test_joint_partner_naming_a_partner_is_refused_on_the_add_form(editor_client):
    cologne = koeln()
    corinto = municipality("Corinto", "NI")
    data = add_form(editor_client, first=cologne.pk, second=corinto.pk, start="1988")
    data.update(empty_inlines(data, memberships=1))
    data.update(membership_row(0, corinto, "second"))
    response = editor_client.post(ADD, data)
    assert response.status_code == 200
    assert inline_errors(response) == {
        "memberships": [{"municipality": ["This municipality is already one of the two partners."]}]
    }
    assert Partnership.objects.count() == 0


def test_network_member_with_a_side_is_refused_on_the_add_form(editor_client):
    data = add_form(editor_client, kind="network", name="Hanse")
    data.update(empty_inlines(data, memberships=1))
    data.update(membership_row(0, koeln(), "first"))
    response = editor_client.post(ADD, data)
    assert response.status_code == 200
    assert inline_errors(response) == {
        "memberships": [{"side": ["Members of a network have no side; leave it empty."]}]
    }
    assert Partnership.objects.count() == 0


def test_a_duplicate_member_row_is_refused_and_nothing_saved(editor_client):
    cologne = koeln()
    data = add_form(editor_client, kind="network", name="Hanse")
    data.update(empty_inlines(data, memberships=2))
    data.update(membership_row(0, cologne))
    data.update(membership_row(1, cologne))
    response = editor_client.post(ADD, data)
    formset = response.context["inline_admin_formsets"][0].formset
    assert (form_errors(response), formset.non_form_errors()) == (
        {},
        ["Please correct the duplicate data for municipality."],
    )
    assert (Partnership.objects.count(), Membership.objects.count()) == (0, 0)


# Permissions: Editors add and change, Reviewers look, nobody in either group deletes.


def test_the_migration_creates_the_two_staff_groups_with_their_permissions(db):
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    reviewers = set(
        Group.objects.get(name="Reviewers").permissions.values_list("codename", flat=True)
    )
    assert {codename for codename in editors if codename.endswith("_partnership")} == {
        "view_partnership",
        "add_partnership",
        "change_partnership",
    }
    assert {codename for codename in reviewers if codename.endswith("_partnership")} == {
        "view_partnership"
    }
    assert {codename.split("_")[0] for codename in editors} == {"view", "add", "change", "merge"}
    # What Editors may beyond that is to merge municipalities (and undo a merge).
    assert {codename for codename in editors if codename.startswith("merge_")} == {
        "merge_municipality"
    }
    assert {codename.split("_")[0] for codename in reviewers} == {"view", "add"}
    # What Reviewers add is a flag for review, nothing else.
    assert {codename for codename in reviewers if not codename.startswith("view_")} == {
        "add_reviewflag"
    }


def test_editor_adds_a_partnership_with_both_partners(editor_client, editor):
    cologne, scouse = koeln(), liverpool()
    response = editor_client.get(ADD)
    assert [inline.formset.prefix for inline in response.context["inline_admin_formsets"]] == [
        "memberships",
        "kind_changes",
        "status_changes",
        "events",
    ]
    data = empty_inlines(form_data(response), kind_changes=1, status_changes=1)
    data.update(
        {
            "first": str(cologne.pk),
            "second": str(scouse.pk),
            "start": "22 May 1952",
            "first_name_at_signing": "Köln",
            "initiative": "council",
            "kind_changes-0-kind": "official",
            "kind_changes-0-date": "1952-05-22",
            "status_changes-0-status": "active",
            "status_changes-0-date": "1952",
            "sources": str(a_source().pk),
        }
    )
    response = editor_client.post(ADD, data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    created = Partnership.objects.get()
    assert (
        created.kind,
        created.status,
        created.first,
        created.second,
        created.start,
        created.end,
        created.first_name_at_signing,
        created.initiative,
        created.slug,
        str(created),
    ) == (
        "official",
        "active",
        cologne,
        scouse,
        "1952-05-22",
        None,
        "Köln",
        "council",
        "koeln--liverpool",
        "Köln – Liverpool",
    )
    assert [str(change) for change in created.kind_changes.all()] == [
        "official twinning May 22, 1952"
    ]
    assert [str(change) for change in created.status_changes.all()] == ["active 1952"]
    assert list(created.history.values_list("history_type", "history_user")) == [("+", editor.pk)]
    cologne.refresh_from_db()
    assert cologne.partner_count == 1


def test_editor_adds_a_partnership_with_its_signing_event(editor_client):
    cologne, scouse = koeln(), liverpool()
    data = add_form(editor_client, first=cologne.pk, second=scouse.pk, start="1952")
    data.update(empty_inlines(data, events=1))
    data.update({"events-0-kind": "signing", "events-0-title": "Signing", "events-0-date": "1952"})
    response = editor_client.post(ADD, data)
    assert response.status_code == 302
    assert list(Event.objects.values_list("title", "partnership__slug")) == [
        ("Signing", "koeln--liverpool")
    ]


def test_editor_adds_a_joint_partner_and_the_signing_with_their_sources(editor_client):
    cologne = koeln()
    corinto = municipality("Corinto", "NI", slug="corinto")
    realejo = municipality("El Realejo", "NI", slug="el-realejo")
    source = Source.objects.create(key="koeln-partnerstaedte", citation="Stadt Köln")
    record = partnership(cologne, corinto, start="1988")
    url = change_url(record)
    data = form_data(editor_client.get(url))
    data.update(
        {
            "name": "Köln – Corinto / El Realejo",
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-municipality": str(realejo.pk),
            "memberships-0-side": "second",
            "memberships-0-joined": "Nov 1988",
            "memberships-0-sources": [str(source.pk)],
            "events-TOTAL_FORMS": "1",
            "events-0-kind": "signing",
            "events-0-title": "Signing in Köln",
            "events-0-date": "22.11.1988",
            "events-0-sources": [str(source.pk)],
        }
    )
    response = editor_client.post(url, data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    assert [
        (
            str(member.municipality),
            member.side,
            member.joined,
            [str(s) for s in member.sources.all()],
        )
        for member in record.memberships.all()
    ] == [("El Realejo", "second", "1988-11", ["Stadt Köln"])]
    assert [
        (event.kind, event.title, event.date, [str(s) for s in event.sources.all()])
        for event in record.events.all()
    ] == [("signing", "Signing in Köln", "1988-11-22", ["Stadt Köln"])]
    # The rows added inline are in the history too, with who added them.
    assert [
        (model.__name__, history_type, user)
        for model in (Partnership, Membership, Event)
        for history_type, user in model.history.values_list(
            "history_type", "history_user__username"
        ).order_by("history_date")
    ] == [
        ("Partnership", "+", None),
        ("Partnership", "~", "editor"),
        ("Membership", "+", "editor"),
        ("Event", "+", "editor"),
    ]
    realejo.refresh_from_db()
    assert realejo.partner_count == 1


def test_an_alternative_name_added_in_the_admin_is_searchable(editor_client):
    town = municipality("Köln", slug="koeln")
    municipality("Agrigento", "IT")
    url = change_url(town)
    data = form_data(editor_client.get(url))
    data.update(
        {
            "alternative_names-TOTAL_FORMS": "1",
            "alternative_names-0-name": "Colonia Agrippina",
            "alternative_names-0-kind": "historical",
            "alternative_names-0-language": "la",
        }
    )
    response = editor_client.post(url, data)
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/municipality/")
    found = editor_client.get("/admin/registry/municipality/", {"q": "agrippina"})
    assert rows(found) == ["Köln"]


def test_reviewer_sees_the_change_page_read_only(reviewer_client):
    record = partnership(koeln(), liverpool(), start="1952")
    response = reviewer_client.get(change_url(record))
    assert response.status_code == 200
    assert (response.context["title"], response.context["has_change_permission"]) == (
        "View partnership",
        False,
    )
    assert list(response.context["adminform"].form.fields) == []


def test_reviewer_cannot_change(reviewer_client, editor):
    record = partnership(koeln(), liverpool(), start="1952")
    data = form_data_as(editor, change_url(record))  # the form an Editor would send
    data["status"] = "ended"
    response = reviewer_client.post(change_url(record), data)
    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.status, record.history.count()) == ("active", 1)


def test_reviewer_cannot_add(reviewer_client):
    koeln()
    assert reviewer_client.get(ADD).status_code == 403
    assert reviewer_client.post(ADD, {"kind": "network", "name": "Hanse"}).status_code == 403
    assert Partnership.objects.count() == 0


@pytest.mark.parametrize("staff", ["editor_client", "reviewer_client"])
def test_neither_group_can_delete(request, staff):
    # Editors may delete what they entered themselves within a day (tests/test_history.py);
    # this partnership is not theirs.
    client = request.getfixturevalue(staff)
    record = partnership(koeln(), liverpool(), start="1952")
    url = f"/admin/registry/partnership/{record.pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    bulk = client.post(
        "/admin/registry/partnership/",
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
        follow=True,
    )
    assert (bulk.status_code, rows(bulk)) == (200, ["Köln – Liverpool"])  # the list, unchanged
    assert Partnership.objects.filter(pk=record.pk).exists()


def test_reviewers_are_offered_no_action(reviewer_client):
    client = reviewer_client  # Editors are offered deleting their own (tests/test_history.py)
    partnership(koeln(), liverpool(), start="1952")
    response = client.get("/admin/registry/partnership/")
    assert (rows(response), response.context["action_form"]) == (["Köln – Liverpool"], None)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/registry/partnership/",
        "/admin/registry/partnership/add/",
        "/admin/registry/municipality/1/change/",
    ],
)
def test_anonymous_is_sent_to_the_login_page(client, db, url):
    response = client.get(url)
    assert (response.status_code, response["Location"]) == (302, f"/admin/login/?next={url}")


# History: who changed what and when, and reverting.


def change_partnership(client, record, **values):
    url = change_url(record)
    data = form_data(client.get(url))
    data.update(values)
    return client.post(url, data)


def test_an_admin_edit_is_recorded_with_its_user_and_changes(editor_client, editor):
    record = partnership(koeln(), liverpool(), start="1952")
    response = change_partnership(editor_client, record, status="ended", end="1990")
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    latest, created = record.history.all()
    assert (latest.history_type, latest.history_user, latest.status, latest.end) == (
        "~",
        editor,
        "ended",
        "1990",
    )
    assert created.history_user is None
    assert sorted(latest.diff_against(created).changed_fields) == ["end", "status"]


def test_history_page_lists_the_change_with_the_user(editor_client, editor):
    record = partnership(koeln(), liverpool(), start="1952")
    change_partnership(editor_client, record, status="ended", end="1990")
    response = editor_client.get(f"/admin/registry/partnership/{record.pk}/history/")
    changed, created = record.history.all()
    shown = table(response, "change-history")
    assert [row[:1] + row[2:] for row in shown] == [  # without the date and time
        ["Object", "Comment", "Changed by", "Change reason", "Changes"],
        [
            "Köln – Liverpool",
            "Changed",
            "editor",
            "",  # no reason was given
            "End: — → 1990 Status: active → ended",
        ],
        ["Köln – Liverpool", "Created", "—", "", "created"],
    ]
    assert [row[1] for row in shown] == [
        "Date/time",
        date_format(localtime(changed.history_date), "DATETIME_FORMAT"),
        date_format(localtime(created.history_date), "DATETIME_FORMAT"),
    ]


def test_reverting_from_history_restores_the_old_values(editor_client, editor):
    record = partnership(koeln(), liverpool(), start="1952")
    change_partnership(editor_client, record, status="ended", end="1990")
    original = record.history.earliest()
    url = f"/admin/registry/partnership/{record.pk}/history/{original.history_id}/"
    form = editor_client.get(url)
    assert form.context["title"] == "Revert Köln – Liverpool"
    response = editor_client.post(url, form_data(form))
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/partnership/")
    record.refresh_from_db()
    assert (record.status, record.end) == ("active", None)
    assert list(record.history.values_list("history_type", "history_user", "status")) == [
        ("~", editor.pk, "active"),
        ("~", editor.pk, "ended"),
        ("+", None, "active"),
    ]


def test_a_row_changed_inline_has_its_own_history_and_revert(editor_client, editor):
    record = partnership(koeln(), municipality("Corinto", "NI"), start="1988")
    member = Membership.objects.create(
        partnership=record, municipality=municipality("El Realejo", "NI"), side="second"
    )
    url = change_url(record)
    form = editor_client.get(url)
    assert re.findall(r'<a href="([^"]+)" class="inlinechangelink">', form.content.decode()) == [
        f"/admin/registry/membership/{member.pk}/change/"
    ]
    data = form_data(form)
    data["memberships-0-joined"] = "1989"
    assert editor_client.post(url, data).status_code == 302
    assert list(member.history.values_list("history_type", "history_user", "joined")) == [
        ("~", editor.pk, "1989"),
        ("+", None, None),
    ]
    original = member.history.earliest()
    revert_url = f"/admin/registry/membership/{member.pk}/history/{original.history_id}/"
    response = editor_client.post(revert_url, form_data(editor_client.get(revert_url)))
    assert (response.status_code, response["Location"]) == (302, "/admin/registry/membership/")
    member.refresh_from_db()
    assert member.joined is None


def test_reviewer_can_read_history_but_not_revert(reviewer_client, editor):
    record = partnership(koeln(), liverpool(), start="1952")
    record.status = Partnership.Status.ENDED
    record.save()
    original = record.history.earliest()
    history = reviewer_client.get(f"/admin/registry/partnership/{record.pk}/history/")
    assert [entry.status for entry in history.context["page_obj"]] == ["ended", "active"]
    url = f"/admin/registry/partnership/{record.pk}/history/{original.history_id}/"
    form = reviewer_client.get(url)
    assert (form.context["title"], form.context["revert_disabled"]) == (
        "View Köln – Liverpool",
        True,
    )
    assert reviewer_client.post(url, form_data_as(editor, url)).status_code == 403
    record.refresh_from_db()
    assert (record.status, record.history.count()) == ("ended", 2)


# Query counts: a changelist costs the same whatever the number of rows.


def make_rows(model, count):
    """``count`` rows of ``model``, each with its own related objects where the list shows any."""
    countries = ["DE", "GB", "FR", "PL", "IT", "NL"]
    if model is Country:
        keep = Country.objects.order_by("code").values_list("pk", flat=True)[:count]
        Country.objects.exclude(pk__in=list(keep)).delete()
    elif model is Theme:
        Theme.objects.all().delete()
        for number in range(count):
            Theme.objects.create(slug=f"theme-{number}", name_en=f"Theme {number}", name_de="T")
    elif model is Source:
        for number in range(count):
            Source.objects.create(key=f"source-{number}", citation=f"Source {number}")
    elif model is Region:
        for number in range(count):
            Region.objects.create(country=country(countries[number % 6]), name=f"R {number}")
    elif model is Municipality:
        for number in range(count):
            code = countries[number % 6]
            region = Region.objects.create(country=country(code), name=f"Region {number}")
            municipality(f"Town {number}", code, region=region)
    elif model is Association:
        for number in range(count):
            Association.objects.create(
                slug=f"verein-{number}",
                name=f"Verein {number}",
                municipality=municipality(f"Town {number}"),
            )
    elif model is Partnership:
        for number in range(count):
            partnership(
                municipality(f"Town {number}"),
                municipality(f"Ville {number}", countries[number % 6 or 1]),
                start=f"{1950 + number}",
            )
    elif model is ImportRun:
        for number in range(count):
            ImportRun.objects.create(
                file_name=f"list-{number}.csv",
                sha256=f"{number:064d}",
                rows_read=number,
                user=User.objects.create_user(f"importer-{number}"),
            )
    elif model in (Membership, KindChange, StatusChange):
        for number in range(count):
            record = partnership(
                municipality(f"Town {number}"),
                municipality(f"Ville {number}", countries[number % 6 or 1]),
                start=f"{1950 + number}",
            )
            if model is Membership:
                Membership.objects.create(
                    partnership=record,
                    municipality=municipality(f"Joint {number}", "NI"),
                    side="second",
                    joined=f"{1950 + number}-05",
                )
            elif model is KindChange:
                KindChange.objects.create(
                    partnership=record,
                    kind="official",
                    date=f"{1950 + number}",
                    recognised_by=record.first,
                )
            else:
                StatusChange.objects.create(partnership=record, status="active", date="1990")
    elif model is AlternativeName:
        for number in range(count):
            AlternativeName.objects.create(
                municipality=municipality(f"Town {number}"), name=f"Stadt {number}"
            )
    elif model is Event:
        for number in range(count):
            town = municipality(f"Town {number}")
            if number % 2:
                Event.objects.create(
                    kind=Event.Kind.FOUNDING, title="Founding", date="1200", municipality=town
                )
            else:
                Event.objects.create(
                    kind=Event.Kind.SIGNING,
                    title="Signing",
                    date=f"{1950 + number}-05",
                    partnership=partnership(town, municipality(f"Ville {number}", "FR")),
                )
    else:
        raise AssertionError(model)
    assert model.objects.count() == count


def changelist_url(model):
    return f"/admin/registry/{model._meta.model_name}/"


@pytest.mark.parametrize(
    ("model", "count", "queries"),
    [
        (Partnership, 1, 6),
        (Partnership, 30, 6),
        (Municipality, 1, 5),
        (Municipality, 30, 5),
        (Event, 1, 4),
        (Event, 30, 4),
        (Source, 1, 5),
        (Source, 30, 5),
        (Country, 1, 5),
        (Country, 30, 5),
        (Region, 1, 6),
        (Region, 30, 6),
        (Association, 1, 5),
        (Association, 30, 5),
        (Theme, 1, 5),
        (Theme, 30, 5),
        (ImportRun, 1, 7),
        (ImportRun, 30, 7),
        (Membership, 1, 5),
        (Membership, 30, 5),
        (KindChange, 1, 5),
        (KindChange, 30, 5),
        (StatusChange, 1, 5),
        (StatusChange, 30, 5),
        (AlternativeName, 1, 5),
        (AlternativeName, 30, 5),
    ],
)
def test_changelist_queries_do_not_grow_with_rows(
    client, superuser, django_assert_num_queries, model, count, queries
):
    make_rows(model, count)
    client.force_login(superuser)
    with django_assert_num_queries(queries):
        response = client.get(changelist_url(model))
    assert len(table(response)) == count + 1


@pytest.mark.parametrize(
    ("model", "count", "queries"),
    [
        (Partnership, 1, 6),
        (Partnership, 30, 6),
        (Municipality, 1, 5),
        (Municipality, 30, 5),
    ],
)
def test_search_queries_do_not_grow_with_rows(
    client, superuser, django_assert_num_queries, model, count, queries
):
    make_rows(model, count)
    client.force_login(superuser)
    with django_assert_num_queries(queries):
        response = client.get(changelist_url(model), {"q": "town"})
    assert len(table(response)) == count + 1


# Nothing in the admin fails: every page of every registered model opens.

REGISTERED = [
    "auth.Group",
    "auth.User",
    "registry.AlternativeName",
    "registry.Association",
    "registry.CorrectionReport",
    "registry.Country",
    "registry.Event",
    "registry.ImportRun",
    "registry.KindChange",
    "registry.Membership",
    "registry.Merge",
    "registry.Municipality",
    "registry.Partnership",
    "registry.Region",
    "registry.ReviewFlag",
    "registry.Source",
    "registry.StatusChange",
    "registry.Theme",
]


def test_the_smoke_test_covers_every_registered_model():
    assert sorted(model._meta.label for model in admin.site._registry) == REGISTERED


def full_record(superuser):
    """One of everything, linked the way the record links it, so every page has content."""
    source = Source.objects.create(
        key="koeln-partnerstaedte",
        citation="Stadt Köln: Städtepartnerschaften",
        published="2019-03",
    )
    region = Region.objects.create(country=country("DE"), name="Nordrhein-Westfalen", code="DE-NW")
    cologne = koeln(region=region, latitude="50.93333", longitude="6.95000")
    cologne.sources.add(source)
    corinto = municipality("Corinto", "NI")
    realejo = municipality("El Realejo", "NI")
    signed = partnership(cologne, corinto, start="1988-11", name="Köln – Corinto / El Realejo")
    signed.sources.add(source)
    signed.themes.add(Theme.objects.get(slug="development"))
    Membership.objects.create(partnership=signed, municipality=realejo, side="second")
    KindChange.objects.create(partnership=signed, kind="official", date="1988-11")
    StatusChange.objects.create(partnership=signed, status="active", date="1988")
    Event.objects.create(
        kind=Event.Kind.SIGNING, title="Signing", date="1988-11-22", partnership=signed
    )
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.EUROPE_PRIZE,
        title="Europe Prize",
        date="1990",
        municipality=cologne,
    )
    network("Hanse", cologne, municipality("Brugge", "BE"), start="1980")
    Association.objects.create(
        slug="koeln-corinto", name="Städtepartnerschaft Köln–Corinto", municipality=cologne
    )
    ImportRun.objects.create(file_name="partners.csv", sha256="0" * 64, user=superuser)
    ReviewFlag.objects.create(record=signed, comment="Is it still official?", created_by=superuser)
    CorrectionReport.objects.create(partnership=signed, text="Signed in 1989", language="de")
    Merge.objects.create(
        created=now(),
        created_by=superuser,
        into=cologne,
        into_name="Köln",
        merged_name="Koeln",
        merged_pk=0,
    )
    return {
        "auth.Group": Group.objects.get(name="Editors"),
        "auth.User": superuser,
        "registry.AlternativeName": cologne.alternative_names.get(),
        "registry.Association": Association.objects.get(),
        "registry.CorrectionReport": CorrectionReport.objects.get(),
        "registry.Country": country("DE"),
        "registry.Event": Event.objects.get(kind=Event.Kind.SIGNING),
        "registry.ImportRun": ImportRun.objects.get(),
        "registry.KindChange": KindChange.objects.get(),
        "registry.Membership": signed.memberships.get(),
        "registry.Merge": Merge.objects.get(),
        "registry.Municipality": cologne,
        "registry.Partnership": signed,
        "registry.Region": region,
        "registry.ReviewFlag": ReviewFlag.objects.get(),
        "registry.Source": source,
        "registry.StatusChange": StatusChange.objects.get(),
        "registry.Theme": Theme.objects.get(slug="development"),
    }


@pytest.mark.parametrize("label", REGISTERED)
def test_every_admin_page_of_every_model_opens(client, superuser, label):
    obj = full_record(superuser)[label]
    client.force_login(superuser)
    opts = obj._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    pages = {
        "index": "/admin/",
        "app index": f"/admin/{opts.app_label}/",
        "changelist": base,
        "changelist with counts": f"{base}?_facets=True",
        "search": f"{base}?q=k",
        "add": f"{base}add/",
        "change": f"{base}{obj.pk}/change/",
        "history": f"{base}{obj.pk}/history/",
        "delete": f"{base}{obj.pk}/delete/",
    }
    if hasattr(obj, "history"):
        if not obj.history.exists():  # loaded by a migration: its first version is an edit
            obj.save()
        pages["history version"] = f"{base}{obj.pk}/history/{obj.history.earliest().history_id}/"
    statuses = {page: client.get(url).status_code for page, url in pages.items()}
    expected = dict.fromkeys(pages, 200)
    if label == "registry.ImportRun":  # written by the import command, kept as written
        expected.update({"add": 403, "delete": 403})
    if label == "registry.ReviewFlag":  # made on the flagged record's page
        expected.update({"add": 403})
    if label == "registry.CorrectionReport":  # reported on the public site
        expected.update({"add": 403})
    if label == "registry.Merge":  # made by the municipalities' action, undone by its button
        expected.update({"add": 403, "delete": 403})
    assert statuses == expected


def autocomplete_fields():
    """Every (model, field) that has an autocomplete picker, on an admin or an inline."""
    fields = []
    for model_admin in admin.site._registry.values():
        for owner in [model_admin, *model_admin.inlines]:
            for name in owner.autocomplete_fields:
                fields.append((owner.model._meta.app_label, owner.model._meta.model_name, name))
    return sorted(set(fields))


# What each picker's model is searched for, and the one object that answer must be.
PICKER_SEARCHES = {
    "registry.Association": ("corinto", "registry.Association"),
    "registry.Country": ("germany", "registry.Country"),
    "registry.Municipality": ("koln", "registry.Municipality"),
    "registry.Partnership": ("realejo", "registry.Partnership"),
    "registry.Region": ("westfalen", "registry.Region"),
    "registry.Source": ("partnerstaedte", "registry.Source"),
    "registry.Theme": ("development", "registry.Theme"),
}


@pytest.mark.parametrize(("app_label", "model_name", "field_name"), autocomplete_fields())
def test_every_autocomplete_picker_finds_its_object(
    client, superuser, app_label, model_name, field_name
):
    record = full_record(superuser)
    target = apps.get_model(app_label, model_name)._meta.get_field(field_name).related_model
    term, label = PICKER_SEARCHES[target._meta.label]
    client.force_login(superuser)
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    found = record[label]
    assert response.json() == {
        "results": [{"id": str(found.pk), "text": str(found)}],
        "pagination": {"more": False},
    }


# A NUL character in the address: refused with a message before anything is looked up
# (PostgreSQL refuses such a query, a 500; SQLite silently found nothing).


def nul_refusal(parameter):
    return [
        (
            "error",
            f"The address of this page has a NUL character (%00) in “{parameter}”. No record "
            "can contain one, so nothing was looked up: remove it from the address, or start "
            "again from the list.",
        )
    ]


def refused(response):
    """(status, messages, whether any town's name is on the page) of a refused request."""
    page = response.content.decode()
    return response.status_code, page_messages(response), "Köln" in page or "Liverpool" in page


def test_a_nul_in_the_partner_country_filter_is_refused_with_a_message(editor_client):
    partnership(koeln(), liverpool())
    response = editor_client.get("/admin/registry/partnership/", {"country": "\x00"})
    assert refused(response) == (400, nul_refusal("country"), False)
    assert "<title>Not looked up | Django site admin</title>" in response.content.decode()


def test_the_nul_refusal_speaks_german_to_who_asks_for_it(editor_client):
    response = editor_client.get(
        "/admin/registry/partnership/", {"country": "\x00"}, headers={"Accept-Language": "de"}
    )
    assert (response.status_code, page_messages(response)) == (
        400,
        [
            (
                "error",
                "Die Adresse dieser Seite enthält ein NUL-Zeichen (%00) in „country“. Kein "
                "Eintrag kann eines enthalten, daher wurde nichts nachgeschlagen: Entfernen Sie "
                "es aus der Adresse oder beginnen Sie noch einmal bei der Liste.",
            )
        ],
    )


def changelist_parameters(model_admin, user):
    """Every parameter the changelist of ``model_admin`` reads from the address: each list
    filter's, the date hierarchy's, the search, sorting, paging, and a lookup of its own."""
    request = RequestFactory().get("/")
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    names = {"q", "o", "p", "pk", "id__in", "_facets", "\x00"}
    for spec in changelist.filter_specs:
        names.update(spec.expected_parameters())
    if model_admin.date_hierarchy:
        names.update(f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day"))
    text_fields = [
        field.name
        for field in model_admin.model._meta.concrete_fields
        if isinstance(field, CharField) and not field.choices
    ]
    names.update(f"{name}__exact" for name in text_fields[:1])
    return sorted(names)


REGISTRY_MODELS = [model for model in admin.site._registry if model._meta.app_label == "registry"]


@pytest.mark.parametrize("model", REGISTRY_MODELS, ids=lambda model: model._meta.label)
def test_a_nul_in_any_parameter_of_a_changelist_is_refused_with_a_message(
    editor_client, editor, model
):
    partnership(koeln(), liverpool())
    model_admin = admin.site._registry[model]
    answers = {}
    for name in changelist_parameters(model_admin, editor):
        value = "1" if name == "\x00" else "\x00"
        response = editor_client.get(changelist_url(model), {name: value})
        answers[name] = refused(response)
    assert answers == {
        name: (400, nul_refusal(name.replace("\x00", "%00")), False) for name in answers
    }


def test_a_nul_in_the_autocomplete_term_is_refused(editor_client):
    koeln()
    query = {"app_label": "registry", "model_name": "partnership", "field_name": "first"}
    response = editor_client.get("/admin/autocomplete/", {**query, "term": "\x00"})
    # Django's page for a bad request (the picker says "The results could not be loaded"); the
    # reason is in the log: an admin site of our own could answer in JSON.
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert "<h1>Bad Request (400)</h1>" in response.content.decode()
    found = editor_client.get("/admin/autocomplete/", {**query, "term": "koln"})
    assert [result["text"] for result in found.json()["results"]] == ["Köln"]


@pytest.mark.parametrize(("app_label", "model_name", "field_name"), autocomplete_fields())
def test_a_nul_in_any_autocomplete_term_is_refused(
    editor_client, superuser, app_label, model_name, field_name
):
    full_record(superuser)
    query = {"app_label": app_label, "model_name": model_name, "field_name": field_name}
    for term in ("\x00", "k\x00ln"):
        response = editor_client.get("/admin/autocomplete/", {**query, "term": term})
        assert response.status_code == 400, term


@pytest.mark.parametrize("page", ["add", "change", "history", "history version", "delete"])
def test_a_nul_in_the_address_of_a_form_or_history_page_is_refused(editor_client, editor, page):
    twinning = partnership(koeln(), liverpool())
    version = twinning.history.get().history_id
    base = f"/admin/registry/partnership/{twinning.pk}/"
    url = {
        "add": ADD,
        "change": f"{base}change/",
        "history": f"{base}history/",
        "history version": f"{base}history/{version}/",
        "delete": f"{base}delete/",
    }[page]
    # A form's initial value, or a parameter the page carries along (the list's filters).
    for name in ("first", "name", "_changelist_filters", "p"):
        response = editor_client.get(url, {name: "\x00"})
        assert refused(response) == (400, nul_refusal(name), False), name


@pytest.mark.parametrize("key", ["abc", "%00", "1.5"])
def test_a_history_page_of_a_key_no_record_can_have_is_a_404(editor_client, key):
    twinning = partnership(koeln(), liverpool())
    version = twinning.history.get().history_id
    base = "/admin/registry/partnership/"
    pages = [
        f"{base}{key}/history/",
        f"{base}{twinning.pk}/history/{key}/",
        f"{base}{key}/history/{version}/",
    ]
    assert [editor_client.get(url).status_code for url in pages] == [404, 404, 404]


# An address the admin cannot use otherwise: refused with a 400 and a message naming the
# parameter (a 500 before, or Django's unfiltered list at "?e=1" without a word, or its
# "Database error" page), on every changelist and add form, the accounts' ones included.

HUGE = str(2**70)


def admin_url(model, page=""):
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{page}"


def lookup_refusal(parameter):
    return [
        (
            "error",
            "This list cannot be shown with the value the address of this page gives for "
            f"“{parameter}”: correct or remove it in the address, or start again from the list.",
        )
    ]


def key_refusal(parameter, model):
    return [
        (
            "error",
            f"“{parameter}” in the address of this page is not the key of a record ({model}) "
            "that exists, so the form was not opened: correct or remove it in the address, or "
            "start again from the list.",
        )
    ]


ADMIN_MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda model: model._meta.label)
def test_a_lookup_of_the_wrong_type_is_refused_on_every_changelist(superuser, client, model):
    client.force_login(superuser)
    full_record(superuser)  # SQLite matches a regular expression only against a row
    queries = [
        {"id__gte": "abc"},
        {"id__in": "1,abc"},
        {"id__range": "1"},  # a range needs two ends
        {"id__regex": "("},  # no regular expression: the database refuses it
        {"no_such_field": "1"},
        {"id__gte": "abc", "e": "1"},  # Django's "Database error" page
        {"q": "k", "id__gte": "abc", "o": "1"},  # the one that is wrong is named
    ]
    answers = [refused(client.get(admin_url(model), query)) for query in queries]
    expected = [
        (400, lookup_refusal(name), False)
        for name in ["id__gte", "id__in", "id__range", "id__regex", "no_such_field"]
        + ["id__gte", "id__gte"]
    ]
    assert answers == expected


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/admin/registry/partnership/?start__gte=abc", "start__gte"),
        ("/admin/registry/partnership/?created__year=abc", "created__year"),  # no such field
        ("/admin/registry/municipality/?partner_count__gt=x", "partner_count__gt"),
        ("/admin/registry/municipality/?kind__exact=city&partner_count__gt=x", "partner_count__gt"),
    ],
)
def test_a_field_lookup_of_the_wrong_type_is_refused_naming_it(editor_client, url, parameter):
    partnership(koeln(), liverpool())
    assert refused(editor_client.get(url)) == (400, lookup_refusal(parameter), False)


# Every list filter whose value has a type: a key, a yes or no, empty or not. (A choice or a
# text has none: "kind__exact=abc" lists what has that kind, nothing.)
TYPED_FILTERS = [
    ("auth.User", "groups__id__exact"),
    ("auth.User", "is_active__exact"),
    ("auth.User", "is_staff__exact"),
    ("auth.User", "is_superuser__exact"),
    ("registry.Country", "ended__isempty"),
    ("registry.Municipality", "country__id__exact"),
    ("registry.Municipality", "seeking_partner__exact"),
    ("registry.Region", "country__id__exact"),
]


def two_regions():
    """A filter of one choice is not shown (nor applied): two countries have a region."""
    Region.objects.create(country=country("DE"), name="Nordrhein-Westfalen", code="DE-NW")
    Region.objects.create(country=country("GB"), name="Merseyside", code="GB-MSY")


def test_the_typed_filters_are_every_filter_with_a_typed_value(superuser):
    partnership(koeln(), liverpool())
    two_regions()
    request = RequestFactory().get("/")
    request.user = superuser
    found = []
    for model, model_admin in admin.site._registry.items():
        for spec in model_admin.get_changelist_instance(request).filter_specs:
            if isinstance(spec, admin.SimpleListFilter | admin.ChoicesFieldListFilter):
                continue  # the decade and country filters say so themselves; choices: text
            found.extend(
                (model._meta.label, name)
                for name in spec.expected_parameters()
                if not name.endswith("__isnull")  # any text is a yes or no
            )
    assert sorted(found) == TYPED_FILTERS


@pytest.mark.parametrize(("label", "parameter"), TYPED_FILTERS)
@pytest.mark.parametrize("facets", [{}, {"_facets": "True"}])
def test_a_list_filter_given_a_value_of_the_wrong_type_is_refused(
    superuser, client, label, parameter, facets
):
    client.force_login(superuser)
    partnership(koeln(), liverpool())
    two_regions()
    response = client.get(admin_url(apps.get_model(label)), {parameter: "abc", **facets})
    assert refused(response) == (400, lookup_refusal(parameter), False)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"created__year": "abc"}, "created__year"),
        ({"created__year": ""}, "created__year"),
        ({"created__year": "-1"}, "created__year"),
        ({"created__year": "0"}, "created__year"),
        ({"created__year": "1"}, "created__year"),  # its start is before year 1 in UTC
        ({"created__year": "9999"}, "created__year"),  # its end is after 9999
        ({"created__year": HUGE}, "created__year"),
        ({"created__year": "2020", "created__month": "13"}, "created__month"),
        ({"created__year": "2020", "created__month": "abc"}, "created__month"),
        ({"created__year": "2020", "created__month": "0"}, "created__month"),
        ({"created__year": "2020", "created__month": "2", "created__day": "30"}, "created__day"),
        ({"created__year": "2020", "created__month": "1", "created__day": "x"}, "created__day"),
        ({"created__year": "9999", "created__month": "12", "created__day": "31"}, "created__day"),
        ({"created__month": "abc"}, "created__month"),  # without a year: a plain lookup
        ({"created__year": "abc", "e": "1"}, "created__year"),  # Django's "Database error"
    ],
)
def test_a_date_hierarchy_value_no_date_has_is_refused_naming_it(
    superuser, client, query, parameter
):
    """ImportRun's list is the one with a date hierarchy."""
    client.force_login(superuser)
    ImportRun.objects.create(file_name="partners.csv", sha256="0" * 64, user=superuser)
    response = client.get("/admin/registry/importrun/", query)
    assert (response.status_code, page_messages(response)) == (400, lookup_refusal(parameter))
    assert "partners.csv" not in response.content.decode()


def test_the_date_hierarchy_still_lists_a_year_month_and_day(superuser, client):
    client.force_login(superuser)
    run = ImportRun.objects.create(file_name="partners.csv", sha256="0" * 64, user=superuser)
    created = localtime(run.created)
    days = {"created__year": created.year, "created__month": created.month}
    for query in ({"created__year": created.year}, days, {**days, "created__day": created.day}):
        response = client.get("/admin/registry/importrun/", query)
        assert [row[1] for row in table(response)[1:]] == ["partners.csv"]
    response = client.get("/admin/registry/importrun/", {"created__year": created.year - 1})
    assert table(response)[1:] == []


def test_the_lookup_refusal_speaks_german_to_who_asks_for_it(editor_client):
    response = editor_client.get(
        "/admin/registry/partnership/", {"id__gte": "abc"}, headers={"Accept-Language": "de"}
    )
    assert (response.status_code, page_messages(response)) == (
        400,
        [
            (
                "error",
                "Diese Liste kann mit dem Wert, den die Adresse dieser Seite für „id__gte“ "
                "angibt, nicht gezeigt werden: Korrigieren oder entfernen Sie ihn in der "
                "Adresse oder beginnen Sie noch einmal bei der Liste.",
            )
        ],
    )
    assert "<title>Adresse nicht verstanden | Django-Systemverwaltung</title>" in (
        response.content.decode()
    )


@pytest.mark.parametrize("code", ["ZZ", "de", "FR", "<b>"])
def test_an_unknown_partner_country_says_so_and_lists_nothing(
    admin_client, four_partnerships, code
):
    """FR is a country, but no town of the registry is in it, so it is not offered either."""
    for query in ({"country": code}, {"country": code, "_facets": "True"}):
        response = admin_client.get("/admin/registry/partnership/", query)
        assert (rows(response), page_messages(response)) == (
            [],
            [
                (
                    "error",
                    f"“{escape(code)}” is not the code of a country with a municipality, "
                    "such as DE.",
                )
            ],
        )


def relation_fields():
    """Every (model, relation) an add form takes an initial value of from the address."""
    return sorted(
        (model._meta.label, field.name)
        for model, model_admin in admin.site._registry.items()
        # Import runs are written by the import command only, flags on the flagged record's
        # page, corrections on the public site, merges by the municipalities' action: no add
        # form.
        if model not in (ImportRun, Merge, ReviewFlag, CorrectionReport)
        for field in model._meta.get_fields()
        if field.is_relation and not field.auto_created
    )


@pytest.mark.parametrize(("label", "field_name"), relation_fields())
def test_an_add_form_given_no_records_key_for_a_relation_is_refused(
    superuser, client, label, field_name
):
    client.force_login(superuser)
    partnership(koeln(), liverpool())
    model = apps.get_model(label)
    field = model._meta.get_field(field_name)
    values = ["abc", "-1", "1.5", HUGE, "99999"]
    if field.many_to_many:
        values.append("1,abc")
    answers = {
        value: refused(client.get(admin_url(model, "add/"), {field_name: value}))
        for value in values
    }
    expected = (400, key_refusal(field_name, field.related_model._meta.verbose_name), False)
    assert answers == dict.fromkeys(values, expected)


def selected(response, name):
    """The texts of the chosen options of the select ``name`` of a form."""
    html = response.content.decode()
    select = re.search(rf'<select name="{name}".*?</select>', html, re.DOTALL).group()
    return re.findall(r"<option value=\"[^\"]*\" selected>(.*?)</option>", select)


def test_an_add_form_given_records_keys_opens_with_them(editor_client):
    cologne, scouse = koeln(), liverpool()
    themes = Theme.objects.filter(slug__in=["development", "culture"]).order_by("pk")
    keys = ",".join(str(theme.pk) for theme in themes)
    response = editor_client.get(ADD, {"first": cologne.pk, "second": scouse.pk, "themes": keys})
    assert (selected(response, "first"), selected(response, "second")) == (["Köln"], ["Liverpool"])
    assert selected(response, "themes") == [str(theme) for theme in themes]


@pytest.mark.parametrize(
    "junk", ["abc", "%", "created__year=abc", "id__gte=abc", "p=abc&o=x", "country=ZZ"]
)
def test_an_add_form_carries_any_list_filters_along(editor_client, junk):
    """The list it came from is only a way back: whatever it was filtered by is no value of
    the form, and a bad one comes up when that list is shown again."""
    response = editor_client.get(ADD, {"_changelist_filters": junk, "name": "Hanse"})
    assert (response.status_code, form_data(response)["name"]) == (200, "Hanse")


def test_the_key_refusal_speaks_german_to_who_asks_for_it(editor_client):
    response = editor_client.get(ADD, {"first": "abc"}, headers={"Accept-Language": "de"})
    assert (response.status_code, page_messages(response)) == (
        400,
        [
            (
                "error",
                "„first“ in der Adresse dieser Seite ist nicht der Schlüssel eines vorhandenen "
                "Eintrags (Gemeinde), daher wurde das Formular nicht geöffnet: Korrigieren oder "
                "entfernen Sie ihn in der Adresse oder beginnen Sie noch einmal bei der Liste.",
            )
        ],
    )


@pytest.mark.parametrize("model", [User, Group], ids=lambda model: model._meta.label)
def test_a_nul_in_the_address_of_an_accounts_page_is_refused(superuser, client, model):
    client.force_login(superuser)
    answers = [
        refused(client.get(admin_url(model), {"q": "\x00"})),
        refused(client.get(admin_url(model, "add/"), {"name": "\x00"})),
    ]
    assert answers == [(400, nul_refusal("q"), False), (400, nul_refusal("name"), False)]
