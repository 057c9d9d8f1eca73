"""Downloads: every list and ranking as CSV and JSON, the same rows as the page."""

import csv
import io
import json

import pytest
from conftest import country, municipality, network, partnership
from django.core.management import call_command
from django.utils import timezone
from pages import errors, rows, text

from registry.downloads import neutralise
from registry.models import (
    AlternativeName,
    Country,
    Event,
    KindChange,
    Membership,
    Municipality,
    Partnership,
    Source,
    StatusChange,
)

pytestmark = pytest.mark.django_db

Kind = Partnership.Kind


def body(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def csv_rows(response):
    assert response.status_code == 200, body(response)[:2000]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(body(response))))


def json_document(response):
    assert response.status_code == 200, body(response)[:2000]
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(body(response))


@pytest.fixture
def today():
    return timezone.localdate().isoformat()


@pytest.fixture
def record():
    call_command("load_record", verbosity=0)


def test_neutralise_formula_cells_and_leave_numbers_alone():
    assert [neutralise(value) for value in ["=1+1", "+49", "-2", "@SUM(A1)", "\tx", "Köln"]] == [
        "'=1+1",
        "'+49",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "Köln",
    ]
    assert (neutralise(-3.5), neutralise(None), neutralise(True)) == (-3.5, None, True)


def test_municipality_csv_is_the_filtered_list_with_formulas_neutralised(client, today):
    municipality('=HYPERLINK("http://evil")', "FR", slug="evil", latitude="-21.1", longitude="55.5")
    municipality("@Home", "FR", slug="home")
    municipality("Köln", slug="koln")
    response = client.get("/municipalities/?country=FR&format=csv")
    assert response["Content-Disposition"] == (f'attachment; filename="municipalities-{today}.csv"')
    assert csv_rows(response) == [
        [
            "slug",
            "name",
            "kind",
            "country_code",
            "country",
            "region_code",
            "region",
            "latitude",
            "longitude",
            "population",
            "partners",
            "seeking_partner",
            "url",
            "wikidata_id",
            "geonames_id",
            "as_of",
        ],
        [
            "evil",
            '\'=HYPERLINK("http://evil")',
            "city",
            "FR",
            "France",
            "",
            "",
            "-21.1",
            "55.5",
            "",
            "0",
            "False",
            "http://testserver/municipalities/evil/",
            "",
            "",
            today,
        ],
        [
            "home",
            "'@Home",
            "city",
            "FR",
            "France",
            "",
            "",
            "",
            "",
            "",
            "0",
            "False",
            "http://testserver/municipalities/home/",
            "",
            "",
            today,
        ],
    ]
    document = json_document(client.get("/municipalities/?country=FR&format=json"))
    assert (document["as_of"], document["count"]) == (today, 2)
    assert document["results"][0]["name"] == '=HYPERLINK("http://evil")'
    assert document["results"][0]["latitude"] == -21.1


def test_partnership_list_downloads_carry_members_dates_and_sources(client, record, today):
    response = client.get("/partnerships/?q=Mömpelgard&format=csv")
    header, *rows = csv_rows(response)
    ludwigsburg = Partnership.objects.get(slug="ludwigsburg--montbeliard")
    assert [dict(zip(header, row, strict=True)) for row in rows] == [
        {
            "id": str(ludwigsburg.pk),
            "slug": "ludwigsburg--montbeliard",
            "name": "Ludwigsburg – Montbéliard",
            "kind": "official",
            "status": "active",
            "start": "1950-08-25",
            "start_precision": "day",
            "end": "",
            "end_precision": "",
            "first": "Ludwigsburg",
            "first_slug": "ludwigsburg",
            "first_country": "DE",
            "first_name_at_signing": "",
            "first_country_at_signing": "",
            "second": "Montbéliard",
            "second_slug": "montbeliard",
            "second_country": "FR",
            "second_name_at_signing": "",
            "second_country_at_signing": "",
            "joint_partners": "",
            "sources": "seed; record",
            "url": f"http://testserver/partnerships/{ludwigsburg.pk}/",
            "official_since": "1950-08-25",
            "official_since_precision": "day",
            "first_wikidata_id": "",
            "first_geonames_id": "2875392",
            "second_wikidata_id": "",
            "second_geonames_id": "2992938",
            "as_of": today,
        }
    ]
    corinto = json_document(client.get("/partnerships/?q=realejo&format=json"))
    assert corinto["count"] == 1
    [link] = corinto["results"]
    assert (link["kind"], link["status"], link["start"]) == (
        "official",
        "active",
        {"date": "1988", "precision": "year"},
    )
    assert [(m["role"], m["municipality"]["name"], m["joined"]) for m in link["members"]] == [
        ("first", "Köln", None),
        ("second", "Corinto", None),
        ("joint_second", "El Realejo", {"date": "1988", "precision": "year"}),
    ]
    assert [source["key"] for source in link["sources"]] == ["seed", "record"]


def test_partnership_downloads_say_since_when_official_after_every_earlier_column(
    client, record, today
):
    """``official_since`` and its precision come after every earlier column: the columns
    before them keep their places."""
    header, *rows = csv_rows(client.get("/partnerships/?q=Poix-du-Nord&format=csv"))
    assert header[20:24] == ["sources", "url", "official_since", "official_since_precision"]
    assert [row[header.index("start")] for row in rows] == ["1920"]
    assert [row[22:24] for row in rows] == [["1986", "year"]]
    _header, adoption = csv_rows(client.get("/partnerships/?q=Goslar&format=csv"))
    assert adoption[22:24] == ["", ""]
    [link] = json_document(client.get("/partnerships/?q=Le+Mans&format=json"))["results"]
    assert (link["start"], link["official_since"]) == (
        {"date": "0836", "precision": "year"},
        {"date": "1967", "precision": "year"},
    )
    keighley = Partnership.objects.get(slug="keighley--poix-du-nord")
    document = json_document(client.get(f"/partnerships/{keighley.pk}/?format=json"))
    assert (document["start"], document["official_since"]) == (
        {"date": "1920", "precision": "year"},
        {"date": "1986", "precision": "year"},
    )


def test_partnership_json_carries_both_claims_with_their_sources(client, record):
    dnipro = Partnership.objects.get(slug="koln--dnipro")
    response = client.get(f"/partnerships/{dnipro.pk}/?format=json")
    document = json_document(response)
    assert [(c["kind"], c["date"], c["sources"]) for c in document["kind_history"]] == [
        ("project", {"date": "2022", "precision": "year"}, ["express-de", "europesays"]),
        ("official", {"date": "2024-05", "precision": "month"}, ["express-de"]),
        ("official", {"date": "2025-09", "precision": "month"}, ["europesays"]),
    ]
    assert [source["key"] for source in document["sources"]] == ["express-de", "europesays"]
    treptow = Partnership.objects.get(slug="koln--treptow-kopenick")
    members = json_document(client.get(f"/partnerships/{treptow.pk}/?format=json"))["members"]
    assert members[1]["name_at_signing"] == "Berlin-Treptow"
    assert members[1]["country_at_signing"] == {
        "code": "DDDE",
        "name": "German Democratic Republic",
    }


def test_ranking_downloads_name_their_day(client, record):
    response = client.get("/rankings/?on=1970&format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="ranking-1970-12-31.csv"'
    rows = csv_rows(response)
    assert rows[:3] == [
        [
            "rank",
            "slug",
            "name",
            "country_code",
            "country",
            "partners",
            "url",
            "wikidata_id",
            "geonames_id",
            "as_of",
        ],
        [
            "1",
            "koln",
            "Köln",
            "DE",
            "Germany",
            "10",
            "http://testserver/municipalities/koln/",
            "Q365",
            "2886242",
            "1970-12-31",
        ],
        [
            "2",
            "arras",
            "Arras",
            "FR",
            "France",
            "1",
            "http://testserver/municipalities/arras/",
            "",
            "3036784",
            "1970-12-31",
        ],
    ]
    document = json_document(client.get("/rankings/?format=json"))
    assert document["results"][0] == {
        "rank": 1,
        "slug": "koln",
        "name": "Köln",
        "country_code": "DE",
        "country": "Germany",
        "partners": 24,
        "url": "http://testserver/municipalities/koln/",
        "wikidata_id": "Q365",
        "geonames_id": 2886242,
    }
    assert document["count"] == 95


def test_country_ranking_downloads(client, record, today):
    countries = csv_rows(client.get("/rankings/countries/?format=csv"))
    assert countries[:3] == [
        ["rank", "code", "country", "partnerships", "as_of"],
        ["1", "DE", "Germany", "56", today],
        ["2", "FI", "Finland", "12", today],
    ]
    pairs = csv_rows(client.get("/rankings/countries/?format=csv&table=pairs"))
    assert pairs[:2] == [
        ["country_code", "country", "other_country_code", "other_country", "partnerships", "as_of"],
        ["DE", "Germany", "FI", "Finland", "12", today],
    ]
    document = json_document(client.get("/rankings/countries/?format=json"))
    assert (document["countries"][0]["code"], document["pairs"][0]["partnerships"]) == ("DE", 12)
    bad = client.get("/rankings/countries/?table=towns")
    assert (bad.status_code, errors(bad)) == (
        400,
        ["“towns” is not a table of this page; choose countries or pairs."],
    )


def test_awards_and_networks_download(client, record, today):
    awards = csv_rows(client.get("/awards/?level=other&format=csv"))
    ludwigsburg = Partnership.objects.get(slug="ludwigsburg--montbeliard")
    assert awards == [
        [
            "date",
            "level",
            "title",
            "laureate",
            "laureate_url",
            "country_at_the_time_code",
            "country_at_the_time",
            "laureate_wikidata_id",
            "laureate_geonames_id",
            "as_of",
        ],
        [
            "1990",
            "other",
            "Adenauer-de-Gaulle Prize",
            "Ludwigsburg – Montbéliard",
            f"http://testserver/partnerships/{ludwigsburg.pk}/",
            "",
            "",
            "",
            "",
            today,
        ],
    ]
    networks = json_document(client.get("/networks/?format=json"))
    assert networks["results"] == [
        {
            "slug": "die-hanse",
            "name": "Städtebund DIE HANSE",
            "members": 10,
            "start": "1980",
            "start_precision": "year",
            "status": "active",
            "url": "http://testserver/networks/die-hanse/",
        }
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/municipalities/?format=xml",
        "/partnerships/?format=XLSX",
        "/networks/?format=csv2",
        "/rankings/?format=txt",
        "/rankings/countries/?format=pdf",
        "/awards/?format=yaml",
    ],
)
def test_unknown_format_is_refused_with_400(client, url):
    response = client.get(url)
    value = url.partition("format=")[2]
    assert (response.status_code, errors(response)) == (
        400,
        [f"“{value}” is not a download format; choose csv, json, xlsx."],
    )


def test_partnership_page_offers_json_only(client):
    link = partnership(municipality("Köln"), municipality("Lille", "FR"))
    response = client.get(f"/partnerships/{link.pk}/?format=csv")
    assert (response.status_code, errors(response)) == (
        400,
        ["“csv” is not a download format; choose json."],
    )


def test_a_bad_filter_gives_no_download(client):
    response = client.get("/partnerships/?founded_from=abc&format=csv")
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert errors(response) == ["Founded from (year): Enter a year such as 1958."]


# Query counts


@pytest.mark.parametrize("count", [3, 30])
def test_downloads_run_a_constant_number_of_queries(client, django_assert_num_queries, count):
    source = Source.objects.create(key="s", citation="A source")
    for number in range(count):
        first, second = municipality(f"A{number}"), municipality(f"B{number}", "FR")
        link = partnership(first, second, start=str(1950 + number))
        link.sources.add(source)
        Membership.objects.create(
            partnership=link, municipality=municipality(f"J{number}", "FR"), side="second"
        )
        network(f"Network {number}", first)
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=Event.Award.EUROPE_PRIZE,
            title="Europe Prize",
            date=str(1960 + number),
            municipality=first,
            country_at_time=country("DE"),
        )
    downloads = {
        "/municipalities/?format=csv": 1,
        "/municipalities/?format=json": 1,
        "/partnerships/?format=csv": 3,
        "/partnerships/?format=json": 3,
        "/networks/?format=json": 1,
        "/rankings/?format=csv": 1,
        "/rankings/?on=2000&format=json": 1,
        "/rankings/countries/?format=json": 2,
        "/awards/?format=csv": 1,
    }
    for url, queries in downloads.items():
        with django_assert_num_queries(queries):
            response = client.get(url)
            assert response.status_code == 200
            content = body(response)
        assert len(content.splitlines()) > 3, url


@pytest.mark.parametrize("count", [1, 3])
def test_partnership_json_runs_a_constant_number_of_queries(
    client, django_assert_num_queries, count
):
    source = Source.objects.create(key="s", citation="A source")
    link = partnership(municipality("Köln"), municipality("Lille", "FR"))
    link.sources.add(source)
    for number in range(count):
        change = KindChange.objects.create(
            partnership=link, kind=Kind.OFFICIAL, date=str(1950 + number)
        )
        change.sources.add(source)
        status = StatusChange.objects.create(
            partnership=link, status="active", date=str(1960 + number)
        )
        status.sources.add(source)
        event = Event.objects.create(
            kind=Event.Kind.VISIT, title="Visit", date=str(1970 + number), partnership=link
        )
        event.sources.add(source)
        member = Membership.objects.create(
            partnership=link, municipality=municipality(f"J{number}", "FR"), side="second"
        )
        member.sources.add(source)
    with django_assert_num_queries(13):
        document = json_document(client.get(f"/partnerships/{link.pk}/?format=json"))
    assert len(document["kind_history"]) == count


# Wikidata and GeoNames ids


def test_every_download_of_towns_carries_their_wikidata_and_geonames_ids(client, record, today):
    """The ids come last before ``as_of`` in each CSV (the earlier columns keep their places),
    and in the JSON of the lists and of the partnership, town and network pages."""
    koeln = municipality_row(client, "/municipalities/?q=Köln&format=csv")
    assert (koeln["slug"], koeln["wikidata_id"], koeln["geonames_id"]) == (
        "koln",
        "Q365",
        "2886242",
    )
    [town] = json_document(client.get("/municipalities/?q=Köln&format=json"))["results"]
    assert (town["wikidata_id"], town["geonames_id"]) == ("Q365", 2886242)

    url = "/partnerships/?municipality=lille&format={}"
    header, *rows = csv_rows(client.get(url.format("csv")))
    assert header[-5:] == [
        "first_wikidata_id",
        "first_geonames_id",
        "second_wikidata_id",
        "second_geonames_id",
        "as_of",
    ]
    assert [row[9:12] + row[14:17] + row[-5:] for row in rows] == [
        ["Köln", "koln", "DE", "Lille", "lille", "FR", "Q365", "2886242", "Q648", "2998324", today]
    ]
    [link] = json_document(client.get(url.format("json")))["results"]
    assert [m["municipality"] for m in link["members"]] == [
        {
            "slug": "koln",
            "name": "Köln",
            "country": {"code": "DE", "name": "Germany"},
            "wikidata_id": "Q365",
            "geonames_id": 2886242,
        },
        {
            "slug": "lille",
            "name": "Lille",
            "country": {"code": "FR", "name": "France"},
            "wikidata_id": "Q648",
            "geonames_id": 2998324,
        },
    ]
    detail = json_document(client.get(f"/partnerships/{link['id']}/?format=json"))
    assert detail["members"] == link["members"]

    header, first, *_rest = csv_rows(client.get("/rankings/?format=csv"))
    assert header[-3:] == ["wikidata_id", "geonames_id", "as_of"]
    assert first[:3] + first[-3:] == ["1", "koln", "Köln", "Q365", "2886242", today]


def municipality_row(client, url):
    header, row = csv_rows(client.get(url))
    return dict(zip(header, row, strict=True))


def test_an_award_download_carries_the_ids_of_the_town_it_went_to(client, today):
    koeln = municipality("Köln", wikidata_id="Q365", geonames_id=2886242)
    lille = municipality("Lille", "FR")
    link = partnership(koeln, lille)
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.EUROPE_PRIZE,
        title="Prize",
        date="1970",
        municipality=koeln,
    )
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.OTHER,
        title="Other",
        date="1971",
        municipality=lille,
    )
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.OTHER,
        title="Pair",
        date="1972",
        partnership=link,
    )
    header, *rows = csv_rows(client.get("/awards/?format=csv"))
    assert header[-3:] == ["laureate_wikidata_id", "laureate_geonames_id", "as_of"]
    assert [[row[2], *row[-3:]] for row in rows] == [
        ["Prize", "Q365", "2886242", today],
        ["Other", "", "", today],
        ["Pair", "", "", today],
    ]
    results = json_document(client.get("/awards/?format=json"))["results"]
    assert [(r["laureate_wikidata_id"], r["laureate_geonames_id"]) for r in results] == [
        ("Q365", 2886242),
        ("", None),
        ("", None),
    ]


def test_the_town_page_links_its_wikidata_and_geonames_ids(client, record):
    html = client.get("/municipalities/koln/").content.decode()
    assert (
        '<div><dt>Wikidata</dt><dd><a id="wikidata" href="https://www.wikidata.org/wiki/Q365"'
        ' rel="external noopener">Q365</a></dd></div>'
    ) in html
    assert (
        '<div><dt>GeoNames</dt><dd><a id="geonames" href="https://www.geonames.org/2886242"'
        ' rel="external noopener">2886242</a></dd></div>'
    ) in html
    # Ludwigsburg has a GeoNames id and no Wikidata id: only the one is shown.
    html = client.get("/municipalities/ludwigsburg/").content.decode()
    assert 'id="geonames" href="https://www.geonames.org/2875392"' in html
    assert "Wikidata" not in html
    bare = client.get(municipality("Nowhere").get_absolute_url()).content.decode()
    assert ("Wikidata" in bare, "GeoNames" in bare) == (False, False)


# A town's and a network's page as JSON


def test_a_town_page_as_json_has_its_partners_by_the_counting_rule(client, record, today):
    response = client.get("/municipalities/koln/?format=json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="municipality-koln-{today}.json"'
    )
    document = json_document(response)
    lists = ("alternative_names", "partnerships", "networks", "events", "sources")
    assert {key: value for key, value in document.items() if key not in lists} == {
        "as_of": today,
        "slug": "koln",
        "name": "Köln",
        "country": {"code": "DE", "name": "Germany"},
        "wikidata_id": "Q365",
        "geonames_id": 2886242,
        "url": "http://testserver/municipalities/koln/",
        "kind": "city",
        "region": {"code": "DE-NW", "name": "Nordrhein-Westfalen"},
        "latitude": 50.93333,
        "longitude": 6.95,
        "population": None,
        "partner_count": 24,
        "seeking_partner": False,
        "seeking_description": None,
        "website": None,
        "part_of": None,
        "parts": [],
        "merged_into": None,
        "merged": None,
        "merged_from": [],
    }
    assert document["alternative_names"] == [
        {
            "name": "Cologne",
            "kind": "exonym",
            "language": "en",
            "used_from": None,
            "used_until": None,
        }
    ]
    partnerships = document["partnerships"]
    # 25 partnerships, as on the page, oldest first; all but the suspended one with Volgograd
    # count: 24, the stored count.
    assert [
        (p["slug"], " / ".join(o["name"] for o in p["partners"]), p["counts"]) for p in partnerships
    ] == [
        ("koln--liverpool", "Liverpool", True),
        ("koln--esch-sur-alzette", "Esch-sur-Alzette", True),
        ("koln--liege", "Liège", True),
        ("koln--lille", "Lille", True),
        ("koln--rotterdam", "Rotterdam", True),
        ("koln--torino", "Torino", True),
        ("koln--kyoto", "Kyoto", True),
        ("koln--tunis", "Tunis", True),
        ("koln--berlin-neukolln", "Berlin-Neukölln", True),
        ("koln--turku", "Turku", True),
        ("koln--cluj-napoca", "Cluj-Napoca", True),
        ("koln--tel-aviv-yafo", "Tel Aviv-Yafo", True),
        ("koln--barcelona", "Barcelona", True),
        ("koln--beijing", "Beijing", True),
        ("koln--corinto", "Corinto / El Realejo", True),
        ("koln--thessaloniki", "Thessaloniki", True),
        ("koln--cork", "Cork", True),
        ("koln--indianapolis", "Indianapolis", True),
        ("koln--volgograd", "Volgograd", False),
        ("koln--treptow-kopenick", "Treptow-Köpenick", True),
        ("koln--katowice", "Katowice", True),
        ("koln--bethlehem", "Bethlehem", True),
        ("koln--istanbul", "İstanbul", True),
        ("koln--rio-de-janeiro", "Rio de Janeiro", True),
        ("koln--dnipro", "Dnipro", True),
    ]
    assert sum(p["counts"] for p in partnerships) == 24
    dnipro = Partnership.objects.get(slug="koln--dnipro")
    assert partnerships[-1] == {
        "id": dnipro.pk,
        "slug": "koln--dnipro",
        "url": f"http://testserver/partnerships/{dnipro.pk}/",
        "kind": "official",
        "status": "active",
        "counts": True,
        "start": {"date": "2022", "precision": "year"},
        "official_since": {"date": "2024-05", "precision": "month"},
        "end": None,
        "partners": [
            {
                "slug": "dnipro",
                "name": "Dnipro",
                "country": {"code": "UA", "name": "Ukraine"},
                "wikidata_id": None,
                "geonames_id": Municipality.objects.get(slug="dnipro").geonames_id,
            }
        ],
        "distance_km": 2026,
    }
    assert document["networks"] == [
        {
            "slug": "die-hanse",
            "name": "Städtebund DIE HANSE",
            "url": "http://testserver/networks/die-hanse/",
            "joined": None,
            "left": None,
        }
    ]
    esch = Partnership.objects.get(slug="koln--esch-sur-alzette")
    assert len(document["events"]) == 15
    assert document["events"][:2] == [
        {
            "kind": "founding",
            "award": None,
            "title": "German Section of the CEMR (RGRE) founded",
            "date": {"date": "1955", "precision": "year"},
            "place": None,
            "participants": (
                "Dr. Frank Mentrup, Lord Mayor of Karlsruhe, president until probably end of 2021"
            ),
            "description": "Its seat is at the Deutscher Städtetag in Köln.",
            "partnership": None,
            "municipality": "koln",
        },
        {
            "kind": "signing",
            "award": None,
            "title": "Ring partnership signed in Liège",
            "date": {"date": "1958-07-03", "precision": "day"},
            "place": "Liège",
            "participants": None,
            "description": (
                "One ring of six towns (Köln, Esch-sur-Alzette, Liège, Lille, Rotterdam, Torino)"
                " signed in Liège."
            ),
            "partnership": {"id": esch.pk, "name": "Köln – Esch-sur-Alzette"},
            "municipality": None,
        },
    ]
    assert [source["key"] for source in document["sources"]] == [
        source.key for source in Municipality.objects.get(slug="koln").sources.all()
    ]


def test_a_network_page_as_json_has_its_members_with_their_dates(client, record, today):
    response = client.get("/networks/die-hanse/?format=json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="network-die-hanse-{today}.json"'
    )
    document = json_document(response)
    assert {k: v for k, v in document.items() if k not in ("members", "events", "sources")} == {
        "as_of": today,
        "slug": "die-hanse",
        "name": "Städtebund DIE HANSE",
        "url": "http://testserver/networks/die-hanse/",
        "kind": "network",
        "status": "active",
        "start": {"date": "1980", "precision": "year"},
        "end": None,
        "description": (
            'The "Neue Hanse": founded in 1980 in Zwolle, at Zwolle\'s 750th anniversary, by 43'
            " former Hanseatic towns; seat in Lübeck, chaired by Lübeck's mayor; about 195"
            " member towns in 16 countries (2024)."
        ),
    }
    assert [
        (
            m["role"],
            m["municipality"]["slug"],
            m["municipality"]["country"]["code"],
            m["municipality"]["wikidata_id"],
            m["joined"],
            m["left"],
        )
        for m in document["members"]
    ] == [
        ("member", "brakel", "DE", None, None, None),
        ("member", "brilon", "DE", None, None, None),
        ("member", "gdansk", "PL", "Q1792", None, None),
        ("member", "hamburg", "DE", "Q1055", None, None),
        ("member", "hannover", "DE", "Q1715", None, None),
        ("member", "koln", "DE", "Q365", None, None),
        ("member", "lubeck", "DE", "Q2908", None, None),
        ("member", "rostock", "DE", None, None, None),
        ("member", "turku", "FI", "Q38511", None, None),
        ("member", "zwolle", "NL", "Q793", None, None),
    ]
    assert document["members"][-1] == {
        "role": "member",
        "municipality": {
            "slug": "zwolle",
            "name": "Zwolle",
            "country": {"code": "NL", "name": "Netherlands"},
            "wikidata_id": "Q793",
            "geonames_id": 2743477,
        },
        "name_at_signing": None,
        "country_at_signing": None,
        "joined": None,
        "left": None,
    }
    assert [(e["kind"], e["title"], e["date"]["date"], e["place"]) for e in document["events"]] == [
        ("founding", "Founded in Zwolle", "1980", "Zwolle"),
        ("network_meeting", "Hansetag in Tallinn", "1992", "Tallinn"),
        ("network_meeting", "Hansetag in Zwolle: statute adopted", "2000", "Zwolle"),
        ("network_meeting", "Hansetag in Riga", "2001", "Riga"),
    ]
    assert document["events"][0]["description"] == (
        "Founded by 43 former Hanseatic towns at Zwolle's 750th anniversary."
    )
    assert [source["key"] for source in document["sources"]] == ["stadt-koeln-de", "seed", "record"]


def test_a_network_member_joined_and_left_on_its_dates(client):
    hanse = network("Die Hanse", start="1980")
    Membership.objects.create(
        partnership=hanse,
        municipality=municipality("Zwolle", "NL", geonames_id=2743477),
        joined="1980",
        left="2001-06",
    )
    [member] = json_document(client.get(f"{hanse.get_absolute_url()}?format=json"))["members"]
    assert (member["joined"], member["left"], member["municipality"]["geonames_id"]) == (
        {"date": "1980", "precision": "year"},
        {"date": "2001-06", "precision": "month"},
        2743477,
    )


@pytest.mark.parametrize(
    "url", ["/municipalities/koln/?format={}", "/networks/die-hanse/?format={}"]
)
@pytest.mark.parametrize("value", ["csv", "xlsx", "xml"])
def test_a_town_or_network_page_offers_json_only(client, url, value):
    koeln = municipality("Köln", slug="koln")
    network("Die Hanse", koeln, slug="die-hanse")
    response = client.get(url.format(value))
    assert (response.status_code, errors(response)) == (
        400,
        [f"“{value}” is not a download format; choose json."],
    )
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = client.get(url.format("html"))
    assert page.status_code == 200
    assert '<a href="?format=json" download>' in page.content.decode()


@pytest.mark.parametrize("count", [1, 3])
def test_a_town_and_a_network_as_json_read_what_their_pages_read(
    client, django_assert_num_queries, count
):
    """The same queries as the pages (tests/test_views.py pins those): 8 and 4, whatever
    the number of partners, names, networks, members and events."""
    home = municipality("Köln", latitude="50.9", longitude="6.9", parent=municipality("Parent"))
    municipality("Part", parent=home)
    home.sources.add(Source.objects.create(key="source", citation="A source"))
    for number in range(count):
        other = municipality(f"Partner {number}", "FR", latitude="50.6", longitude="3.0")
        link = partnership(home, other, start=str(1960 + number))
        KindChange.objects.create(partnership=link, kind=Kind.FRIENDSHIP, date=str(1960 + number))
        KindChange.objects.create(partnership=link, kind=Kind.OFFICIAL, date=str(1970 + number))
        Membership.objects.create(
            partnership=link, municipality=municipality(f"Joint {number}", "FR"), side="second"
        )
        network(f"Network {number}", home, municipality(f"Member {number}", "NL"))
        AlternativeName.objects.create(municipality=home, name=f"Name {number}")
        Event.objects.create(kind=Event.Kind.VISIT, title="Visit", date="1970", partnership=link)
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=Event.Award.FLAG_OF_HONOUR,
            title="Flag",
            date=str(1970 + number),
            municipality=home,
        )
    for fmt in ("html", "json"):
        with django_assert_num_queries(8):
            response = client.get(f"{home.get_absolute_url()}?format={fmt}")
        assert response.status_code == 200
    document = json_document(response)
    assert [p["official_since"]["date"] for p in document["partnerships"]] == [
        str(1970 + number) for number in range(count)
    ]
    assert len(document["events"]) == 2 * count
    hanse = Partnership.objects.get(name="Network 0")
    for fmt in ("html", "json"):
        with django_assert_num_queries(4):
            response = client.get(f"{hanse.get_absolute_url()}?format={fmt}")
        assert response.status_code == 200
    assert len(json_document(response)["members"]) == 2


# The country pairs, all of them


def _pairs(counts):
    """Partnerships in force between Germany and another country, ``counts[i]`` of them with
    the i-th other country (by code); returns those countries."""
    others = list(Country.objects.filter(ended=None).exclude(code="DE").order_by("code"))
    home = municipality("Köln")
    for other, count in zip(others, counts, strict=False):
        for number in range(count):
            partnership(home, municipality(f"{other.code} {number}", other.code))
    return others[: len(counts)]


def test_every_country_pair_is_on_the_page_and_in_its_downloads(client, today):
    counts = [1] * 20 + [3, 2, 2, 1, 1]  # 25 pairs: none cut at 20
    others = _pairs(counts)
    response = client.get("/rankings/countries/")
    assert response.status_code == 200
    assert text(response, "pair-count") == "25 pairs of countries have a partnership in force."
    expected = sorted(zip(others, counts, strict=True), key=lambda pair: (-pair[1], pair[0].code))
    names = [f"Germany – {o.name}" if "DE" < o.code else f"{o.name} – Germany" for o, _ in expected]
    assert rows(response, "pairs") == [
        [name, str(count)] for name, (_o, count) in zip(names, expected, strict=True)
    ]
    header, *pairs = csv_rows(client.get("/rankings/countries/?table=pairs&format=csv"))
    assert len(pairs) == 25
    assert pairs == [
        sorted([["DE", "Germany"], [o.code, o.name]])[0]
        + sorted([["DE", "Germany"], [o.code, o.name]])[1]
        + [str(count), today]
        for o, count in expected
    ]
    document = json_document(client.get("/rankings/countries/?table=pairs&format=json"))
    assert [pair["partnerships"] for pair in document["pairs"]] == [c for _o, c in expected]


def test_the_country_pairs_come_a_page_at_a_time(client, django_assert_num_queries):
    _pairs([2] + [1] * 54)  # 55 pairs: 50 on page 1, 5 on page 2
    with django_assert_num_queries(2):  # the pairs and the countries' names
        first = client.get("/rankings/countries/")
    assert len(rows(first, "pairs")) == 50
    assert text(first, "pair-count") == "55 pairs of countries have a partnership in force."
    assert '<a href="?page=2" rel="next">Next page</a>' in first.content.decode()
    with django_assert_num_queries(0):  # the tables come from the cache
        second = client.get("/rankings/countries/?page=2")
    assert len(rows(second, "pairs")) == 5
    assert rows(second, "countries") == rows(first, "countries")
    beyond = client.get("/rankings/countries/?page=3")
    assert (beyond.status_code, errors(beyond)) == (
        400,
        ["Page: There is no page 3: the list has 2 pages."],
    )
    _header, *pairs = csv_rows(client.get("/rankings/countries/?table=pairs&format=csv&page=2"))
    assert len(pairs) == 55
