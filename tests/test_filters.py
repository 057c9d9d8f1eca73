"""Search, filters, sorting and pages of the public lists; every bad parameter gets a 400."""

import html
import re
from urllib.parse import quote

import pytest
from conftest import country, municipality, network, partnership
from django.core.management import call_command
from django.utils import translation
from pages import column, errors, page, rows

from registry.models import (
    AlternativeName,
    Country,
    Event,
    KindChange,
    Membership,
    Partnership,
    Region,
    Theme,
)

pytestmark = pytest.mark.django_db

Kind = Partnership.Kind
Status = Partnership.Status


def names(client, url, table_id="results"):
    """The first column of a list; empty when the page says nothing matches."""
    response = client.get(url)
    assert response.status_code == 200, errors(response)
    if table_id not in page(response).tables:
        assert "matches these filters." in response.content.decode()
        return []
    return column(response, table_id)


def refused(client, url):
    """The messages of a page that refused its parameters, checking it said 400 and listed
    nothing."""
    response = client.get(url)
    assert response.status_code == 400
    assert "results" not in page(response).tables
    return errors(response)


# Municipalities


@pytest.fixture
def towns():
    nrw = Region.objects.create(country=country("DE"), name="Nordrhein-Westfalen", code="DE-NW")
    koeln = municipality("Köln", region=nrw, slug="koln")
    AlternativeName.objects.create(municipality=koeln, name="Cologne")
    bonn = municipality("Bonn", region=nrw, seeking_partner=True)
    lille = municipality("Lille", "FR")
    montbeliard = municipality("Montbéliard", "FR", slug="montbeliard")
    AlternativeName.objects.create(municipality=montbeliard, name="Mömpelgard")
    county = municipality("Devon", "GB", kind="county")
    partnership(koeln, lille)
    return koeln, bonn, lille, montbeliard, county


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Bonn", "Devon", "Köln", "Lille", "Montbéliard"]),
        ("q=koln", ["Köln"]),
        ("q=KÖLN", ["Köln"]),
        ("q=Koeln", ["Köln"]),
        ("q=cologne", ["Köln"]),
        ("q=mompelgard", ["Montbéliard"]),
        ("q=montbeliard", ["Montbéliard"]),
        ("country=FR", ["Lille", "Montbéliard"]),
        ("country=fr", ["Lille", "Montbéliard"]),
        ("kind=county", ["Devon"]),
        ("region=DE-NW", ["Bonn", "Köln"]),
        ("region=de-nw", ["Bonn", "Köln"]),
        ("seeking=yes", ["Bonn"]),
        ("seeking=no", ["Devon", "Köln", "Lille", "Montbéliard"]),
        ("has_partners=yes", ["Köln", "Lille"]),
        ("has_partners=no", ["Bonn", "Devon", "Montbéliard"]),
        ("country=DE&has_partners=yes", ["Köln"]),
        ("sort=-name", ["Montbéliard", "Lille", "Köln", "Devon", "Bonn"]),
        ("sort=country", ["Lille", "Montbéliard", "Bonn", "Köln", "Devon"]),
        ("sort=-partners", ["Köln", "Lille", "Bonn", "Devon", "Montbéliard"]),
    ],
)
def test_municipality_filters(client, towns, query, expected):
    assert names(client, f"/municipalities/?{query}") == expected


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("country=XX", ["Country: There is no country with the code “XX”."]),
        ("kind=village", ["Kind: “village” is not a known kind of municipality."]),
        ("region=DE-ZZ", ["Region: There is no region “DE-ZZ”."]),
        ("seeking=maybe", ["Seeks a partner: Answer yes or no, not “maybe”."]),
        ("has_partners=1", ["Has partners: Answer yes or no, not “1”."]),
        ("sort=population", ["Sort by: “population” is not a known sort order."]),
        ("page=abc", ["Page: “abc” is not a page number."]),
        ("page=2", ["Page: There is no page 2: the list has 1 page."]),
        ("page=0", ["Page: There is no page 0: the list has 1 page."]),
        ("format=pdf", ["“pdf” is not a download format; choose csv, json, xlsx."]),
    ],
)
def test_municipality_list_refuses_invalid_parameters(client, towns, query, messages):
    assert refused(client, f"/municipalities/?{query}") == messages


def test_pages_keep_the_filters(client, settings):
    for number in range(60):
        municipality(f"Town {number:02d}", "FR")
    municipality("Elsewhere", "DE")
    first = client.get("/municipalities/?country=FR&sort=-name")
    html = first.content.decode()
    assert '<a href="?country=FR&amp;sort=-name&amp;page=2" rel="next">Next page</a>' in html
    assert column(first)[:2] == ["Town 59", "Town 58"]
    second = client.get("/municipalities/?country=FR&sort=-name&page=2")
    assert column(second) == [f"Town {number:02d}" for number in range(9, -1, -1)]
    assert "Page 2 of 2" in second.content.decode()


def test_page_one_reads_its_rows_and_its_count_in_one_query(client, django_assert_num_queries):
    for number in range(60):
        municipality(f"Town {number:02d}", "FR")
    municipality("Elsewhere", "DE")
    client.get("/municipalities/?q=Elsewhere")  # the form's countries are cached from now on
    with django_assert_num_queries(1):
        first = client.get("/municipalities/?q=Town")
    assert len(column(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    with django_assert_num_queries(1):  # the count of the list is cached: the page alone
        second = client.get("/municipalities/?q=Town&page=2")
    assert column(second) == [f"Town {number:02d}" for number in range(50, 60)]
    assert "Page 2 of 2" in second.content.decode()
    with django_assert_num_queries(2):  # page 2 first: the count, then the page
        client.get("/municipalities/?q=Town&sort=-name&page=2")
    assert names(client, "/municipalities/?q=Nowhere") == []


def test_page_one_of_a_past_ranking_counts_its_towns_in_the_same_query(
    client, django_assert_num_queries
):
    for number in range(30):
        partnership(
            municipality(f"A {number:02d}"), municipality(f"B {number:02d}", "FR"), start="1960"
        )
    partnership(municipality("Late"), municipality("Later", "FR"), start="1980")
    client.get("/municipalities/?q=Elsewhere")  # the form's countries are cached from now on
    with django_assert_num_queries(1):
        first = client.get("/rankings/?on=1970")
    assert "Page 1 of 2" in first.content.decode()
    assert [row[1] for row in rows(first, "ranking")][-1] == "B 19"
    second = client.get("/rankings/?on=1970&page=2")
    assert [row[1] for row in rows(second, "ranking")] == [f"B {n}" for n in range(20, 30)]
    assert "Page 2 of 2" in second.content.decode()


# Partnerships


@pytest.fixture
def links():
    koeln = municipality("Köln", slug="koln")
    lille = municipality("Lille", "FR")
    keighley = municipality("Keighley", "GB")
    poix = municipality("Poix-du-Nord", "FR")
    treptow = municipality("Treptow", slug="treptow")
    kosice = municipality("Košice", "SK")
    wuppertal = municipality("Wuppertal")
    corinto, realejo = municipality("Corinto", "NI"), municipality("El Realejo", "NI")
    made = {
        "koeln-lille": partnership(koeln, lille, start="1958-07-03"),
        "keighley": partnership(keighley, poix, start="1920"),
        "treptow": partnership(
            koeln,
            treptow,
            start="1990",
            second_name_at_signing="Berlin-Treptow",
            second_country_at_signing=country("DDDE"),
        ),
        "kosice": partnership(
            wuppertal, kosice, start="1980-05-22", second_country_at_signing=country("CSHH")
        ),
        "corinto": partnership(koeln, corinto, start="1988", name="Köln – Corinto / El Realejo"),
        "lille-poix": partnership(
            lille, poix, kind=Kind.FRIENDSHIP, status=Status.DORMANT, start="1999"
        ),
        "undated": partnership(wuppertal, lille, kind=Kind.CONTACT),
    }
    KindChange.objects.create(partnership=made["keighley"], kind=Kind.ADOPTION, date="1920")
    KindChange.objects.create(partnership=made["keighley"], kind=Kind.OFFICIAL, date="1986")
    Membership.objects.create(partnership=made["corinto"], municipality=realejo, side="second")
    made["treptow"].themes.add(Theme.objects.get(slug="reconciliation"))
    network("Die Hanse", koeln, lille)
    return made


ALL = [
    "Keighley – Poix-du-Nord",
    "Köln – Lille",
    "Wuppertal – Košice",
    "Köln – Corinto / El Realejo",
    "Köln – Treptow",
    "Lille – Poix-du-Nord",
    "Wuppertal – Lille",
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("q=mompelgard", []),
        ("q=realejo", ["Köln – Corinto / El Realejo"]),
        ("q=kosice", ["Wuppertal – Košice"]),
        ("kind=adoption", ["Keighley – Poix-du-Nord"]),
        ("kind=friendship", ["Lille – Poix-du-Nord"]),
        ("kind=official&q=keighley", ["Keighley – Poix-du-Nord"]),
        ("status=dormant", ["Lille – Poix-du-Nord"]),
        ("country=NI", ["Köln – Corinto / El Realejo"]),
        ("country=GB", ["Keighley – Poix-du-Nord"]),
        ("country_pair=DE-FR", ["Köln – Lille", "Wuppertal – Lille"]),
        ("country_pair=fr-de", ["Köln – Lille", "Wuppertal – Lille"]),
        ("country_pair=DE-DE", ["Köln – Treptow"]),
        (
            "founded_from=1980",
            [
                "Wuppertal – Košice",
                "Köln – Corinto / El Realejo",
                "Köln – Treptow",
                "Lille – Poix-du-Nord",
            ],
        ),
        ("founded_to=1958", ["Keighley – Poix-du-Nord", "Köln – Lille"]),
        ("founded_from=1958&founded_to=1980", ["Köln – Lille", "Wuppertal – Košice"]),
        ("founded_from=1958&founded_to=1958", ["Köln – Lille"]),
        # The last year there is: every dated partnership, not a 500 for counting to 10000.
        ("founded_to=9999", ALL[:-1]),
        ("founded_from=1&founded_to=9999", ALL[:-1]),
        ("municipality=koln", ["Köln – Lille", "Köln – Corinto / El Realejo", "Köln – Treptow"]),
        ("theme=reconciliation", ["Köln – Treptow"]),
        ("at_signing=DDDE", ["Köln – Treptow"]),
        ("at_signing=CSHH", ["Wuppertal – Košice"]),
        ("at_signing=SK", []),
        ("at_signing=GB", ["Keighley – Poix-du-Nord"]),
        (
            "sort=-start",
            [
                "Lille – Poix-du-Nord",
                "Köln – Treptow",
                "Köln – Corinto / El Realejo",
                "Wuppertal – Košice",
                "Köln – Lille",
                "Keighley – Poix-du-Nord",
                "Wuppertal – Lille",
            ],
        ),
        (
            "sort=name&country=DE",
            [
                "Köln – Corinto / El Realejo",
                "Köln – Lille",
                "Köln – Treptow",
                "Wuppertal – Košice",
                "Wuppertal – Lille",
            ],
        ),
    ],
)
def test_partnership_filters(client, links, query, expected):
    assert names(client, f"/partnerships/?{query}") == expected


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("founded_from=abc", ["Founded from (year): Enter a year such as 1958."]),
        ("founded_to=19.5", ["Founded up to (year): Enter a year such as 1958."]),
        ("founded_from=0", ["Founded from (year): Enter a year such as 1958."]),
        (
            "founded_from=1990&founded_to=1980",
            ["“Founded from” (1990) is after “founded to” (1980)."],
        ),
        (
            "country=Germany",
            ["Country of either side: There is no country with the code “GERMANY”."],
        ),
        (
            "country_pair=DE",
            [
                "Pair of countries: Give a pair of country codes with a hyphen, "
                "e.g. DE-FR; not “DE”."
            ],
        ),
        ("country_pair=DE-QQ", ["Pair of countries: There is no country with the code “QQ”."]),
        (
            "kind=twinning",
            ["Kind, now or at some time: “twinning” is not a known kind of partnership."],
        ),
        (
            "kind=network",
            ["Kind, now or at some time: “network” is not a known kind of partnership."],
        ),
        ("status=alive", ["Status: “alive” is not a known status."]),
        (
            "municipality=atlantis",
            ["Municipality (its address name): There is no municipality “atlantis”."],
        ),
        ("theme=cooking", ["Theme: “cooking” is not a known theme."]),
        ("at_signing=XY", ["A side's country at signing: There is no country with the code “XY”."]),
        ("sort=kind", ["Sort by: “kind” is not a known sort order."]),
        ("page=-1", ["Page: There is no page -1: the list has 1 page."]),
        (
            "founded_from=abc&country=ZZ",
            [
                "Country of either side: There is no country with the code “ZZ”.",
                "Founded from (year): Enter a year such as 1958.",
            ],
        ),
    ],
)
def test_partnership_list_refuses_invalid_parameters(client, links, query, messages):
    assert refused(client, f"/partnerships/?{query}") == messages


# Networks and awards


def test_network_filters(client):
    network("Die Hanse", municipality("Köln"), municipality("Zwolle", "NL"))
    network("Eurotowns", municipality("Lonely", "FR"))
    assert names(client, "/networks/?q=hanse") == ["Die Hanse"]
    assert names(client, "/networks/?country=NL") == ["Die Hanse"]
    assert names(client, "/networks/?sort=-members") == ["Die Hanse", "Eurotowns"]
    assert refused(client, "/networks/?country=NLD") == [
        "Country of a member: There is no country with the code “NLD”."
    ]


def test_award_filters(client):
    coventry, devon = municipality("Coventry", "GB"), municipality("Devon", "GB")
    wien = municipality("Wien", "AT")
    for town, award, year in [
        (coventry, Event.Award.EUROPE_PRIZE, "1955"),
        (wien, Event.Award.EUROPE_PRIZE, "1958"),
        (devon, Event.Award.FLAG_OF_HONOUR, "1990"),
    ]:
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=award,
            title=Event.Award(award).label,
            date=year,
            municipality=town,
            country_at_time=town.country,
        )
    Event.objects.create(kind=Event.Kind.VISIT, title="A visit", date="1960", municipality=wien)
    assert names(client, "/awards/", "results") == ["1955", "1958", "1990"]
    assert column(client.get("/awards/?level=europe_prize"), "results", 2) == ["Coventry", "Wien"]
    assert column(client.get("/awards/?country=gb&sort=-date"), "results", 2) == [
        "Devon",
        "Coventry",
    ]
    assert refused(client, "/awards/?level=gold") == [
        "Level: “gold” is not a known level of award."
    ]


def _options(response, name):
    """The (value, text) of every option of the drop-down ``name``."""
    select = re.search(
        rf'<select name="{name}"[^>]*>(.*?)</select>', response.content.decode(), re.S
    )
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))
    return [(html.unescape(value), html.unescape(text)) for value, text in options]


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_drop_downs_of_countries_and_themes_name_them_as_the_records_do(client, language):
    """Read as plain values, not a model instance each: every country and theme, with the
    value and the name (in the page's language) that the records give; a German name left
    empty falls back to the English one."""
    Country.objects.create(code="XA", name_en="Atlantis & Co", name_de="")
    Theme.objects.create(slug="chess", name_en="Chess", name_de="Schach")
    Theme.objects.create(slug="kites", name_en="Kites <flying>", name_de="")
    response = client.get("/partnerships/", headers={"accept-language": language})
    with translation.override(language):
        countries = [(c.code, str(c)) for c in Country.objects.all()]
        themes = [(t.slug, str(t)) for t in Theme.objects.all()]
    assert _options(response, "country")[1:] == countries
    assert _options(response, "at_signing")[1:] == countries
    assert _options(response, "theme")[1:] == themes
    assert ("XA", "Atlantis & Co") in countries
    assert len(countries) > 200
    assert ("chess", "Schach" if language == "de" else "Chess") in themes
    assert ("kites", "Kites <flying>") in themes


# Search by the names a person reads


@pytest.fixture
def shown_names():
    koeln = municipality("Köln", slug="koln")
    AlternativeName.objects.create(municipality=koeln, name="Cologne")
    turku = municipality("Turku", "FI")
    AlternativeName.objects.create(municipality=turku, name="Åbo", kind="official")
    liverpool = municipality("Liverpool", "GB")
    poix = municipality("Poix-du-Nord", "FR")
    keighley = municipality("Keighley", "GB")
    corinto, realejo = municipality("Corinto", "NI"), municipality("El Realejo", "NI")
    partnership(koeln, turku, start="1967")
    partnership(koeln, liverpool, start="1952")
    partnership(turku, liverpool, kind=Kind.FRIENDSHIP, start="1990")
    partnership(keighley, poix, start="1920")
    joint = partnership(koeln, corinto, start="1988", name="Köln – Corinto / El Realejo")
    Membership.objects.create(partnership=joint, municipality=realejo, side="second")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Köln – Turku", ["Köln – Turku"]),
        ("Köln - Turku", ["Köln – Turku"]),
        ("Köln–Turku", ["Köln – Turku"]),
        ("koln — turku", ["Köln – Turku"]),
        ("Turku – Köln", ["Köln – Turku"]),
        ("Cologne – Turku", ["Köln – Turku"]),
        ("Koeln – Åbo", ["Köln – Turku"]),
        ("Köln – ", ["Köln – Liverpool", "Köln – Turku", "Köln – Corinto / El Realejo"]),
        ("Köln – El Realejo", ["Köln – Corinto / El Realejo"]),
        ("Köln – Corinto / El Realejo", ["Köln – Corinto / El Realejo"]),
        ("Keighley - Poix-du-Nord", ["Keighley – Poix-du-Nord"]),
        ("Poix-du-Nord", ["Keighley – Poix-du-Nord"]),
        ("Köln – Keighley", []),
        ("Turku – Turku", []),
    ],
)
def test_a_partnership_is_found_by_its_shown_name(client, shown_names, term, expected):
    assert names(client, f"/partnerships/?q={quote(term)}") == expected


@pytest.mark.parametrize("extra", [0, 2])
def test_searching_a_shown_name_reads_the_list_in_one_query(
    client, shown_names, extra, django_assert_num_queries
):
    for number in range(extra):
        partnership(municipality(f"Köln {number}"), municipality(f"Turku {number}", "FI"))
    client.get("/partnerships/?q=Lille")  # the form's choices cached
    with django_assert_num_queries(1):
        response = client.get(f"/partnerships/?q={quote('Köln – Turku')}")
    assert len(rows(response)) == 1 + extra


def test_a_network_is_found_by_any_of_its_names(client, django_assert_num_queries):
    network(
        "Städtebund DIE HANSE",
        municipality("Lübeck"),
        other_names="Neue Hanse; Die Hanse; The Hanse",
    )
    network("Eurotowns", municipality("Lonely", "FR"), other_names="Eurotowns network")
    for term in ["Neue Hanse", "neue hanse", "DIE HANSE", "Städtebund", "the  hanse"]:
        assert names(client, f"/networks/?q={quote(term)}") == ["Städtebund DIE HANSE"], term
    assert names(client, "/networks/?q=network") == ["Eurotowns"]
    assert names(client, "/networks/?q=Hansa") == []
    client.get("/networks/?q=x")
    with django_assert_num_queries(1):
        client.get("/networks/?q=Neue+Hanse")


def test_the_record_finds_die_hanse_as_neue_hanse(client):
    call_command("load_record", verbosity=0)
    assert names(client, "/networks/?q=Neue+Hanse") == ["Städtebund DIE HANSE"]
    assert names(client, f"/partnerships/?q={quote('Köln – Turku')}") == ["Köln – Turku"]
    assert names(client, f"/partnerships/?q={quote('Turku - Cologne')}") == ["Köln – Turku"]
