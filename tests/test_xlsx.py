"""Downloads for spreadsheets: Excel (xlsx) with the CSV's rows and columns, and CSV with
semicolons for a spreadsheet in German."""

import csv
import io
import zipfile

import openpyxl
import pytest
from conftest import municipality, network, partnership
from django.core.management import call_command
from django.utils import timezone
from pages import errors

from registry.downloads import XLSX_CONTENT_TYPE, neutralise
from registry.models import Event, Membership, Partnership, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate().isoformat()


@pytest.fixture
def record():
    call_command("load_record", verbosity=0)


def content(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response, delimiter=","):
    assert response.status_code == 200, content(response)[:2000]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = content(response).decode()
    if delimiter == ";":
        assert text.startswith("\ufeff")
        text = text[1:]
    else:
        assert not text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def sheet(response):
    """The one sheet of an xlsx download, as openpyxl reads it back."""
    return read_sheet(xlsx_file(response))


def xlsx_file(response):
    assert response.status_code == 200, content(response)[:2000]
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    return content(response)


def read_sheet(body):
    [only] = openpyxl.load_workbook(io.BytesIO(body)).worksheets
    return only


def xlsx_rows(response):
    return [[cell.value for cell in row] for row in sheet(response).iter_rows()]


def as_in_csv(value):
    """A cell's value as the CSV writes it."""
    return "" if value is None else str(neutralise(value))


DOWNLOADS = [
    ("/municipalities/?format={}", "municipalities"),
    ("/partnerships/?format={}", "partnerships"),
    ("/partnerships/?country_pair=DE-FR&format={}", "partnerships"),
    ("/networks/?format={}", "networks"),
    ("/rankings/?format={}", "ranking"),
    ("/rankings/?on=1970&format={}", "ranking"),
    ("/rankings/?on=1970&status=any&kind=any&format={}", "ranking"),
    ("/rankings/countries/?format={}", "countries"),
    ("/rankings/countries/?table=pairs&format={}", "country-pairs"),
    ("/awards/?format={}", "awards"),
]


@pytest.mark.parametrize("url, name", DOWNLOADS)
def test_an_xlsx_download_has_the_rows_and_columns_of_the_csv(client, record, url, name):
    """Every list and ranking: the same header, rows and ``as_of`` column, cell for cell."""
    expected = csv_rows(client.get(url.format("csv")))
    response = client.get(url.format("xlsx"))
    day = expected[1][-1]
    assert response["Content-Disposition"] == f'attachment; filename="{name}-{day}.xlsx"'
    got = xlsx_rows(response)
    assert len(got) == len(expected) > 1
    assert [[as_in_csv(value) for value in row] for row in got] == expected
    assert sheet(client.get(url.format("xlsx"))).freeze_panes == "A2"


def test_an_xlsx_sheet_has_numbers_as_numbers_and_dates_as_iso_text(client, record, today):
    [header, *rows] = xlsx_rows(client.get("/municipalities/?q=Köln&format=xlsx"))
    koeln = dict(zip(header, rows[0], strict=True))
    assert koeln == {
        "slug": "koln",
        "name": "Köln",
        "kind": "city",
        "country_code": "DE",
        "country": "Germany",
        "region_code": "DE-NW",
        "region": "Nordrhein-Westfalen",
        "latitude": 50.93333,
        "longitude": 6.95,
        "population": None,
        "partners": 24,
        "seeking_partner": False,
        "url": "http://testserver/municipalities/koln/",
        "wikidata_id": "Q365",
        "geonames_id": 2886242,
        "as_of": today,
    }
    [header, *rows] = xlsx_rows(client.get("/partnerships/?q=Poix-du-Nord&format=xlsx"))
    keighley = dict(zip(header, rows[0], strict=True))
    # Partial dates are text at their precision, as in the CSV: 1920, not 1 January 1920.
    assert (keighley["start"], keighley["official_since"], keighley["id"]) == (
        "1920",
        "1986",
        Partnership.objects.get(slug="keighley--poix-du-nord").pk,
    )
    ranking = xlsx_rows(client.get("/rankings/?on=1970&format=xlsx"))
    assert ranking[1][:6] + ranking[1][-1:] == [
        1,
        "koln",
        "Köln",
        "DE",
        "Germany",
        10,
        "1970-12-31",
    ]


def test_text_that_looks_like_a_formula_arrives_as_text(client, today):
    for name in ("=1+1", '=HYPERLINK("http://evil")', "+49", "-2", "@SUM(A1)", "#N/A"):
        municipality(name, "FR")
    municipality("Nul\x01l \x1f and \ufffe", "FR", slug="control")
    body = xlsx_file(client.get("/municipalities/?format=xlsx"))
    cells = read_sheet(body)
    names = {row[1].value: row[1].data_type for row in cells.iter_rows(min_row=2)}
    # Each as the very text, in a text cell (type "s"), no formula and no error value.
    assert names == {
        "#N/A": "s",
        "+49": "s",
        "-2": "s",
        "=1+1": "s",
        '=HYPERLINK("http://evil")': "s",
        "@SUM(A1)": "s",
        # What XML cannot hold is replaced, not the download refused.
        "Nul\ufffdl \ufffd and \ufffd": "s",
    }
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    assert xml.count('t="inlineStr"') > 7


def test_an_empty_list_gives_the_header_alone(client, today):
    response = client.get("/partnerships/?q=nothing&format=xlsx")
    [header] = xlsx_rows(response)
    assert header[:3] == ["id", "slug", "name"]
    assert header[-1] == "as_of"


@pytest.mark.parametrize("count", [3, 30])
def test_xlsx_downloads_run_the_queries_of_the_csv(client, django_assert_num_queries, count):
    source = Source.objects.create(key="s", citation="A source")
    for number in range(count):
        first, second = municipality(f"A{number}"), municipality(f"B{number}", "FR")
        link = partnership(first, second, start=str(1950 + number))
        link.sources.add(source)
        Membership.objects.create(
            partnership=link, municipality=municipality(f"J{number}", "FR"), side="second"
        )
        network(f"Network {number}", first, second)
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=Event.Award.EUROPE_PRIZE,
            title="Europe Prize",
            date=str(1960 + number),
            municipality=first,
        )
    downloads = {
        "/municipalities/?format=xlsx": 1,
        "/partnerships/?format=xlsx": 3,
        "/networks/?format=xlsx": 1,
        "/rankings/?format=xlsx": 1,
        "/rankings/?on=2000&format=xlsx": 1,
        "/rankings/countries/?table=pairs&format=xlsx": 2,
        "/awards/?format=xlsx": 1,
    }
    for url, queries in downloads.items():
        with django_assert_num_queries(queries, info=url):
            response = client.get(url)
            rows = xlsx_rows(response)
        assert len(rows) > 1, url


# CSV with semicolons


@pytest.mark.parametrize("url, _name", DOWNLOADS)
def test_a_csv_with_semicolons_has_the_cells_of_the_csv_after_a_byte_order_mark(
    client, record, url, _name
):
    expected = csv_rows(client.get(url.format("csv")))
    assert csv_rows(client.get(url.format("csv") + "&sep=%3B"), delimiter=";") == expected
    assert csv_rows(client.get(url.format("csv") + "&sep=,")) == expected


def test_a_csv_with_semicolons_keeps_its_decimal_points(client, today):
    municipality("Köln", slug="koln", latitude="50.93333", longitude="6.95")
    response = client.get("/municipalities/?format=csv&sep=;")
    assert response["Content-Disposition"] == f'attachment; filename="municipalities-{today}.csv"'
    lines = content(response).decode().splitlines()
    assert lines[0].startswith("\ufeffslug;name;kind;country_code;")
    assert lines[1] == (
        f"koln;Köln;city;DE;Germany;;;50.93333;6.95;;0;False;"
        f"http://testserver/municipalities/koln/;;;{today}"
    )


@pytest.mark.parametrize(
    "query, message",
    [
        ("format=csv&sep=|", "“|” is not a separator of a CSV download; choose , or ;."),
        ("format=csv&sep=%3B%3B", "“;;” is not a separator of a CSV download; choose , or ;."),
        ("format=csv&sep=tab", "“tab” is not a separator of a CSV download; choose , or ;."),
        ("format=json&sep=%3B", "A separator (sep) is only for a CSV download (format=csv)."),
        ("format=xlsx&sep=%3B", "A separator (sep) is only for a CSV download (format=csv)."),
        ("sep=%3B", "A separator (sep) is only for a CSV download (format=csv)."),
    ],
)
@pytest.mark.parametrize(
    "path", ["/municipalities/", "/partnerships/", "/rankings/", "/rankings/countries/"]
)
def test_a_separator_that_cannot_be_used_is_refused_with_400(client, path, query, message):
    response = client.get(f"{path}?{query}")
    assert (response.status_code, response["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert errors(response) == [message]


def test_every_list_links_its_downloads(client):
    municipality("Köln")
    html = client.get("/municipalities/?country=DE&page=1").content.decode()
    assert (
        '<p class="downloads">Download this list:\n'
        '  <a href="?country=DE&amp;format=csv" download>CSV</a>\n'
        '  <a href="?country=DE&amp;format=xlsx" download>Excel (xlsx)</a>\n'
        '  <a href="?country=DE&amp;format=csv&amp;sep=%3B" download>'
        "CSV with semicolons (German spreadsheets)</a>\n"
        '  <a href="?country=DE&amp;format=json" download>JSON</a>\n'
        "</p>"
    ) in html
    german = client.get("/municipalities/", headers={"accept-language": "de"}).content.decode()
    assert "Excel (xlsx)</a>" in german
    assert "CSV mit Semikolons (deutsche Tabellenkalkulation)</a>" in german
