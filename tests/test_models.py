"""Integrity rules: each one enforced by the database and explained by ``clean()``."""

import datetime
import random
from decimal import Decimal

import pytest
from conftest import country, municipality, network, partnership
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import translation

from registry.models import (
    AlternativeName,
    Event,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Source,
    StatusChange,
    quick_reverse,
)

pytestmark = pytest.mark.django_db

Kind = Partnership.Kind


def violates(name):
    """Expect the database to refuse a write, naming the constraint where it can.

    PostgreSQL names every constraint; SQLite names check constraints and expression indexes
    but reports a plain unique constraint by its columns.
    """
    if connection.vendor == "sqlite":
        return pytest.raises(IntegrityError, match=f"{name}|UNIQUE constraint failed: registry_")
    return pytest.raises(IntegrityError, match=name)


def messages(instance):
    with pytest.raises(ValidationError) as error:
        instance.full_clean()
    return error.value.message_dict


@pytest.fixture
def koeln():
    return municipality("Köln")


@pytest.fixture
def liverpool():
    return municipality("Liverpool", "GB")


# Partnerships


def test_partnership_with_itself_is_refused_by_the_database(koeln):
    with violates("partnership_not_with_itself"), transaction.atomic():
        Partnership.objects.create(first=koeln, second=koeln, slug="self")
    assert Partnership.objects.count() == 0


def test_partnership_with_itself_is_explained(koeln):
    assert messages(Partnership(first=koeln, second=koeln)) == {
        "second": ["A municipality cannot be partnered with itself."]
    }


def test_reversed_pair_of_same_kind_is_refused_by_the_database(koeln, liverpool):
    partnership(koeln, liverpool)
    with violates("partnership_unique_pair_per_kind"), transaction.atomic():
        Partnership.objects.create(first=liverpool, second=koeln, slug="reversed")
    with violates("partnership_unique_pair_per_kind"), transaction.atomic():
        Partnership.objects.create(first=koeln, second=liverpool, slug="same-order")
    assert Partnership.objects.count() == 1


def test_same_pair_of_another_kind_is_allowed(koeln, liverpool):
    partnership(koeln, liverpool, kind=Kind.FRIENDSHIP)
    partnership(liverpool, koeln, kind=Kind.OFFICIAL)
    assert Partnership.objects.count() == 2


def test_reversed_pair_is_explained_naming_the_existing_partnership(koeln, liverpool):
    partnership(koeln, liverpool)
    assert messages(Partnership(first=liverpool, second=koeln)) == {
        "second": [
            "These two municipalities already have a partnership of this kind: Köln – Liverpool."
        ]
    }


def test_saving_an_existing_partnership_is_not_a_duplicate_of_itself(koeln, liverpool):
    existing = partnership(koeln, liverpool, start="1952")
    existing.full_clean()


def test_end_before_start_is_refused_by_the_database(koeln, liverpool):
    with violates("partnership_end_not_before_start"), transaction.atomic():
        partnership(koeln, liverpool, start="1988-11", end="1988-10-31")


@pytest.mark.parametrize(
    ("start", "end"),
    [("1980-05-22", "1980"), ("1980-05-22", "1980-05"), ("1980", "1980-01-01"), ("1952", "1952")],
)
def test_end_in_the_same_period_as_the_start_is_not_before_it(koeln, liverpool, start, end):
    created = partnership(koeln, liverpool, start=start, end=end)
    created.full_clean()


def test_end_before_start_is_explained(koeln, liverpool):
    assert messages(Partnership(first=koeln, second=liverpool, start="1990", end="1989-12")) == {
        "end": ["The end cannot be before the start."]
    }


def test_bilateral_kind_without_second_partner_is_refused_by_the_database(koeln):
    with violates("partnership_bilateral_has_two_sides"), transaction.atomic():
        Partnership.objects.create(first=koeln, kind=Kind.FRIENDSHIP, slug="half")


def test_network_with_sides_is_refused_by_the_database(koeln, liverpool):
    with violates("partnership_bilateral_has_two_sides"), transaction.atomic():
        Partnership.objects.create(
            first=koeln, second=liverpool, kind=Kind.NETWORK, name="Hanse", slug="hanse"
        )


def test_bilateral_kind_needs_two_partners_explained(koeln):
    assert messages(Partnership(first=koeln, kind=Kind.ADOPTION)) == {
        "second": ["A bilateral partnership needs a second partner."]
    }
    assert messages(Partnership(kind=Kind.PROJECT)) == {
        "first": ["A bilateral partnership needs a first partner."],
        "second": ["A bilateral partnership needs a second partner."],
    }


def test_network_sides_and_name_explained(koeln, liverpool):
    assert messages(Partnership(kind=Kind.NETWORK, first=koeln, second=liverpool)) == {
        "first": ["A network has no sides: add its towns as members below instead."],
        "name": ["A network needs a name."],
    }


def test_network_without_name_is_refused_by_the_database():
    with violates("partnership_network_has_name"), transaction.atomic():
        Partnership.objects.create(kind=Kind.NETWORK, slug="nameless")


def test_slug_is_made_from_the_partners(koeln, liverpool):
    first = partnership(koeln, liverpool, kind=Kind.FRIENDSHIP)
    second = partnership(koeln, liverpool, kind=Kind.OFFICIAL)
    assert (first.slug, second.slug) == (
        f"{koeln.slug}--{liverpool.slug}",
        f"{koeln.slug}--{liverpool.slug}--official",
    )


# Memberships


def test_municipality_twice_in_one_network_is_refused_by_the_database(koeln):
    hanse = network("Städtebund DIE HANSE", koeln)
    with violates("membership_once_per_partnership"), transaction.atomic():
        Membership.objects.create(partnership=hanse, municipality=koeln)
    assert hanse.memberships.count() == 1


def test_municipality_twice_in_one_network_is_explained(koeln):
    hanse = network("Städtebund DIE HANSE", koeln)
    assert messages(Membership(partnership=hanse, municipality=koeln)) == {
        "__all__": ["This municipality is already a member."]
    }


def test_joint_partner_cannot_be_one_of_the_two_partners(koeln, liverpool):
    link = partnership(koeln, liverpool)
    assert messages(Membership(partnership=link, municipality=koeln, side="second")) == {
        "municipality": ["This municipality is already one of the two partners."]
    }


def test_joint_partner_needs_a_side_and_network_member_none(koeln, liverpool):
    link = partnership(koeln, municipality("Corinto", "NI"))
    assert messages(Membership(partnership=link, municipality=liverpool)) == {
        "side": ["Say which side this joint partner belongs to."]
    }
    hanse = network("Städtebund DIE HANSE")
    assert messages(Membership(partnership=hanse, municipality=liverpool, side="first")) == {
        "side": ["Members of a network have no side; leave it empty."]
    }


def test_member_leaving_before_joining_is_refused_and_explained(koeln):
    hanse = network("Städtebund DIE HANSE")
    with violates("membership_left_not_before_joined"), transaction.atomic():
        Membership.objects.create(partnership=hanse, municipality=koeln, joined="1980", left="1979")
    assert messages(
        Membership(partnership=hanse, municipality=koeln, joined="1980", left="1979")
    ) == {"left": ["A member cannot leave before it joined."]}


# Kind and status histories keep conflicting claims side by side


def test_conflicting_kind_claims_are_both_kept(koeln):
    dnipro = municipality("Dnipro", "UA")
    link = partnership(koeln, dnipro, kind=Kind.OFFICIAL)
    express = Source.objects.create(key="express", citation="express.de")
    europesays = Source.objects.create(key="europesays", citation="europesays.com")
    KindChange.objects.create(partnership=link, kind=Kind.PROJECT, date="2022")
    may = KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="2024-05")
    sep = KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="2025-09")
    may.sources.add(express)
    sep.sources.add(europesays)
    claims = [
        (change.kind, change.date.display(), [s.citation for s in change.sources.all()])
        for change in link.kind_changes.order_by("date")
    ]
    assert claims == [
        ("project", "2022", []),
        ("official", "May 2024", ["express.de"]),
        ("official", "September 2025", ["europesays.com"]),
    ]


def test_same_kind_claim_twice_on_the_same_date_is_refused(koeln, liverpool):
    link = partnership(koeln, liverpool)
    KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="1952")
    with violates("kind_change_unique_per_date"), transaction.atomic():
        KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="1952")


def test_status_change_twice_on_the_same_date_is_refused(koeln, liverpool):
    link = partnership(koeln, liverpool)
    StatusChange.objects.create(partnership=link, status="suspended", date="2022")
    with violates("status_change_unique_per_date"), transaction.atomic():
        StatusChange.objects.create(partnership=link, status="suspended", date="2022")


# Events


def test_event_without_subject_is_refused_and_explained():
    event = Event(kind=Event.Kind.VISIT, title="Visit", date="1950")
    assert messages(event) == {
        "partnership": ["An event belongs to a partnership or a municipality: choose one."]
    }
    with violates("event_has_subject"), transaction.atomic():
        event.save()


def test_award_needs_a_level_and_only_awards_have_one(koeln):
    assert messages(
        Event(kind=Event.Kind.AWARD, title="Europe Prize", date="1955", municipality=koeln)
    ) == {"award": ["Name the level of the award."]}
    assert messages(
        Event(kind=Event.Kind.VISIT, title="Visit", date="1955", municipality=koeln, award="other")
    ) == {"award": ["Only an award has a level."]}
    with violates("event_award_level_only_for_awards"), transaction.atomic():
        Event.objects.create(kind="award", title="Prize", date="1955", municipality=koeln)


def test_same_event_twice_is_refused(koeln):
    Event.objects.create(
        kind="award", award="europe_prize", title="Europe Prize", date="1993", municipality=koeln
    )
    with violates("event_unique_per_municipality"), transaction.atomic():
        Event.objects.create(
            kind="award",
            award="europe_prize",
            title="Europe Prize",
            date="1993",
            municipality=koeln,
        )


# Municipalities


def test_coordinates_in_range_and_together(koeln):
    koeln.latitude, koeln.longitude = Decimal("95"), Decimal("6.95")
    assert messages(koeln) == {"__all__": ["Latitude lies between -90 and 90."]}
    koeln.latitude, koeln.longitude = Decimal("50.94"), None
    assert messages(koeln) == {"__all__": ["Give both latitude and longitude, or neither."]}
    with violates("municipality_coordinates_together"), transaction.atomic():
        Municipality.objects.filter(pk=koeln.pk).update(latitude=50.94, longitude=None)
    with violates("municipality_longitude_range"), transaction.atomic():
        Municipality.objects.filter(pk=koeln.pk).update(latitude=50.94, longitude=181)


def test_municipality_cannot_be_its_own_parent_or_successor(koeln):
    koeln.parent = koeln
    assert messages(koeln) == {"parent": ["A municipality cannot be part of itself."]}
    koeln.parent = None
    koeln.successor = koeln
    assert messages(koeln) == {"successor": ["A municipality cannot merge into itself."]}
    with violates("municipality_not_own_parent"), transaction.atomic():
        Municipality.objects.filter(pk=koeln.pk).update(parent=koeln)


def test_region_must_belong_to_the_municipalitys_country(koeln):
    nord = country("FR").regions.create(name="Nord")
    koeln.region = nord
    assert messages(koeln) == {"region": ["This region belongs to another country."]}


def test_wikidata_id_is_checked_and_unique(koeln):
    koeln.wikidata_id = "365"
    assert messages(koeln) == {"wikidata_id": ["A Wikidata id is Q followed by digits, e.g. Q365."]}
    koeln.wikidata_id = "q365"
    koeln.full_clean()
    assert koeln.wikidata_id == "Q365"
    koeln.save()
    other = municipality("Cologne duplicate")
    with violates("municipality_unique_wikidata_id"), transaction.atomic():
        Municipality.objects.filter(pk=other.pk).update(wikidata_id="Q365")


def test_two_municipalities_without_wikidata_id_are_fine():
    municipality("Bonn")
    municipality("Oxford", "GB")
    assert Municipality.objects.filter(wikidata_id="").count() == 2


def test_alternative_name_years_in_order(koeln):
    chemnitz = municipality("Chemnitz")
    name = AlternativeName(
        municipality=chemnitz, name="Karl-Marx-Stadt", kind="historical", used_from=1990
    )
    name.used_until = 1953
    assert messages(name) == {"__all__": ["A name cannot go out of use before it came into use."]}
    name.used_from, name.used_until = 1953, 1990
    name.save()
    assert str(name) == "Karl-Marx-Stadt (1953–1990)"


# Search by any name


def test_search_ignores_case_and_accents_and_reads_alternative_names(koeln):
    AlternativeName.objects.create(municipality=koeln, name="Cologne", language="en")
    municipality("Košice", "SK")
    municipality("Kassel")
    municipality("Koelnische Heide")  # "koeln" as written must still find what it says
    terms = ["koln", "Koeln", "COLOGNE", "kosice"]
    found = {term: [m.name for m in Municipality.objects.search(term)] for term in terms}
    assert found == {
        "koln": ["Köln"],
        "Koeln": ["Koelnische Heide", "Köln"],
        "COLOGNE": ["Köln"],
        "kosice": ["Košice"],
    }


def test_partnership_search_finds_either_side_by_any_name(koeln, liverpool):
    montbeliard = municipality("Montbéliard", "FR")
    AlternativeName.objects.create(municipality=montbeliard, name="Mömpelgard", language="de")
    ludwigsburg = municipality("Ludwigsburg")
    wanted = partnership(ludwigsburg, montbeliard, start="1950")
    partnership(koeln, liverpool)
    assert list(Partnership.objects.search("mompelgard")) == [wanted]
    assert list(Partnership.objects.search("Ludwigsburg")) == [wanted]


# The ranking's stored counts


def test_partner_count_counts_official_active_partnerships_once(koeln, liverpool):
    corinto = municipality("Corinto", "NI")
    el_realejo = municipality("El Realejo", "NI")
    volgograd = municipality("Volgograd", "RU")
    bonn = municipality("Bonn")
    joint = partnership(koeln, corinto, name="Köln – Corinto / El Realejo")
    Membership.objects.create(partnership=joint, municipality=el_realejo, side="second")
    partnership(koeln, liverpool)
    partnership(koeln, volgograd, status=Partnership.Status.SUSPENDED)
    partnership(koeln, bonn, kind=Kind.FRIENDSHIP)
    network("Städtebund DIE HANSE", koeln, liverpool)
    counts = dict(Municipality.objects.values_list("name", "partner_count"))
    assert counts == {
        "Köln": 2,
        "Liverpool": 1,
        "Corinto": 1,
        "El Realejo": 1,
        "Volgograd": 0,
        "Bonn": 0,
    }


def test_partner_count_follows_kind_status_side_changes_and_deletes(koeln, liverpool):
    turku = municipality("Turku", "FI")
    link = partnership(koeln, liverpool, kind=Kind.FRIENDSHIP)

    def counts():
        return dict(Municipality.objects.values_list("name", "partner_count"))

    assert counts() == {"Köln": 0, "Liverpool": 0, "Turku": 0}
    link.kind = Kind.OFFICIAL
    link.save()
    assert counts() == {"Köln": 1, "Liverpool": 1, "Turku": 0}
    link.second = turku
    link.save()
    assert counts() == {"Köln": 1, "Liverpool": 0, "Turku": 1}
    link.status = Partnership.Status.SUSPENDED
    link.save()
    assert counts() == {"Köln": 0, "Liverpool": 0, "Turku": 0}
    link.status = Partnership.Status.ACTIVE
    link.save()
    joint = Membership.objects.create(partnership=link, municipality=liverpool, side="second")
    assert counts() == {"Köln": 1, "Liverpool": 1, "Turku": 1}
    joint.delete()
    assert counts() == {"Köln": 1, "Liverpool": 0, "Turku": 1}
    link.delete()
    assert counts() == {"Köln": 0, "Liverpool": 0, "Turku": 0}


def test_recount_repairs_stored_counts(koeln, liverpool):
    partnership(koeln, liverpool)
    Municipality.objects.update(partner_count=7)
    Municipality.objects.all().recount_partners()
    assert dict(Municipality.objects.values_list("name", "partner_count")) == {
        "Köln": 1,
        "Liverpool": 1,
    }


# Natural keys


def test_natural_keys_round_trip(koeln, liverpool):
    link = partnership(koeln, liverpool, start="1952")
    change = KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="1952")
    event = Event.objects.create(
        partnership=link, kind="signing", title="Signing of the certificate", date="1952"
    )
    award = Event.objects.create(
        municipality=koeln,
        kind="award",
        award="flag_of_honour",
        title="Flag of Honour",
        date="1961",
    )
    for obj in [koeln, link, change, event, award, country("DDDE")]:
        manager = type(obj)._default_manager
        assert manager.get_by_natural_key(*obj.natural_key()) == obj
    assert link.natural_key() == (f"{koeln.slug}--{liverpool.slug}",)
    assert event.natural_key() == (link.slug, None, "signing", "1952", "Signing of the certificate")


# Counting on a past date, from the dated records


def test_in_force_on_reads_kind_and_status_histories_and_dates(koeln, liverpool):
    keighley, poix = municipality("Keighley", "GB"), municipality("Poix-du-Nord", "FR")
    volgograd, kyoto = municipality("Volgograd", "RU"), municipality("Kyoto", "JP")
    undated = partnership(koeln, municipality("Undated", "FR"))
    adoption = partnership(keighley, poix, start="1920")
    KindChange.objects.create(partnership=adoption, kind=Kind.ADOPTION, date="1920")
    KindChange.objects.create(partnership=adoption, kind=Kind.ADOPTION, date="1921")
    KindChange.objects.create(partnership=adoption, kind=Kind.OFFICIAL, date="1986")
    suspended = partnership(koeln, volgograd, start="1988-11", status=Partnership.Status.SUSPENDED)
    StatusChange.objects.create(partnership=suspended, status="suspended", date="2022")
    ended = partnership(koeln, kyoto, start="1963", end="1977")
    liverpool_link = partnership(koeln, liverpool, start="1952")

    def in_force(year, month=12, day=31):
        on = datetime.date(year, month, day)
        return set(Partnership.objects.in_force_on(on))

    assert in_force(1951) == set()
    assert in_force(1970) == {liverpool_link, ended}
    assert in_force(1976) == {liverpool_link, ended}
    assert in_force(1977) == {liverpool_link}
    assert in_force(1985) == {liverpool_link}
    assert in_force(1988) == {liverpool_link, adoption, suspended}
    assert in_force(2021) == {liverpool_link, adoption, suspended}
    assert in_force(2022) == {liverpool_link, adoption}
    assert undated not in in_force(2026)
    assert set(Partnership.objects.counted()) == {liverpool_link, adoption, undated, ended}


def test_ranked_on_counts_each_partnership_once_with_dense_order(koeln, liverpool):
    corinto, el_realejo = municipality("Corinto", "NI"), municipality("El Realejo", "NI")
    joint = partnership(koeln, corinto, start="1988", name="Köln – Corinto / El Realejo")
    Membership.objects.create(partnership=joint, municipality=el_realejo, side="second")
    partnership(koeln, liverpool, start="1952")
    ranking = [
        (m.name, m.partners_then)
        for m in Municipality.objects.ranked_on(datetime.date(1990, 12, 31))
    ]
    assert ranking == [("Köln", 2), ("Corinto", 1), ("El Realejo", 1), ("Liverpool", 1)]
    ranking_1960 = [
        (m.name, m.partners_then)
        for m in Municipality.objects.ranked_on(datetime.date(1960, 12, 31))
    ]
    assert ranking_1960 == [("Köln", 1), ("Liverpool", 1)]


def _recount(towns, partnerships, domestic):
    """The ranking by a count in Python: each town's parts in ``partnerships`` (as a side,
    or as a member that is not a side), the most first, equal counts by name; dense ranks;
    how many are ranked."""
    country = dict(Municipality.objects.values_list("pk", "country_id"))
    parts = []  # (town, partner): each side, and each member not already a side
    for link in partnerships:
        if link.first_id is not None:
            parts += [(link.first_id, link.second_id), (link.second_id, link.first_id)]
        for member in Membership.objects.filter(partnership=link):
            if member.municipality_id in (link.first_id, link.second_id):
                continue
            partner = {"first": link.second_id, "second": link.first_id}.get(member.side)
            parts.append((member.municipality_id, partner))
    counts = {}
    for town, partner in parts:
        same = partner is not None and country[town] == country[partner]
        if domestic == "only" and not same:
            continue
        if domestic == "exclude" and same:
            continue
        counts[town] = counts.get(town, 0) + 1
    listed = sorted(
        (town for town in towns if town.pk in counts),
        key=lambda town: (-counts[town.pk], town.name, town.pk),
    )
    ranks, rank, previous = [], 0, None
    for town in listed:
        if counts[town.pk] != previous:
            rank, previous = rank + 1, counts[town.pk]
        ranks.append((town.name, counts[town.pk], rank))
    return ranks, len(listed)


@pytest.mark.parametrize("domestic", ["include", "exclude", "only"])
@pytest.mark.parametrize("code", [None, "DE"])
def test_counting_groups_before_joining_and_ranks_as_a_recount(domestic, code):
    """``counting()`` groups the participations by town before it joins the towns: the
    same counts, dense ranks, order (equal counts by name) and total as a recount in Python,
    among the towns of one country when filtered so, with joint partners and network
    members and partnerships that do not count."""
    rng = random.Random(1970)  # noqa: S311 - test data, not a secret
    towns = [
        municipality(f"Town {number:02d}", rng.choice(["DE", "DE", "FR", "PL"]))
        for number in range(40)
    ]
    pairs = set()
    while len(pairs) < 90:
        first, second = rng.sample(towns, 2)
        kind = rng.choice([Kind.OFFICIAL, Kind.OFFICIAL, Kind.FRIENDSHIP])
        if (frozenset((first, second)), kind) in pairs:
            continue
        pairs.add((frozenset((first, second)), kind))
        link = partnership(first, second, kind=kind, start=str(rng.randint(1950, 1990)))
        if rng.random() < 0.1:
            joint = rng.choice([town for town in towns if town not in (first, second)])
            side = rng.choice(["first", "second"])
            Membership.objects.create(partnership=link, municipality=joint, side=side)
    network("A ring", *rng.sample(towns, 5), start="1960")
    day = datetime.date(1975, 12, 31)
    base = Municipality.objects.filter(country__code=code) if code else Municipality.objects
    ranking = base.ranked_by(day=day, kind=Kind.OFFICIAL, domestic=domestic)
    counted = list(ranking)
    held = Partnership.objects.bilateral().held_on(day, kind=Kind.OFFICIAL)
    mine = [town for town in towns if code is None or town.country.code == code]
    expected, total = _recount(mine, held, domestic)
    assert [(town.name, town.partners_then, town.rank) for town in counted] == expected
    assert {town.list_total for town in counted} == {total}
    assert len({rank for _, _, rank in expected}) < len(expected)  # there are ties
    # As a paginator reads it (a count, the far end reversed) and inside another query.
    assert ranking.count() == total
    from_the_end = ranking.order_by("-partners_then", "name", "pk").reverse()[:3]
    assert [(t.name, t.partners_then, t.rank) for t in from_the_end] == expected[:-4:-1]
    assert Municipality.objects.filter(pk__in=ranking.values("pk")).count() == total


@pytest.mark.parametrize(
    "domestic, expected",
    [
        ("include", [("Köln", 3), ("Lübeck", 2), ("Bergen", 1), ("Tours", 1)]),
        ("exclude", [("Köln", 2), ("Bergen", 1), ("Lübeck", 1), ("Tours", 1)]),
        ("only", [("Köln", 1), ("Lübeck", 1)]),
    ],
)
def test_counting_a_network_member_has_no_partner_in_any_country(domestic, expected):
    """A network's members have no partner: they count as partners elsewhere, never at
    home (``counting()`` over any partnerships, networks among them)."""
    koln, lubeck = municipality("Köln"), municipality("Lübeck")
    bergen, tours = municipality("Bergen", "NO"), municipality("Tours", "FR")
    partnership(koln, tours)
    partnership(koln, lubeck)
    network("Neue Hanse", koln, lubeck, bergen)
    ranking = Municipality.objects.counting(Partnership.objects.all(), domestic=domestic)
    assert [(town.name, town.partners_then) for town in ranking] == expected


@pytest.mark.parametrize(
    "name, value",
    [
        ("registry:municipality", "koln"),
        ("registry:municipality", "saint-denis_2"),
        ("registry:partnership", 7391846205),
        ("registry:partnership", 1),
        ("registry:network", "neue-hanse"),
    ],
)
@pytest.mark.parametrize("prefix", ["/", "/registry/"])
def test_quick_reverse_gives_what_reverse_gives(name, value, prefix):
    set_script_prefix(prefix)
    try:
        assert quick_reverse(name, value) == reverse(name, args=[value])
    finally:
        set_script_prefix("/")


def test_quick_reverse_refuses_what_reverse_refuses():
    with pytest.raises(NoReverseMatch):
        quick_reverse("registry:municipality", "köln")


def test_the_displayed_kind_follows_the_language_and_keeps_an_unknown_value():
    event = Event(kind=Event.Kind.AWARD)
    partnership = Partnership(kind=Partnership.Kind.ADOPTION, status="suspended")
    with translation.override("en"):
        assert event.get_kind_display() == "award"
        assert partnership.get_kind_display() == "adoption or sponsorship"
        assert partnership.get_status_display() == "suspended"
    with translation.override("de"):
        assert event.get_kind_display() == "Auszeichnung"
        assert partnership.get_kind_display() == "Patenschaft"
    assert Partnership(kind="no-such-kind").get_kind_display() == "no-such-kind"


def test_a_member_that_is_also_a_side_counts_once_in_the_count_and_every_ranking():
    """The form refuses such a membership, but the database can hold one (written before the
    check, or by hand): it is still one participation, by the counting rule's one home."""
    koln, lille = municipality("Köln"), municipality("Lille", "FR")
    link = partnership(koln, lille, start="1958")
    Membership.objects.create(partnership=link, municipality=koln, side="second")
    Municipality.objects.recount_partners()
    stored = Municipality.objects.order_by("name").values_list("name", "partner_count")
    assert list(stored) == [("Köln", 1), ("Lille", 1)]
    for ranking in (
        Municipality.objects.counting(Partnership.objects.counted()),
        Municipality.objects.ranked_by(kind=None, status=None),
        Municipality.objects.ranked_on(datetime.date.today()),
    ):
        assert [(town.name, town.partners_then) for town in ranking] == [("Köln", 1), ("Lille", 1)]
