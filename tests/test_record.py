"""The historical record (fixtures/) loads cleanly and says what the sources say."""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

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
)

pytestmark = pytest.mark.django_db

MODELS = [
    Source,
    Region,
    Municipality,
    AlternativeName,
    Partnership,
    Membership,
    KindChange,
    StatusChange,
    Event,
]


def load():
    call_command("load_record", verbosity=0)


@pytest.fixture
def record():
    load()


def koeln_partners_on(year):
    day = datetime.date(year, 12, 31)
    return Municipality.objects.ranked_on(day).get(slug="koln").partners_then


def test_loading_twice_creates_no_duplicates_and_every_object_is_valid():
    load()
    counts = {model.__name__: model.objects.count() for model in MODELS}
    load()
    assert {model.__name__: model.objects.count() for model in MODELS} == counts
    assert counts["Partnership"] > 70 and counts["Event"] > 90
    for model in MODELS:
        for obj in model.objects.all():
            obj.full_clean()


def test_every_fact_has_a_source(record):
    for model in [Partnership, KindChange, StatusChange, Event, AlternativeName]:
        unsourced = [str(obj) for obj in model.objects.filter(sources__isnull=True)]
        assert unsourced == [], model.__name__


def test_koeln_has_24_partners_today_and_at_the_end_of_2021(record):
    koeln = Municipality.objects.get(slug="koln")
    assert koeln.partner_count == 24
    today = datetime.date.today()
    assert Municipality.objects.ranked_on(today).get(slug="koln").partners_then == 24
    assert koeln_partners_on(2021) == 24
    ranking = list(Municipality.objects.ranked().values_list("name", "partner_count")[:2])
    assert ranking[0] == ("Köln", 24)


def test_koeln_had_10_partners_in_1970_and_6_in_1960(record):
    assert (koeln_partners_on(1970), koeln_partners_on(1960)) == (10, 6)


def test_volgograd_suspended_since_2022_and_dnipro_official_by_two_claims(record):
    volgograd = Partnership.objects.get(slug="koln--volgograd")
    assert (volgograd.status, volgograd.second_country_at_signing.code) == ("suspended", "SUHH")
    assert list(volgograd.status_changes.values_list("status", "date")) == [("suspended", "2022")]
    dnipro = Partnership.objects.get(slug="koln--dnipro")
    claims = [
        (change.kind, change.date, sorted(s.key for s in change.sources.all()))
        for change in dnipro.kind_changes.order_by("date")
    ]
    assert claims == [
        ("project", "2022", ["europesays", "express-de"]),
        ("official", "2024-05", ["express-de"]),
        ("official", "2025-09", ["europesays"]),
    ]


def test_corinto_and_el_realejo_are_one_partnership(record):
    joint = Partnership.objects.get(slug="koln--corinto")
    members = [joint.first.name, joint.second.name] + [
        m.municipality.name for m in joint.memberships.all()
    ]
    assert (str(joint), members) == (
        "Köln – Corinto / El Realejo",
        ["Köln", "Corinto", "El Realejo"],
    )


def test_keighley_adopted_poix_du_nord_in_1920_or_1921_official_1986(record):
    link = Partnership.objects.get(first__name="Keighley", second__name="Poix-du-Nord")
    history = [
        (change.kind, change.date, sorted(s.key for s in change.sources.all()))
        for change in link.kind_changes.order_by("date")
    ]
    assert history == [
        ("adoption", "1920", ["independent", "keighleyhistory"]),
        ("adoption", "1921", ["de-wikipedia", "seed"]),
        ("official", "1986", ["seed"]),
    ]
    assert (link.kind, link.start) == ("official", "1920")
    assert link not in Partnership.objects.in_force_on(datetime.date(1970, 12, 31))
    assert link in Partnership.objects.in_force_on(datetime.date(1986, 12, 31))


def test_wuppertal_kosice_signed_22_may_1980_in_czechoslovakia(record):
    link = Partnership.objects.get(first__name="Wuppertal")
    assert (link.second.name, link.start, link.start.display()) == (
        "Košice",
        "1980-05-22",
        "May 22, 1980",
    )
    assert (link.second_country_at_signing.name_en, link.second.country.name_en) == (
        "Czechoslovakia",
        "Slovakia",
    )


def test_ludwigsburg_montbeliard_is_found_under_moempelgard(record):
    found = Partnership.objects.search("Mömpelgard")
    assert [str(p) for p in found] == ["Ludwigsburg – Montbéliard"]
    assert [str(m) for m in Municipality.objects.search("mompelgard")] == ["Montbéliard"]


def test_the_first_german_british_links_of_1947(record):
    links = Partnership.objects.filter(
        start__startswith="1947", first__country__code="DE", second__country__code="GB"
    )
    assert sorted(str(p) for p in links) == [
        "Bonn – Oxford",
        "Düsseldorf – Reading",
        "Hannover – Bristol",
    ]
    reading = Partnership.objects.get(first__name="Düsseldorf")
    assert [
        (c.kind, c.date, c.recognised_by.name if c.recognised_by else None)
        for c in reading.kind_changes.order_by("date")
    ] == [
        ("friendship", "1947", None),
        ("official", "1975", "Reading"),
        ("official", "1988", "Düsseldorf"),
    ]


def test_koeln_treptow_was_signed_with_the_gdr_side(record):
    link = Partnership.objects.get(slug="koln--treptow-kopenick")
    assert (
        link.second.name,
        link.second_name_at_signing,
        link.second_country_at_signing.code,
        link.second.parent.name,
        link.start,
    ) == ("Treptow-Köpenick", "Berlin-Treptow", "DDDE", "Berlin", "1990")


def test_neue_hanse_is_a_network_with_its_known_members(record):
    hanse = Partnership.objects.networks().get()
    members = sorted(hanse.memberships.values_list("municipality__name", flat=True))
    assert len(members) == 10
    assert {"Köln", "Lübeck", "Zwolle", "Turku"} <= set(members)
    assert hanse.events.filter(kind="founding", date="1980").exists()


def test_europe_prize_laureates_with_country_at_the_time(record):
    prizes = Event.objects.filter(kind="award", award="europe_prize")
    first = prizes.order_by("date", "municipality__name").first()
    assert (first.date, first.municipality.name, first.country_at_time.code) == (
        "1955",
        "Coventry",
        "GB",
    )
    neukoelln = prizes.get(municipality__name="Berlin-Neukölln")
    devon = prizes.get(municipality__name="Devon")
    assert (neukoelln.date, neukoelln.municipality.kind, devon.municipality.kind) == (
        "1987",
        "borough",
        "county",
    )
    assert prizes.filter(date="1993").count() == 2


def test_alternative_and_historical_names(record):
    names = {
        (a.municipality.name, a.name, a.used_from, a.used_until)
        for a in AlternativeName.objects.select_related("municipality")
    }
    assert {
        ("Köln", "Cologne", None, None),
        ("Montbéliard", "Mömpelgard", None, None),
        ("Košice", "Kaschau", None, None),
        ("Cluj-Napoca", "Klausenburg", None, None),
        ("Volgograd", "Wolgograd", None, None),
        ("Chemnitz", "Karl-Marx-Stadt", 1953, 1990),
    } <= names
    assert Country.objects.get(code="DDDE").successors.get().code == "DE"


def test_kuusankoski_merged_into_kouvola_which_continued_the_partnership(record):
    kuusankoski = Municipality.objects.get(name="Kuusankoski")
    old = Partnership.objects.get(second=kuusankoski)
    new = Partnership.objects.get(continues=old)
    assert (kuusankoski.successor.name, old.end, old.status, new.second.name, new.start) == (
        "Kouvola",
        "2008-12-31",
        "ended",
        "Kouvola",
        "2009-04-20",
    )


def test_load_record_loads_the_whole_record_and_again_changes_nothing(capsys):
    call_command("load_record")
    assert capsys.readouterr().out == (
        "Loaded the historical record; the registry now holds 19 sources, 281 countries, "
        "179 municipalities, 72 partnerships, 98 events. 568 records got a new version in "
        "their history.\n"
    )
    first = StringIO()
    call_command("dumpdata", "registry", natural_foreign=True, stdout=first)
    call_command("load_record", verbosity=0)
    again = StringIO()
    call_command("dumpdata", "registry", natural_foreign=True, stdout=again)
    assert again.getvalue() == first.getvalue()


def test_loaddata_of_the_files_in_name_order_fails_and_load_record_does_not():
    """The reason for the command: the files need their order."""
    files = sorted(str(path) for path in Path(settings.FIXTURE_DIRS[0]).glob("*.json"))
    with pytest.raises(Exception, match="event_has_subject|NOT NULL|does not exist"):
        call_command("loaddata", *files, verbosity=0)
    call_command("load_record", verbosity=0)
    assert Partnership.objects.count() == 72
