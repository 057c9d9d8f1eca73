"""Downloads: every list and ranking as CSV and JSON, the same rows as the page."""

import csv
import io
import json

import pytest
from conftest import country, municipality, network, partnership
from django.core.management import call_command
from django.utils import timezone
from pages import errors

from registry.downloads import neutralise
from registry.models import Event, KindChange, Membership, Partnership, Source, StatusChange

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
    """``official_since`` and its precision come at the end, before the final ``as_of``: the
    columns before them keep their places."""
    header, *rows = csv_rows(client.get("/partnerships/?q=Poix-du-Nord&format=csv"))
    assert header[-5:] == ["sources", "url", "official_since", "official_since_precision", "as_of"]
    assert header.index("official_since") == 22
    assert [row[header.index("start")] for row in rows] == ["1920"]
    assert [row[-3:] for row in rows] == [["1986", "year", today]]
    _header, adoption = csv_rows(client.get("/partnerships/?q=Goslar&format=csv"))
    assert adoption[-3:] == ["", "", today]
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
        ["rank", "slug", "name", "country_code", "country", "partners", "url", "as_of"],
        [
            "1",
            "koln",
            "Köln",
            "DE",
            "Germany",
            "10",
            "http://testserver/municipalities/koln/",
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
        [f"“{value}” is not a download format; choose csv, json."],
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
