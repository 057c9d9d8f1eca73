"""The public pages as a person reads them: the record's headline facts, and query counts."""

import re
from html.parser import HTMLParser

import pytest
from conftest import country, municipality, network, partnership
from django.core.management import call_command
from django.utils import timezone
from pages import column, errors, heading, page, rows, table, text

from registry import views
from registry.dates import PartialDate
from registry.models import (
    AlternativeName,
    Event,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Source,
    StatusChange,
    Theme,
)

pytestmark = pytest.mark.django_db

Kind = Partnership.Kind
Status = Partnership.Status


@pytest.fixture
def record():
    call_command("load_record", verbosity=0)


def get(client, url, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content.decode()[:2000]
    return response


def by_slug(slug):
    return Partnership.objects.get(slug=slug)


# The ranking


def test_ranking_shows_koeln_first_with_24_and_dense_ranks(client, record):
    response = get(client, "/rankings/")
    assert heading(response) == "Municipalities by number of partners"
    assert rows(response, "ranking")[:4] == [
        ["1", "Köln", "Germany", "24"],
        ["2", "Chemnitz", "Germany", "2"],
        ["3", "Anröchte", "Germany", "1"],
        ["3", "Arnsberg", "Germany", "1"],
    ]
    assert text(response, "rule") == (
        "A municipality's partners are its partnerships of the kind “official twinning” with "
        "the status “active”, each counted once: a joint partner such as Corinto / El Realejo "
        "counts once. Partners in the same country count. Counted today, by each "
        "partnership's present kind and status. Equal counts share a rank, and the next count "
        "takes the next rank."
    )


def test_ranking_at_the_end_of_1970_shows_koeln_with_10(client, record):
    response = get(client, "/rankings/?on=1970")
    assert rows(response, "ranking")[:3] == [
        ["1", "Köln", "Germany", "10"],
        ["2", "Arras", "France", "1"],
        ["2", "Berlin-Neukölln", "Germany", "1"],
    ]
    assert text(response, "rule").endswith(
        "Counted for Dec. 31, 1970 (at the end of that day) from the dated records: the kind "
        "and status a partnership had then; it must have begun by then and not yet ended. "
        "Equal counts share a rank, and the next count takes the next rank."
    )


def test_ranking_on_a_day_counts_up_to_that_day(client, record):
    assert rows(get(client, "/rankings/?on=1960-12-31"), "ranking")[:2] == [
        ["1", "Köln", "Germany", "6"],
        ["2", "Bonn", "Germany", "1"],
    ]
    assert rows(get(client, "/rankings/?on=2021-06-30"), "ranking")[:1] == [
        ["1", "Köln", "Germany", "24"]
    ]


def test_ranking_within_a_country_ranks_among_its_towns(client, record):
    assert column(get(client, "/rankings/?country=fi"), "ranking", 2) == ["Finland"] * 12
    assert rows(get(client, "/rankings/?country=DE"), "ranking")[:2] == [
        ["1", "Köln", "Germany", "24"],
        ["2", "Chemnitz", "Germany", "2"],
    ]


def test_a_past_ranking_within_a_country_ranks_and_counts_among_its_towns(client):
    """A past ranking filtered by country: the country's towns alone are counted, ranked
    and totalled (Lille, with more partners, neither takes rank 1 nor adds to the total),
    equal counts in order of name."""
    koeln, bonn, aachen = municipality("Köln"), municipality("Bonn"), municipality("Aachen")
    lille = municipality("Lille", "FR")
    for number in range(3):
        partnership(koeln, municipality(f"Ville {number}", "FR"), start="1960")
    for number in range(4):
        partnership(lille, municipality(f"Città {number}", "IT"), start="1960")
    partnership(bonn, municipality("Oxford", "GB"), start="1947")
    partnership(aachen, municipality("Reims", "FR"), start="1967")
    partnership(municipality("Dresden"), municipality("Coventry", "GB"), start="1971")

    def count(response):
        return re.search(r'<p class="count">(.*?)</p>', response.content.decode()).group(1)

    germany = get(client, "/rankings/?on=1970&country=DE")
    assert rows(germany, "ranking") == [
        ["1", "Köln", "Germany", "3"],
        ["2", "Aachen", "Germany", "1"],
        ["2", "Bonn", "Germany", "1"],
    ]
    assert count(germany) == "3 municipalities with partners on Dec. 31, 1970"
    everywhere = get(client, "/rankings/?on=1970")
    assert rows(everywhere, "ranking")[:4] == [
        ["1", "Lille", "France", "4"],
        ["2", "Köln", "Germany", "3"],
        ["3", "Aachen", "Germany", "1"],
        ["3", "Bonn", "Germany", "1"],
    ]
    assert count(everywhere) == "13 municipalities with partners on Dec. 31, 1970"


def test_ranking_can_leave_out_or_keep_only_domestic_partners(client, record):
    assert rows(get(client, "/rankings/?domestic=only"), "ranking") == [
        ["1", "Köln", "Germany", "2"],
        ["2", "Berlin-Neukölln", "Germany", "1"],
        ["2", "Treptow-Köpenick", "Germany", "1"],
    ]
    assert rows(get(client, "/rankings/?domestic=exclude"), "ranking")[:2] == [
        ["1", "Köln", "Germany", "22"],
        ["2", "Chemnitz", "Germany", "2"],
    ]


def test_ranking_by_other_kind_and_status(client, record):
    suspended = get(client, "/rankings/?status=suspended")
    assert rows(suspended, "ranking")[:2] == [
        ["1", "Arkhangelsk", "Russian Federation", "1"],
        ["1", "Dortmund", "Germany", "1"],
    ]
    assert "Köln" in column(suspended, "ranking", 1)
    adoptions = get(client, "/rankings/?kind=adoption")
    assert column(adoptions, "ranking", 1) == [
        "Brzeg",
        "Faribault",
        "Goslar",
        "Landkreis Emsland",
        "Powiat lidzbarski",
        "Würzburg",
    ]
    everything = get(client, "/rankings/?kind=any&status=any")
    assert rows(everything, "ranking")[:3] == [
        ["1", "Köln", "Germany", "25"],
        ["2", "Chemnitz", "Germany", "2"],
        ["2", "Mülheim an der Ruhr", "Germany", "2"],
    ]


def test_ranking_counts_ring_partners_once_and_equal_counts_share_a_rank(client):
    koeln, lille, torino = municipality("Köln"), municipality("Lille", "FR"), municipality("T")
    partnership(koeln, lille, start="1958")
    partnership(koeln, torino, start="1958")
    partnership(lille, torino, start="1958")
    assert rows(get(client, "/rankings/"), "ranking") == [
        ["1", "Köln", "Germany", "2"],
        ["1", "Lille", "France", "2"],
        ["1", "T", "Germany", "2"],
    ]


def test_every_page_of_the_ranking_gives_dense_ranks_as_the_download_does(
    client, django_assert_num_queries
):
    """Today's ranking ranks each page by itself (no window over every town): a page after
    the first counts the distinct counts above it, and equal counts across the page break
    share their rank."""
    hub, second = municipality("A hub"), municipality("A second", "FR")
    for number in range(3):
        partnership(hub, municipality(f"Hub partner {number}", "IT"))
    for number in range(2):
        partnership(second, municipality(f"Second partner {number}", "IT"))
    for number in range(30):
        partnership(municipality(f"Pair {number:02d}"), municipality(f"Pair {number:02d}b", "FR"))
    first = rows(get(client, "/rankings/"), "ranking")
    assert first[:3] == [
        ["1", "A hub", "Germany", "3"],
        ["2", "A second", "France", "2"],
        ["3", "Hub partner 0", "Italy", "1"],
    ]
    assert {row[0] for row in first[2:]} == {"3"}
    with django_assert_num_queries(2):  # the page, the counts above it (the count is cached)
        second_page = rows(get(client, "/rankings/?page=2"), "ranking")
    assert len(second_page) == 67 - 50
    assert [row[1] for row in second_page][-2:] == ["Second partner 0", "Second partner 1"]
    assert {row[0] for row in second_page} == {"3"}
    csv = client.get("/rankings/?format=csv")
    lines = b"".join(csv.streaming_content).decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [row[0] for row in first + second_page]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "on=abc",
            "On (year or date): Enter a year such as 1970 or a date such as 2021-06-30; not “abc”.",
        ),
        (
            "on=3000",
            "On (year or date): 3000 lies in the future; a ranking counts what has happened.",
        ),
        ("country=ZZ", "Country: There is no country with the code “ZZ”."),
        ("kind=twinning", "Kind of partnership: “twinning” is not a known kind of partnership."),
        ("status=alive", "Status: “alive” is not a known status."),
        (
            "domestic=maybe",
            "Partners in the same country: “maybe” is not include, exclude or only.",
        ),
        ("page=two", "Page: “two” is not a page number."),
        ("page=9", "Page: There is no page 9: the list has 1 page."),
        ("format=ods", "“ods” is not a download format; choose csv, json, xlsx."),
    ],
)
def test_ranking_with_an_invalid_parameter_says_so_with_400(client, query, message):
    municipality("Köln").partnerships_as_first.create(second=municipality("Lille", "FR"))
    response = client.get(f"/rankings/?{query}")
    assert (response.status_code, errors(response)) == (400, [message])
    assert "ranking" not in page(response).tables


def test_this_year_in_the_ranking_means_today(client):
    partnership(municipality("Köln"), municipality("Lille", "FR"), start="1990")
    today = timezone.localdate()
    response = get(client, f"/rankings/?on={today.year}")
    assert rows(response, "ranking") == [
        ["1", "Köln", "Germany", "1"],
        ["1", "Lille", "France", "1"],
    ]
    assert response.context["as_of"] == today


def test_every_page_of_a_list_is_the_slice_of_the_whole_in_order(rf):
    """Pages past the middle are read from the far end: the same rows, ranks and order."""
    koeln = municipality("Köln")
    for number in range(7):
        partner = municipality(f"Partner {number}", "FR")
        for other in range(number % 3):
            partnership(partner, municipality(f"Other {number} {other}", "PL"))
        partnership(koeln, partner)
    request = rf.get("/rankings/")
    queryset = Municipality.objects.ranked().annotate_partners().with_rank()
    whole = [
        (m.name, m.rank, m.partners) for m in queryset.order_by("-partner_count", "name", "pk")
    ]
    paginator = views._Paginator(queryset, 4, ("test", request.path))
    pages = [
        [(m.name, m.rank, m.partners) for m in paginator.page(number).object_list]
        for number in paginator.page_range
    ]
    assert [row for page_rows in pages for row in page_rows] == whole
    assert len(pages) == 4
    assert whole[:3] == [("Köln", 1, 7), ("Partner 2", 2, 3), ("Partner 5", 2, 3)]


def test_a_deep_page_of_the_municipalities_keeps_its_filters(client):
    for number in range(60):
        municipality(f"Town {number:02d}", "FR")
    municipality("Köln")
    response = client.get("/municipalities/?country=FR&page=2&sort=-name")
    assert column(response)[-1] == "Town 00"
    assert len(rows(response)) == 10
    assert 'href="?country=FR&amp;page=1&amp;sort=-name" rel="prev"' in response.content.decode()


# Home


def test_home_shows_totals_top_anniversaries_and_decades(client):
    year = timezone.localdate().year
    koeln, lille, liege = (
        municipality("Köln"),
        municipality("Lille", "FR"),
        municipality("Liège", "BE"),
    )
    hanse = network("Die Hanse", koeln, lille)
    partnership(koeln, lille, start=f"{year - 50}-07-03")
    partnership(koeln, liege, start=str(year + 1 - 25))
    partnership(lille, liege, start=str(year - 24), status=Status.ENDED, end=str(year - 1))
    response = get(client, "/")
    assert heading(response) == "Twinning registry"
    assert response.context["municipality_total"] == 3
    assert (response.context["partnership_total"], response.context["network_total"]) == (3, 1)
    assert rows(response, "top") == [
        ["1", "Köln", "Germany", "2"],
        ["2", "Lille", "France", "1"],
        ["2", "Liège", "Belgium", "1"],
    ]
    assert rows(response, "anniversaries") == [
        [
            str(year),
            "50 years",
            "Köln – Lille",
            f"official since {PartialDate(f'{year - 50}-07-03').display()}",
        ],
        [str(year + 1), "25 years", "Köln – Liège", f"official since {year + 1 - 25}"],
    ]
    decades = rows(response, "decades-table")
    assert sum(int(count) for _decade, count in decades if count != "none") == 3
    assert hanse.get_absolute_url() == "/networks/die-hanse/"
    assert "anniversaries-more" not in page(response).texts


def test_home_shows_the_first_anniversaries_and_how_many_there_are(client, monkeypatch):
    monkeypatch.setattr(views, "ANNIVERSARY_ROWS", 3)
    year = timezone.localdate().year
    koeln = municipality("Köln")
    partnership(koeln, municipality("Liège", "BE"), start=str(year + 1 - 25))
    partnership(koeln, municipality("Lille", "FR"), start=str(year - 25))
    partnership(koeln, municipality("Turku", "FI"), start=str(year - 75))
    partnership(koeln, municipality("Rotterdam", "NL"), start=str(year + 1 - 50))
    response = get(client, "/")
    assert rows(response, "anniversaries") == [
        [str(year), "75 years", "Köln – Turku", f"official since {year - 75}"],
        [str(year), "25 years", "Köln – Lille", f"official since {year - 25}"],
        [str(year + 1), "50 years", "Köln – Rotterdam", f"official since {year + 1 - 50}"],
    ]
    assert text(response, "anniversaries-more") == "The first 3 of 4 anniversaries."


# Municipalities


def test_municipality_page_of_koeln(client, record):
    response = get(client, "/municipalities/koln/")
    assert heading(response) == "Köln"
    partners = rows(response, "partners")
    assert len(partners) == 25
    assert partners[0] == [
        "Liverpool",
        "United Kingdom",
        "official twinning",
        "official since 1952",
        "active",
        "730 km",
    ]
    assert [
        "Corinto / El Realejo",
        "Nicaragua",
        "official twinning",
        "official since 1988",
        "active",
        "9218 km",
    ] in partners
    assert [
        "Volgograd",
        "Russian Federation",
        "official twinning",
        "official since November 1988",
        "suspended",
        "2676 km",
    ] in partners
    assert rows(response, "networks") == [["Städtebund DIE HANSE", "", ""]]
    assert rows(response, "names") == [["Cologne", "name in another language", "en", ""]]


def test_municipality_page_shows_awards_parent_successor_and_former_names(client, record):
    neukoelln = get(client, "/municipalities/berlin-neukolln/")
    assert rows(neukoelln, "awards") == [["1987", "Europe Prize", "Europe Prize"]]
    facts = neukoelln.content.decode()
    assert '<dt>Part of</dt><dd><a href="/municipalities/berlin/">Berlin</a></dd>' in facts
    kuusankoski = get(client, "/municipalities/kuusankoski/").content.decode()
    assert '<dt>Merged into</dt><dd><a href="/municipalities/kouvola/">Kouvola</a>' in kuusankoski
    treptow = get(client, "/municipalities/treptow-kopenick/")
    assert ["Treptow", "historical name", "de", "–2000"] in rows(treptow, "names")


def test_joint_partner_sees_the_other_side_as_its_partner(client, record):
    response = get(client, "/municipalities/el-realejo/")
    assert rows(response, "partners") == [
        ["Köln", "Germany", "official twinning", "official since 1988", "active", "9212 km"]
    ]


def test_municipality_list_and_search_by_any_name(client, record):
    assert column(get(client, "/municipalities/?q=Mömpelgard")) == ["Montbéliard"]
    assert column(get(client, "/municipalities/?q=cologne")) == ["Köln"]
    assert column(get(client, "/municipalities/?q=KOSICE")) == ["Košice"]
    response = get(client, "/municipalities/?q=koln")
    assert rows(response) == [["Köln", "city or town", "Germany", "Nordrhein-Westfalen", "24"]]


def test_unknown_municipality_is_404(client):
    assert client.get("/municipalities/nowhere/").status_code == 404


# Partnerships


def test_partnership_search_finds_ludwigsburg_montbeliard_under_moempelgard(client, record):
    response = get(client, "/partnerships/?q=Mömpelgard")
    assert rows(response) == [
        [
            "Ludwigsburg – Montbéliard",
            "Germany – France",
            "official twinning",
            "official since Aug. 25, 1950",
            "active",
        ]
    ]


def test_kind_filter_finds_keighley_among_the_adoptions(client, record):
    response = get(client, "/partnerships/?kind=adoption")
    names = column(response)
    assert names[0] == "Keighley – Poix-du-Nord"
    assert "Köln – Liverpool" not in names
    assert rows(response)[0] == [
        "Keighley – Poix-du-Nord",
        "United Kingdom – France",
        "official twinning",
        "linked since 1920, official since 1986",
        "active",
    ]


def test_partnership_page_shows_conflicting_claims_side_by_side(client, record):
    dnipro = by_slug("koln--dnipro")
    response = get(client, f"/partnerships/{dnipro.pk}/")
    assert heading(response) == "Köln – Dnipro"
    assert rows(response, "conflicts") == [
        ["official twinning", "May 2024", "EXPRESS"],
        ["official twinning", "September 2025", "europesays.com"],
    ]
    assert rows(response, "kind-history") == [
        ["project-limited partnership", "2022", "", "", "EXPRESS; europesays.com"],
        ["official twinning", "May 2024", "", "According to express.de.", "EXPRESS"],
        [
            "official twinning",
            "September 2025",
            "",
            "According to europesays.com.",
            "europesays.com",
        ],
    ]


def test_partnership_page_shows_names_and_countries_at_signing(client, record):
    treptow = by_slug("koln--treptow-kopenick")
    response = get(client, treptow.get_absolute_url())
    assert rows(response, "members") == [
        ["first partner", "Köln", "Germany", "Köln", "Germany"],
        [
            "second partner",
            "Treptow-Köpenick",
            "Germany",
            "Berlin-Treptow",
            "German Democratic Republic",
        ],
    ]
    volgograd = get(client, by_slug("koln--volgograd").get_absolute_url())
    assert rows(volgograd, "status-history")[0][:2] == ["suspended", "2022"]


def test_partnership_page_of_keighley_shows_both_adoption_dates(client, record):
    keighley = by_slug("keighley--poix-du-nord")
    response = get(client, keighley.get_absolute_url())
    assert rows(response, "conflicts") == [
        ["adoption or sponsorship", "1920", "The Independent; keighleyhistory.org.uk"],
        ["adoption or sponsorship", "1921", "Wikipedia; Wikipedia"],
    ]
    assert rows(response, "members")[0][0] == "first partner"
    faribault = get(client, by_slug("faribault--wurzburg").get_absolute_url())
    assert column(faribault, "members") == ["sponsor", "sponsored"]


def test_keighley_and_paderborn_say_linked_since_and_official_since_apart(client, record):
    """Keighley adopted Poix-du-Nord in 1920 (or 1921), a twinning since 1986; Paderborn and
    Le Mans are linked since 836, twinned since 1967."""
    assert rows(get(client, "/partnerships/?q=Poix-du-Nord")) == [
        [
            "Keighley – Poix-du-Nord",
            "United Kingdom – France",
            "official twinning",
            "linked since 1920, official since 1986",
            "active",
        ]
    ]
    assert rows(get(client, "/partnerships/?q=Le+Mans")) == [
        [
            "Paderborn – Le Mans",
            "Germany – France",
            "official twinning",
            "linked since 836, official since 1967",
            "active",
        ]
    ]
    keighley = get(client, by_slug("keighley--poix-du-nord").get_absolute_url())
    facts = r"<dt>(Kind|Status|Linked since|Official since)</dt><dd>(.*?)</dd>"
    assert re.findall(facts, keighley.content.decode()) == [
        ("Kind", "official twinning"),
        ("Status", "active"),
        ("Linked since", "1920"),
        ("Official since", "1986"),
    ]
    town = get(client, "/municipalities/poix-du-nord/")
    assert [row[:4] for row in rows(town, "partners")] == [
        [
            "Keighley",
            "United Kingdom",
            "official twinning",
            "linked since 1920, official since 1986",
        ]
    ]
    german = get(client, "/partnerships/?q=Poix-du-Nord", accept_language="de")
    assert rows(german)[0][2:4] == [
        "offizielle Städtepartnerschaft",
        "verbunden seit 1920, offiziell seit 1986",
    ]


def test_an_official_twinning_since_its_start_says_so_once(client, record):
    ludwigsburg = get(client, by_slug("ludwigsburg--montbeliard").get_absolute_url())
    html = ludwigsburg.content.decode()
    assert "<div><dt>Official since</dt><dd>Aug. 25, 1950</dd></div>" in html
    assert "Linked since" not in html
    adoption = get(client, by_slug("goslar--brzeg").get_absolute_url()).content.decode()
    assert "<div><dt>Linked since</dt><dd>1950</dd></div>" in adoption
    assert "Official since" not in adoption


def _history(first, second, kind, start, *changes):
    link = partnership(municipality(first), municipality(second, "FR"), kind=kind, start=start)
    for changed_kind, date in changes:
        KindChange.objects.create(partnership=link, kind=changed_kind, date=date)
    return link


def test_official_since_is_the_first_change_to_official_that_lasts(client):
    """From the history of kind: the earliest of conflicting claims, the latest run of the
    kind, never before the start; an official twinning with no such change is one since its
    start, and any other kind is only linked."""
    _history("A", "A2", Kind.FRIENDSHIP, "1960")
    _history("B", "B2", Kind.OFFICIAL, "1958")
    _history(
        "C",
        "C2",
        Kind.OFFICIAL,
        "1947",
        (Kind.FRIENDSHIP, "1947"),
        (Kind.OFFICIAL, "1988"),
        (Kind.OFFICIAL, "1975"),
    )
    _history(
        "D",
        "D2",
        Kind.OFFICIAL,
        "1950",
        (Kind.OFFICIAL, "1960"),
        (Kind.FRIENDSHIP, "1970"),
        (Kind.OFFICIAL, "1980"),
    )
    _history("E", "E2", Kind.OFFICIAL, "1958-07-03", (Kind.OFFICIAL, "1958"))
    _history("F", "F2", Kind.OFFICIAL, None, (Kind.OFFICIAL, "1986"))
    _history("G", "G2", Kind.ADOPTION, "1950", (Kind.OFFICIAL, "1960"), (Kind.ADOPTION, "1970"))
    _history("H", "H2", Kind.OFFICIAL, None)
    _history("I", "I2", Kind.OFFICIAL, "1990", (Kind.OFFICIAL, "1985"))
    response = get(client, "/partnerships/?sort=name")
    assert [(row[0], row[3]) for row in rows(response)] == [
        ("A – A2", "linked since 1960"),
        ("B – B2", "official since 1958"),
        ("C – C2", "linked since 1947, official since 1975"),
        ("D – D2", "linked since 1950, official since 1980"),
        ("E – E2", "official since July 3, 1958"),
        ("F – F2", "official since 1986"),
        ("G – G2", "linked since 1950"),
        ("H – H2", ""),
        ("I – I2", "official since 1990"),
    ]


def test_joint_partners_are_members_of_the_partnership_page(client, record):
    response = get(client, by_slug("koln--corinto").get_absolute_url())
    assert rows(response, "members") == [
        ["first partner", "Köln", "Germany", "Köln", "Germany"],
        ["second partner", "Corinto", "Nicaragua", "Corinto", "Nicaragua"],
        [
            "joint partner on the second side (from 1988)",
            "El Realejo",
            "Nicaragua",
            "El Realejo",
            "Nicaragua",
        ],
    ]


def test_a_network_at_a_partnership_address_moves_to_its_own(client, record):
    hanse = Partnership.objects.networks().get()
    response = client.get(f"/partnerships/{hanse.pk}/")
    assert (response.status_code, response["Location"]) == (301, "/networks/die-hanse/")


# Networks, awards, countries, statistics


def test_network_list_and_page_with_join_years(client):
    koeln, zwolle = municipality("Köln"), municipality("Zwolle", "NL")
    hanse = network("Die Hanse", start="1980")
    Membership.objects.create(partnership=hanse, municipality=zwolle, joined="1980")
    Membership.objects.create(partnership=hanse, municipality=koeln, joined="1986-05")
    network("Eurotowns", municipality("Lonely", "FR"))
    assert rows(get(client, "/networks/")) == [
        ["Die Hanse", "2", "1980", "active"],
        ["Eurotowns", "1", "", "active"],
    ]
    response = get(client, "/networks/die-hanse/")
    assert rows(response, "members") == [
        ["Zwolle", "Netherlands", "1980", ""],
        ["Köln", "Germany", "1986", ""],
    ]


def test_awards_by_year_and_level(client, record):
    response = get(client, "/awards/?level=europe_prize")
    assert rows(response)[:3] == [
        ["1955", "Europe Prize", "Coventry", "United Kingdom", "Europe Prize"],
        ["1956", "Europe Prize", "Puteaux", "France", "Europe Prize"],
        ["1956", "Europe Prize", "Offenbach am Main", "Germany", "Europe Prize"],
    ]
    other = get(client, "/awards/?level=other")
    assert rows(other) == [
        ["1990", "other honour", "Ludwigsburg – Montbéliard", "", "Adenauer-de-Gaulle Prize"]
    ]


def test_country_ranking_and_pairs(client, record):
    response = get(client, "/rankings/countries/")
    assert rows(response, "countries")[:3] == [
        ["1", "Germany", "56"],
        ["2", "Finland", "12"],
        ["3", "Poland", "8"],
    ]
    assert rows(response, "pairs")[:2] == [["Germany – Finland", "12"], ["Germany – Poland", "8"]]
    assert ["within Germany", "2"] in rows(response, "pairs")


# Of the record's partnerships, by the decade their link began: Paderborn – Le Mans in 836, then
# nothing until Keighley – Poix-du-Nord in 1920 (one gap row), and none in the 1930s.
DECADES_OF_THE_RECORD = [
    ["830s", "1"],
    ["840s–1910s", "none"],
    ["1920s", "2"],
    ["1930s", "none"],
    ["1940s", "4"],
    ["1950s", "18"],
    ["1960s", "11"],
    ["1970s", "5"],
    ["1980s", "12"],
    ["1990s", "7"],
    ["2000s", "2"],
    ["2010s", "1"],
    ["2020s", "1"],
    ["date unknown", "7"],
]


def test_decade_charts_count_by_the_start_of_the_link_and_show_the_gaps(client, record):
    for url in ("/", "/statistics/"):
        response = get(client, url)
        assert rows(response, "decades-table") == DECADES_OF_THE_RECORD, url
        html = response.content.decode()
        assert "<caption>Partnerships by the decade their link began</caption>" in html, url
        # A gap row says "none" where a bar would be, and has no bar.
        gap = re.search(r"<g>\s*<text[^>]*>840s–1910s</text>(.*?)</g>", html, re.S).group(1)
        assert "<rect" not in gap and re.search(r">none</text>\s*$", gap), url
    assert text(get(client, "/statistics/"), "decades-rule") == (
        "Counted by the year each link began, not the year it became an official twinning."
    )
    german = get(client, "/statistics/", accept_language="de")
    assert rows(german, "decades-table")[:4] == [
        ["830er", "1"],
        ["840er–1910er", "keine"],
        ["1920er", "2"],
        ["1930er", "keine"],
    ]


def test_decade_chart_without_gaps_or_with_one_decade(client):
    koeln = municipality("Köln")
    partnership(koeln, municipality("Lille", "FR"), start="1958")
    partnership(koeln, municipality("Liège", "BE"), start="1962-05")
    assert rows(get(client, "/statistics/"), "decades-table") == [["1950s", "1"], ["1960s", "1"]]
    partnership(koeln, municipality("Turku", "FI"), start="1989")
    partnership(koeln, municipality("Rotterdam", "NL"))
    assert rows(get(client, "/statistics/"), "decades-table") == [
        ["1950s", "1"],
        ["1960s", "1"],
        ["1970s", "none"],
        ["1980s", "1"],
        ["date unknown", "1"],
    ]


def test_statistics_tables_give_the_numbers_of_the_charts(client, record):
    response = get(client, "/statistics/")
    assert rows(response, "kinds-table") == [
        ["official twinning", "65"],
        ["adoption or sponsorship", "5"],
        ["informal contact", "1"],
    ]
    assert rows(response, "decades-table") == DECADES_OF_THE_RECORD
    assert rows(response, "countries-table")[0] == ["Germany", "68"]
    svg = response.content.decode()
    assert '<svg role="img" aria-labelledby="kinds-title"' in svg
    assert "style=" not in svg


# Accessible markup under the Content Security Policy


class _Fields(HTMLParser):
    """The ids of the visible form fields of a page and the ids its labels name."""

    def __init__(self):
        super().__init__()
        self.fields, self.labelled = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("type") not in (
            "hidden",
            "submit",
        ):
            self.fields.append(attrs.get("id"))
        elif tag == "label":
            self.labelled.add(attrs.get("for"))


PAGES = [
    "/",
    "/municipalities/",
    "/municipalities/koln/",
    "/partnerships/",
    "/partnerships/?founded_from=abc",
    "/networks/",
    "/networks/die-hanse/",
    "/rankings/",
    "/rankings/countries/",
    "/awards/",
    "/statistics/",
]


def test_every_page_labels_its_fields_and_has_no_inline_script_or_style(client, record):
    pages = PAGES + [by_slug("koln--dnipro").get_absolute_url()]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code in (200, 400), url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html) is None, url
        fields = _Fields()
        fields.feed(html)
        assert fields.fields, url
        assert [field for field in fields.fields if field not in fields.labelled] == [], url
        assert '<html lang="en">' in html and '<main id="content">' in html


def test_ranking_links_to_who_led_when(client):
    html = get(client, "/rankings/").content.decode()
    assert '<a href="?on=1950">1950</a>, <a href="?on=1960">1960</a>' in html


# Language


def test_accept_language_de_gives_german_pages(client, record):
    response = get(client, "/rankings/", accept_language="de")
    assert heading(response) == "Gemeinden nach Zahl der Partner"
    assert table(response, "ranking")[:2] == [
        ["Rang ▲", "Gemeinde", "Land", "Partner"],
        ["1", "Köln", "Deutschland", "24"],
    ]
    assert response["Content-Language"] == "de"
    wuppertal = by_slug("wuppertal--kosice")
    detail = get(client, wuppertal.get_absolute_url(), accept_language="de")
    assert rows(detail, "members")[1] == [
        "zweiter Partner",
        "Košice",
        "Slowakei",
        "Košice",
        "Tschechoslowakei",
    ]
    assert "<dt>Offiziell seit</dt><dd>22. Mai 1980</dd>" in detail.content.decode()


def test_a_bad_parameter_is_explained_in_german_too(client):
    response = client.get("/partnerships/?founded_from=abc", headers={"accept-language": "de"})
    assert (response.status_code, errors(response)) == (
        400,
        ["Gegründet ab (Jahr): Geben Sie ein Jahr wie 1958 ein."],
    )


def test_language_switcher_posts_to_set_language(client):
    html = get(client, "/").content.decode()
    assert '<form class="language" action="/i18n/setlang/" method="post">' in html
    assert '<label for="language">Language</label>' in html
    assert '<option value="de" lang="de">Deutsch</option>' in html
    switched = client.post("/i18n/setlang/", {"language": "de", "next": "/"}, follow=True)
    assert heading(switched) == "Register der Städtepartnerschaften"
    assert heading(get(client, "/rankings/")) == "Gemeinden nach Zahl der Partner"


# Query counts: constant whatever the amount of data


def _towns(count, code="DE", prefix="Town"):
    return [municipality(f"{prefix} {number}", code) for number in range(count)]


def _partnerships(count):
    """``count`` partnerships, each with two fresh towns, a source, a theme and a kind change."""
    source = Source.objects.create(key=f"s-{count}", citation="A source")
    theme = Theme.objects.get(slug="sport")
    created = []
    for number in range(count):
        first, second = municipality(f"A{number}"), municipality(f"B{number}", "FR")
        link = partnership(first, second, start=f"{1950 + number % 70}")
        link.sources.add(source)
        link.themes.add(theme)
        KindChange.objects.create(partnership=link, kind=Kind.ADOPTION, date="1949")
        KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date="1950")
        created.append(link)
    return created


@pytest.mark.parametrize("count", [3, 30])
def test_list_pages_run_a_constant_number_of_queries(client, django_assert_num_queries, count):
    _partnerships(count)
    for number in range(count):
        network(f"Network {number}", *_towns(2, prefix=f"N{number}"))
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=Event.Award.EUROPE_PRIZE,
            title="Europe Prize",
            date=str(1960 + number),
            municipality=Municipality.objects.get(name=f"A{number}"),
            country_at_time=country("DE"),
        )
    # The countries and themes of the filter forms are read once, then kept in the cache
    # until one of them changes (tests/test_caching.py): every page below finds them there.
    client.get("/partnerships/?sort=start")
    # Page 1 of a list reads its rows and its count in one query (the count as a subquery,
    # or as a window over the groups of a grouped list).
    pages = {
        "/municipalities/": 1,
        "/municipalities/?q=a1&country=DE&region=&seeking=no&has_partners=yes&sort=-partners": 2,
        "/partnerships/": 1,
        "/partnerships/?q=a&kind=adoption&country=FR&country_pair=DE-FR&founded_from=1900"
        "&founded_to=2100&theme=sport&at_signing=DE&sort=-start": 5,
        "/networks/": 1,
        "/rankings/": 1,
        "/rankings/?on=2000&country=DE": 2,
        "/rankings/?on=1960&status=any&domestic=exclude": 1,
        "/rankings/?kind=any&status=any&domestic=exclude": 1,
        "/rankings/countries/": 2,
        "/awards/?level=europe_prize&country=DE": 2,
    }
    for url, queries in pages.items():
        with django_assert_num_queries(queries, info=url):
            response = client.get(url)
        assert response.status_code == 200, url
        assert max(len(rows) for rows in page(response).tables.values()) > 1, url


@pytest.mark.parametrize("count", [1, 3])
def test_home_and_statistics_run_a_constant_number_of_queries(
    client, django_assert_num_queries, count
):
    year = timezone.localdate().year
    for link in _partnerships(count):
        link.start = str(year - 50)
        link.save()
    with django_assert_num_queries(6):
        assert client.get("/").status_code == 200
    with django_assert_num_queries(4):
        assert client.get("/statistics/").status_code == 200


@pytest.mark.parametrize("count", [1, 3])
def test_municipality_page_runs_a_constant_number_of_queries(
    client, django_assert_num_queries, count
):
    home = municipality("Köln", latitude="50.9", longitude="6.9", parent=municipality("Parent"))
    municipality("Part", parent=home)
    source = Source.objects.create(key="source", citation="A source")
    home.sources.add(source)
    for number in range(count):
        other = municipality(f"Partner {number}", "FR", latitude="50.6", longitude="3.0")
        link = partnership(home, other, start=str(1960 + number))
        # The history of kind says since when each is official: read in the same query.
        KindChange.objects.create(partnership=link, kind=Kind.FRIENDSHIP, date=str(1960 + number))
        KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date=str(1970 + number))
        Membership.objects.create(
            partnership=link, municipality=municipality(f"Joint {number}", "FR"), side="second"
        )
        network(f"Network {number}", home)
        AlternativeName.objects.create(municipality=home, name=f"Name {number}")
        Event.objects.create(kind=Event.Kind.VISIT, title="Visit", date="1970", partnership=link)
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=Event.Award.FLAG_OF_HONOUR,
            title="Flag",
            date=str(1970 + number),
            municipality=home,
        )
    with django_assert_num_queries(8):
        response = client.get(home.get_absolute_url())
    assert [row[3] for row in rows(response, "partners")] == [
        f"linked since {1960 + number}, official since {1970 + number}" for number in range(count)
    ]


@pytest.mark.parametrize("count", [1, 3])
def test_partnership_page_runs_a_constant_number_of_queries(
    client, django_assert_num_queries, count
):
    source = Source.objects.create(key="source", citation="A source")
    earlier = partnership(municipality("Old"), municipality("Older", "FR"))
    link = partnership(municipality("Köln"), municipality("Lille", "FR"), continues=earlier)
    link.sources.add(source)
    link.themes.add(*Theme.objects.all()[:count])
    for number in range(count):
        member = Membership.objects.create(
            partnership=link, municipality=municipality(f"Joint {number}", "FR"), side="second"
        )
        member.sources.add(source)
        change = KindChange.objects.create(
            partnership=link, kind=Kind.FRIENDSHIP, date=str(1950 + number)
        )
        change.sources.add(source)
        status = StatusChange.objects.create(
            partnership=link, status=Status.ACTIVE, date=str(1960 + number)
        )
        status.sources.add(source)
        event = Event.objects.create(
            kind=Event.Kind.VISIT, title="Visit", date=str(1970 + number), partnership=link
        )
        event.sources.add(source)
    with django_assert_num_queries(13):
        response = client.get(link.get_absolute_url())
    assert len(rows(response, "kind-history")) == count


@pytest.mark.parametrize("count", [1, 3])
def test_network_page_runs_a_constant_number_of_queries(client, django_assert_num_queries, count):
    hanse = network("Die Hanse", *_towns(count))
    hanse.sources.add(Source.objects.create(key="source", citation="A source"))
    Event.objects.create(kind=Event.Kind.FOUNDING, title="Founded", date="1980", partnership=hanse)
    with django_assert_num_queries(4):
        response = client.get(hanse.get_absolute_url())
    assert len(rows(response, "members")) == count


# Methods


PUBLIC_PAGES = [
    "/",
    "/municipalities/",
    "/municipalities/{town}/",
    "/partnerships/",
    "/partnerships/{pk}/",
    "/networks/",
    "/networks/{network}/",
    "/rankings/",
    "/rankings/countries/",
    "/awards/",
    "/statistics/",
]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_answer_only_get_and_head(client, url, method):
    koeln, lille = municipality("Köln"), municipality("Lille", "FR")
    link = partnership(koeln, lille, start="1958")
    hanse = network("Neue Hanse", koeln, lille)
    url = url.format(town=koeln.slug, pk=link.pk, network=hanse.slug)
    assert client.get(url).status_code == 200
    head = client.head(url)
    assert (head.status_code, head.content) == (200, b"")
    refused = getattr(client, method)(url)
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, HEAD"
    assert Partnership.objects.count() == 2


# Past days: of two records of one date, the first recorded counts


@pytest.mark.parametrize(
    "model, field, values",
    [
        (KindChange, "kind", ("friendship", "official")),
        (StatusChange, "status", ("suspended", "active")),
    ],
)
@pytest.mark.parametrize("first", [0, 1])
def test_a_past_ranking_takes_the_first_recorded_of_two_changes_of_one_date(
    client, model, field, values, first
):
    """Of two records of one date that disagree (a kind or a status), the first recorded
    counts: both orders, so that neither the other tie-break nor none passes."""
    koeln, lille = municipality("Köln"), municipality("Lille", "FR")
    link = partnership(koeln, lille, start="1958")
    first_recorded, later = values[first], values[1 - first]
    model.objects.create(partnership=link, date="1960", **{field: first_recorded})
    model.objects.create(partnership=link, date="1960", **{field: later})
    for value in values:
        response = get(client, f"/rankings/?on=1965&{field}={value}")
        if value == first_recorded:
            counted = [["1", "Köln", "Germany", "1"], ["1", "Lille", "France", "1"]]
            assert rows(response, "ranking") == counted, value
        else:
            assert_no_ranking(response)


def assert_no_ranking(response):
    assert "ranking" not in page(response).tables
    assert "No municipality has partners under this rule." in response.content.decode()
