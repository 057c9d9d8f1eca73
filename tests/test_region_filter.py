"""The region filter of /partnerships/, /rankings/ and /municipalities/: a drop-down of
first-level regions, combinable with the partner's country (Bavaria × Italy)."""

import re

import pytest
from conftest import country, municipality, partnership
from django.test import Client
from pages import column, errors, page, rows

from registry.importing import import_partnerships
from registry.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def regions():
    """Bavaria and NRW with codes, two Italian regions without (as the record has them)."""
    bayern = Region.objects.create(country=country("DE"), name="Bayern", code="DE-BY")
    nrw = Region.objects.create(country=country("DE"), name="Nordrhein-Westfalen", code="DE-NW")
    lazio = Region.objects.create(country=country("IT"), name="Lazio")
    toscana = Region.objects.create(country=country("IT"), name="Toscana")
    muenchen = municipality("München", region=bayern, slug="munchen")
    koeln = municipality("Köln", region=nrw, slug="koln")
    roma = municipality("Roma", "IT", region=lazio)
    firenze = municipality("Firenze", "IT", region=toscana)
    lille = municipality("Lille", "FR")
    partnership(roma, muenchen, start="1960")  # Bavaria × Italy, the Italian side first
    partnership(muenchen, lille, start="1961")  # Bavaria × France
    partnership(muenchen, koeln, start="1962")  # Bavaria × Germany
    partnership(koeln, firenze, start="1963")  # NRW × Italy
    partnership(koeln, roma, start="1964")  # NRW × Italy
    return bayern, nrw, lazio, toscana


def listed(client, url, table_id="results"):
    response = client.get(url)
    assert response.status_code == 200, errors(response)
    if table_id not in page(response).tables:
        return []
    return column(response, table_id, 1 if table_id == "ranking" else 0)


def refused(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "results" not in page(response).tables
    assert "ranking" not in page(response).tables
    return errors(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("region=DE-BY&partner_country=IT", ["Roma – München"]),
        ("region=de-by&partner_country=it", ["Roma – München"]),
        ("region=DE-BY&country=DE&partner_country=IT", ["Roma – München"]),
        ("region=DE-BY&partner_country=FR", ["München – Lille"]),
        ("region=DE-BY&partner_country=DE", ["München – Köln"]),
        ("region=DE-BY&partner_country=GB", []),
        ("region=DE-BY", ["Roma – München", "München – Lille", "München – Köln"]),
        ("region=DE-BY&country=DE", ["Roma – München", "München – Lille", "München – Köln"]),
        ("region=DE-NW&partner_country=IT", ["Köln – Firenze", "Köln – Roma"]),
        ("region=IT:Lazio", ["Roma – München", "Köln – Roma"]),
        ("region=it%3Alazio", ["Roma – München", "Köln – Roma"]),
        ("region=IT:Lazio&partner_country=DE", ["Roma – München", "Köln – Roma"]),
        ("country=DE&partner_country=IT", ["Roma – München", "Köln – Firenze", "Köln – Roma"]),
        ("country=IT&partner_country=FR", []),
        ("region=DE-BY&partner_country=IT&sort=-start", ["Roma – München"]),
    ],
)
def test_partnerships_by_region_and_partner_country(client, regions, query, expected):
    assert listed(client, f"/partnerships/?{query}") == expected


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("region=DE-ZZ", ["Region of a side: There is no region “DE-ZZ”."]),
        ("region=IT:Nowhere", ["Region of a side: There is no region “IT:Nowhere”."]),
        (
            "region=DE-BY&country=IT",
            ["Region of a side: Bayern is a region of Germany, not of Italy."],
        ),
        (
            "partner_country=IT",
            ["Partner's country: Choose a region or a country for the other side as well."],
        ),
        ("partner_country=QQ", ["Partner's country: There is no country with the code “QQ”."]),
    ],
)
def test_partnerships_refuse_a_region_they_cannot_use(client, regions, query, messages):
    assert refused(client, f"/partnerships/?{query}") == messages


def test_municipalities_by_region_keep_the_iso_codes(client, regions):
    assert listed(client, "/municipalities/?region=DE-BY") == ["München"]
    assert listed(client, "/municipalities/?region=de-nw") == ["Köln"]
    assert listed(client, "/municipalities/?region=IT:Toscana") == ["Firenze"]
    assert listed(client, "/municipalities/?region=DE-BY&country=DE") == ["München"]
    assert refused(client, "/municipalities/?region=DE-BY&country=FR") == [
        "Region: Bayern is a region of Germany, not of France."
    ]


def test_the_ranking_of_a_region_counts_every_partner(client, regions):
    response = client.get("/rankings/?region=DE-NW")
    assert rows(response, "ranking") == [["1", "Köln", "Germany", "3"]]
    response = client.get("/rankings/?region=IT:Lazio")
    assert rows(response, "ranking") == [["1", "Roma", "Italy", "2"]]
    response = client.get("/rankings/?region=DE-BY&on=1961")
    assert rows(response, "ranking") == [["1", "München", "Germany", "2"]]
    assert refused(client, "/rankings/?region=IT:Lazio&country=DE") == [
        "Region: Lazio is a region of Italy, not of Germany."
    ]


def region_options(response):
    """The region drop-down as a person reads it: (group, [option texts]) in order."""
    html = response.content.decode()
    select = re.search(r'<select name="region"[^>]*>(.*?)</select>', html, re.S).group(1)
    groups = [("", re.findall(r"<option[^>]*>([^<]*)</option>", select.split("<optgroup")[0]))]
    for label, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S):
        groups.append((label, re.findall(r"<option[^>]*>([^<]*)</option>", body)))
    return groups


def test_the_region_is_a_drop_down_grouped_by_country(client, regions):
    response = client.get("/partnerships/")
    assert region_options(response) == [
        ("", ["any"]),
        ("Germany", ["Bayern", "Nordrhein-Westfalen"]),
        ("Italy", ["Lazio", "Toscana"]),
    ]
    html = response.content.decode()
    assert '<option value="DE-BY">Bayern</option>' in html
    assert '<option value="IT:Lazio">Lazio</option>' in html
    chosen = client.get("/partnerships/?region=DE-BY&partner_country=IT")
    assert '<option value="DE-BY" selected>Bayern</option>' in chosen.content.decode()
    german = client.get("/rankings/", headers={"accept-language": "de"})
    assert region_options(german)[0] == ("", ["alle"])
    assert [group for group, _options in region_options(german)] == ["", "Deutschland", "Italien"]


def test_a_chosen_country_narrows_the_drop_down_to_its_regions(client, regions):
    assert region_options(client.get("/municipalities/?country=IT")) == [
        ("", ["any"]),
        ("Italy", ["Lazio", "Toscana"]),
    ]
    # A country without regions in the registry leaves every region to choose.
    assert len(region_options(client.get("/municipalities/?country=FR"))) == 3


def test_a_new_region_shows_in_the_drop_down_also_after_an_import(client, regions):
    client.get("/municipalities/")
    Region.objects.create(country=country("FR"), name="Hauts-de-France", code="FR-HDF")
    assert ("France", ["Hauts-de-France"]) in region_options(Client().get("/municipalities/"))
    data = (
        "municipality_a,country_a,region_a,municipality_b,country_b\nGent,BE,Vlaanderen,Lille,FR\n"
    )
    assert import_partnerships(data.encode(), file_name="list.csv").written
    assert ("Belgium", ["Vlaanderen"]) in region_options(Client().get("/municipalities/"))
    assert listed(Client(), "/partnerships/?region=BE:Vlaanderen") == ["Gent – Lille"]


@pytest.mark.parametrize("extra", [0, 2])
def test_the_region_filter_reads_the_regions_once(
    client, regions, extra, django_assert_num_queries
):
    for number in range(extra):
        partnership(municipality(f"Dorf {number}", region=regions[0]), municipality("Pisa", "IT"))
    client.get("/partnerships/?region=DE-NW")  # the regions and countries read and cached
    with django_assert_num_queries(2):  # the partner's country checked, then the page
        response = client.get("/partnerships/?region=DE-BY&partner_country=IT")
    assert len(rows(response)) == 1 + extra
    with django_assert_num_queries(1):  # the page; the region is checked from the cache
        client.get("/municipalities/?region=DE-BY")
    with django_assert_num_queries(1):  # the rows with their count and their ranks
        client.get("/rankings/?region=DE-BY&sort=name")
