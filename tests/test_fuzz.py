"""Bad input never breaks a page (Hypothesis).

Query strings: every public URL with any mix of its own parameters (filters, ``sort``,
``page``, ``format``, ``on``, ``q``, ``table``), valid-looking and hostile values (random text,
huge and negative numbers, impossible dates, NUL, right-to-left and zero-width characters,
markup, quotes, invalid UTF-8), repeated parameters and unknown ones. A page answers 200, or
400 with its message; never 500 (the test client raises the view's exception), and no value
comes back as markup.

Names: municipalities, alternative names, partnerships, networks, events and sources named
with markup, quotes, right-to-left and zero-width characters and spreadsheet formulas are
shown escaped on every page, round-trip exactly through JSON, and are neutralised in CSV.
NUL cannot be stored in PostgreSQL text: the admin's forms and the import refuse it with a
message.
"""

import csv
import io
import json
import re
from html import escape
from html.parser import HTMLParser
from urllib.parse import quote, quote_from_bytes

import openpyxl
import pytest
from admin_pages import form_data, form_errors
from conftest import country, municipality, network, partnership
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from registry.downloads import XLSX_CONTENT_TYPE, neutralise
from registry.models import (
    AlternativeName,
    Event,
    Municipality,
    Partnership,
    Source,
    Theme,
)

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Each example of the names test reads 23 pages and downloads.
FUZZ_SLOW = settings(FUZZ, max_examples=25)

# Markup that would run or show if a value came back unescaped: any of these tags, or any
# event-handler or style attribute, in a parsed page means something got through.
INJECTED_TAGS = {"script", "x-evil", "img", "iframe", "style", "svg-evil"}
MARKUP = [
    "<script>alert(1)</script>",
    '"><x-evil onmouseover="alert(1)">',
    "'><x-evil onfocus='alert(1)' autofocus>",
    "<img src=x onerror=alert(1)>",
    "</td></tr></table><iframe src=//evil.example>",
    "<svg-evil onload=alert(1)>",
    "<style>*{display:none}</style>",
    "javascript:alert(1)",
    "{{ request }}{% csrf_token %}",
    "&lt;script&gt;",
    "&amp;",
]
HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e",
    "Köln\u202eevil",
    "\u200b",
    "\u200bDE",
    "\ufeff",
    "'",
    '"',
    "%",
    "%%",
    "_",
    "\\",
    "\r\n",
    "0000-00-00",
    "0000",
    "9999-99-99",
    "1970-02-30",
    "1970-13",
    "1970\n",
    "١٩٧٠",
    "-1",
    "0",
    "-0",
    "1",
    "9999",
    "10000",
    "1.5",
    "1e400",
    "NaN",
    "inf",
    "-inf",
    "9" * 30,
    "-" + "9" * 30,
    "9" * 5000,
    "DE-",
    "-DE",
    "DE--FR",
    "DE-FR-IT",
    "ÄÖ-ÜÖ",
    "x" * 3000,
    *MARKUP,
]

SORTS = ["name", "-name", "country", "partners", "-partners", "start", "-start", "members"]
SORTS += ["-members", "date", "-date", "rank", "-rank", "pk", "?", "name,slug"]
VALID = {
    "q": ["Köln", "koln", "KOELN", "Cologne", "liv", "K", "de", "-"],
    "country": ["DE", "de", " gb ", "FR", "DDDE", "XX", "ZZZZ", "D"],
    "at_signing": ["DE", "CSHH", "XX"],
    "kind": [*Municipality.Kind.values, *Partnership.Kind.values, "any", "ANY"],
    "status": [*Partnership.Status.values, "any"],
    "region": ["DE-NW", "de-nw", "GB-ENG", "XX-YY", "IT:Lazio", "it:", ":", "DE:"],
    "partner_country": ["GB", "fr", "XX", ""],
    "seeking": ["yes", "no", "YES", "maybe"],
    "has_partners": ["yes", "no", "1", "true"],
    "country_pair": ["DE-GB", "gb-de", "DE-DE", "DE-XX", "DE-FR"],
    "founded_from": ["1950", "1952", "2100", "1", "9999", "10000"],
    "founded_to": ["1950", "1952", "2100", "1", "9999"],
    "municipality": ["koln", "liverpool", "nowhere", "KOLN"],
    "theme": ["culture", "youth", "nothing"],
    "domestic": ["include", "exclude", "only", "INCLUDE"],
    "on": ["1970", "1952-06", "1952-06-30", "2021-12-31", "2999", "1900", "0001"],
    "level": [*Event.Award.values, "prize"],
    "sort": SORTS,
    "page": ["1", "2", "-1", "0", "last", "1.0", "2.5", "99999999999999999999"],
    "format": ["csv", "json", "xlsx", "html", "", "CSV", "xml", "csv\x00"],
    "sep": [",", ";", "", "|", ";;"],
    "table": ["countries", "pairs", "both"],
}
LIST_PARAMS = ["sort", "page", "format", "sep"]
URLS = {
    "/": [],
    "/municipalities/": [
        "q",
        "country",
        "kind",
        "region",
        "seeking",
        "has_partners",
        *LIST_PARAMS,
    ],
    "/municipalities/koln/": ["format"],
    "/partnerships/": [
        "q",
        "kind",
        "status",
        "country",
        "country_pair",
        "founded_from",
        "founded_to",
        "municipality",
        "theme",
        "at_signing",
        "region",
        "partner_country",
        *LIST_PARAMS,
    ],
    "/partnerships/{twinning}/": ["format"],
    "/networks/": ["q", "country", *LIST_PARAMS],
    "/networks/die-hanse/": ["format"],
    "/rankings/": ["country", "region", "kind", "status", "domestic", "on", *LIST_PARAMS],
    "/rankings/countries/": ["format", "sep", "table", "page"],
    "/awards/": ["level", "country", *LIST_PARAMS],
    "/statistics/": [],
}


class _Parsed(HTMLParser):
    """The tags and attributes of a page, to find markup that came from a value."""

    def __init__(self):
        super().__init__()
        self.injected = []

    def handle_starttag(self, tag, attrs):
        if tag in INJECTED_TAGS:
            self.injected.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "autofocus"):
                self.injected.append(f"{tag} {name}")
            if name in ("href", "src", "action") and "javascript:" in (value or "").lower():
                self.injected.append(f"{tag} {name}={value}")


def injected(html):
    parsed = _Parsed()
    parsed.feed(html)
    parsed.close()
    return parsed.injected


def content(response):
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def body(response):
    return content(response).decode()


def check(response, url):
    """A page or download as bad input may leave it: the right status, nothing injected, a
    download that parses."""
    content_type = response["Content-Type"]
    if content_type == XLSX_CONTENT_TYPE:
        assert response.status_code == 200
        [sheet] = openpyxl.load_workbook(io.BytesIO(content(response))).worksheets
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert rows[0][-1] == "as_of"
        assert {len(row) for row in rows} == {len(rows[0])}
        return ""
    text = body(response)
    if content_type == "text/csv; charset=utf-8":
        assert response.status_code == 200
        # A CSV with semicolons (sep=;) begins with a byte order mark.
        delimiter = ";" if text.startswith("\ufeff") else ","
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))
        assert rows[0][-1] == "as_of"
        assert {len(row) for row in rows} == {len(rows[0])}
    elif content_type == "application/json; charset=utf-8":
        assert response.status_code == 200
        assert "as_of" in json.loads(text)
    else:
        assert content_type == "text/html; charset=utf-8"
        assert injected(text) == [], url
    return text


# The record every query runs against: a town with an alternative name, partners, a
# network, an award; enough rows that a second page and every filter have something.


@pytest.fixture
def record(db):
    koln = municipality("Köln", slug="koln", population=1_000_000)
    AlternativeName.objects.create(municipality=koln, name="Cologne")
    liverpool = municipality("Liverpool", "GB", slug="liverpool")
    lille = municipality("Lille", "FR", slug="lille")
    twinning = partnership(koln, liverpool, start="1952", first_country_at_signing=country("DE"))
    twinning.themes.set(Theme.objects.all()[:1])
    partnership(koln, lille, kind=Partnership.Kind.FRIENDSHIP, start="1958-06")
    network("Die Hanse", koln, lille, slug="die-hanse", start="1980")
    Event.objects.create(
        kind=Event.Kind.AWARD,
        award=Event.Award.values[0],
        title="Europe Prize",
        date="1966",
        partnership=twinning,
        country_at_time=country("DE"),
    )
    for number in range(55):
        municipality(f"Town {number}", "DE")
    return twinning


def _value(key):
    """A value for ``key``, percent-encoded: one of its own, a hostile one, random text or
    digits, or raw bytes that need not be UTF-8."""
    text = st.one_of(
        st.sampled_from(VALID.get(key, ["1"])),
        st.sampled_from(HOSTILE),
        st.text(max_size=20),
        st.integers().map(str),
    )
    return st.one_of(
        text.map(lambda value: quote(value, safe="")), st.binary(max_size=20).map(quote_from_bytes)
    )


def _query(keys):
    """A query string of up to six parameters from ``keys``, repeats and unknown ones too."""
    pair = st.sampled_from(keys).flatmap(
        lambda key: _value(key).map(lambda value: f"{quote(key)}={value}")
    )
    return st.lists(pair, max_size=6).map("&".join)


@pytest.mark.parametrize("url", [url for url, params in URLS.items() if params])
def test_no_query_string_breaks_a_list_or_ranking(client, record, url):
    path = url.format(twinning=record.pk)

    @FUZZ
    @given(_query([*URLS[url], "unknown"]))
    def run(query):
        response = client.get(f"{path}?{query}")
        assert response.status_code in {200, 400}, (query, response.status_code)
        check(response, path)

    run()


@FUZZ
@given(
    st.sampled_from([url for url, params in URLS.items() if not params]),
    _query(["q", "page", "format", "sort", "x"]),
)
def test_pages_without_parameters_refuse_any_query_string(client, record, url, query):
    response = client.get(f"{url}?{query}")
    assert response.status_code == (400 if query else 200), (query, response.status_code)
    check(response, url)


@pytest.mark.parametrize(
    "path",
    [
        "/partnerships/0/",
        "/partnerships/99999999999999999999999/",
        "/partnerships/9223372036854775808/",
        "/municipalities/no-such-town/",
        "/networks/no-such-network/",
        "/municipalities/%E2%80%AE/",
        "/municipalities/koln%00/",
        "/networks/%3Cscript%3E/",
    ],
)
def test_unknown_addresses_are_not_found(client, record, path):
    response = client.get(path)
    assert response.status_code == 404
    assert injected(response.content.decode()) == []


# Names


FORMULAS = ["=1+1", '=HYPERLINK("http://evil.example")', "+49 30", "-2", "@SUM(A1)", "\tx", "\rx"]
# Any character PostgreSQL can store (no NUL, no lone surrogate), often the awkward ones.
CHARACTERS = st.one_of(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    st.sampled_from("<>&\"'\u202e\u202d\u200f\u200b\ufeff=+-@\t\r\n;,"),
)
NAMES = st.tuples(
    st.sampled_from(["", "Köln", *FORMULAS]),
    st.text(CHARACTERS, max_size=8),
    st.sampled_from([*MARKUP, "\u202e", "\u200b", '"', "'"]),
    st.text(CHARACTERS, max_size=8),
).map("".join)


def document(client, url):
    response = client.get(url)
    assert response["Content-Type"] == "application/json; charset=utf-8", url
    return json.loads(check(response, url))


def cells(client, url):
    """The rows of a CSV download under their header, as dicts."""
    response = client.get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8", url
    header, *rows = csv.reader(io.StringIO(check(response, url)))
    for row in rows:
        # No cell a spreadsheet would run (there are no negative numbers in this record).
        assert [cell for cell in row if cell.startswith(FORMULA_STARTS)] == [], url
    return [dict(zip(header, row, strict=True)) for row in rows]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def sheet_rows(client, url):
    """The rows of an xlsx download under their header, as dicts."""
    response = client.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, XLSX_CONTENT_TYPE), url
    [sheet] = openpyxl.load_workbook(io.BytesIO(content(response))).worksheets
    header, *rows = ([cell.value for cell in row] for row in sheet.iter_rows())
    assert header[-1] == "as_of", url
    return [dict(zip(header, row, strict=True)) for row in rows]


def in_a_sheet(text):
    """``text`` as a sheet gives it back: what XML cannot hold replaced, its carriage returns
    read as line breaks (as XML reads them), no text as an empty cell."""
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "\ufffd", text)
    return text.replace("\r\n", "\n").replace("\r", "\n") or None


@FUZZ_SLOW
@given(name=NAMES, other=NAMES)
def test_names_are_escaped_on_every_page_and_exact_in_every_download(client, db, name, other):
    with transaction.atomic():
        town = municipality(name, slug="town")
        AlternativeName.objects.create(municipality=town, name=other)
        partner = municipality(other, "FR", slug="partner", seeking_description=name)
        twinning = partnership(town, partner, start="1952", first_name_at_signing=other)
        hanse = network(name, town, partner, slug="hanse", start="1980", description=other)
        source = Source.objects.create(key="source", citation=name, publisher=other)
        twinning.sources.add(source)
        Event.objects.create(
            kind=Event.Kind.AWARD,
            award=Event.Award.values[0],
            title=name,
            place=other,
            description=other,
            date="1966",
            partnership=twinning,
            country_at_time=country("DE"),
        )
        Event.objects.create(
            kind=Event.Kind.VISIT, title=other, place=name, date="1953", municipality=town
        )
        pair = f"{name} – {other}"
        shown = {
            "/": [name],
            "/municipalities/": [name, other],
            town.get_absolute_url(): [name, other],
            partner.get_absolute_url(): [other, name],
            "/partnerships/": [pair],
            twinning.get_absolute_url(): [pair, name, other],
            "/networks/": [name],
            hanse.get_absolute_url(): [name, other],
            "/rankings/": [name, other],
            "/awards/": [name, pair],
            f"/municipalities/?q={quote(name)}": [name],
        }
        for url, texts in shown.items():
            response = client.get(url)
            assert response.status_code == 200, url
            html = check(response, url)
            for text in texts:
                assert escape(text) in html, (url, text)

        assert sorted(
            m["name"] for m in document(client, "/municipalities/?format=json")["results"]
        ) == sorted([name, other])
        (listed,) = document(client, "/partnerships/?format=json")["results"]
        assert listed["name"] == pair
        assert [m["municipality"]["name"] for m in listed["members"]] == [name, other]
        assert listed["members"][0]["name_at_signing"] == other
        assert [s["citation"] for s in listed["sources"]] == [name]
        detail = document(client, f"{twinning.get_absolute_url()}?format=json")
        assert [e["title"] for e in detail["events"]] == [name]
        assert [e["place"] for e in detail["events"]] == [other]
        ranked = document(client, "/rankings/?format=json")["results"]
        assert sorted(m["name"] for m in ranked) == sorted([name, other])
        (listed,) = document(client, "/networks/?format=json")["results"]
        assert listed["name"] == name
        (award,) = document(client, "/awards/?format=json")["results"]
        assert (award["title"], award["laureate"]) == (name, pair)

        rows = cells(client, "/municipalities/?format=csv")
        assert sorted(row["name"] for row in rows) == sorted([neutralise(name), neutralise(other)])
        (row,) = cells(client, "/partnerships/?format=csv")
        assert [row[key] for key in ("name", "first", "second", "first_name_at_signing")] == [
            neutralise(pair),
            neutralise(name),
            neutralise(other),
            neutralise(other),
        ]
        rows = cells(client, "/rankings/?format=csv")
        assert sorted(row["name"] for row in rows) == sorted([neutralise(name), neutralise(other)])
        (row,) = cells(client, "/networks/?format=csv")
        assert row["name"] == neutralise(name)
        (row,) = cells(client, "/awards/?format=csv")
        assert (row["title"], row["laureate"]) == (neutralise(name), neutralise(pair))

        # In a sheet every text is a text cell: no quote before a formula.
        rows = sheet_rows(client, "/municipalities/?format=xlsx")
        assert sorted(row["name"] or "" for row in rows) == sorted(
            in_a_sheet(text) or "" for text in (name, other)
        )
        (row,) = sheet_rows(client, "/partnerships/?format=xlsx")
        assert [row[key] for key in ("name", "first", "second")] == [
            in_a_sheet(pair),
            in_a_sheet(name),
            in_a_sheet(other),
        ]
        (row,) = sheet_rows(client, "/awards/?format=xlsx")
        assert (row["title"], row["laureate"]) == (in_a_sheet(name), in_a_sheet(pair))

        page = document(client, f"{town.get_absolute_url()}?format=json")
        assert page["name"] == name
        assert [n["name"] for n in page["alternative_names"]] == [other]
        assert [p["partners"][0]["name"] for p in page["partnerships"]] == [other]
        assert [e["title"] for e in page["events"]] == [other, name]
        page = document(client, f"{hanse.get_absolute_url()}?format=json")
        assert (page["name"], page["description"]) == (name, other or None)
        transaction.set_rollback(True)


@pytest.mark.parametrize("url", [url for url, params in URLS.items() if params])
def test_nul_in_any_parameter_is_refused_and_invisible_characters_never_break(client, record, url):
    """NUL cannot even be looked up in PostgreSQL: every parameter refuses it with a message
    (400) before any query, on every database. Right-to-left and zero-width characters are
    searched for or refused."""
    path = url.format(twinning=record.pk)
    for key in URLS[url]:
        for value in ["a\x00b"]:
            response = client.get(path, {key: value})
            assert response.status_code == 400, (key, value)
            check(response, path)
        for value in ["\u202ekoln", "\u200bDE"]:
            response = client.get(path, {key: value})
            assert response.status_code in {200, 400}, (key, value)
            check(response, path)


# What staff type: NUL is refused with the form's message, anything else is kept exactly.

TYPED = st.one_of(
    NAMES,
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
    st.tuples(NAMES, st.sampled_from(["\x00", "a\x00", "\x00b"])).map("".join),
    # Characters that fold to many: ﷺ is 18 letters once folded for search.
    st.integers(1, 20).map(lambda count: "\ufdfa" * count),
)


@FUZZ
@given(name=TYPED)
@example(name="\ufdfa" * 12)  # was a 500 on PostgreSQL: its search key was 216 long
def test_the_admin_keeps_any_name_exactly_or_says_why_not(editor_client, name):
    form = editor_client.get("/admin/registry/municipality/add/")
    data = form_data(form)
    data.update(name=name, slug="typed", country=str(country("DE").pk))
    with transaction.atomic():
        response = editor_client.post("/admin/registry/municipality/add/", data)
        stored = list(Municipality.objects.filter(slug="typed").values_list("name", flat=True))
        transaction.set_rollback(True)
    kept = name.strip()
    if "\x00" in name:
        expected = {"name": ["Null characters are not allowed."]}
    elif not kept:
        expected = {"name": ["This field is required."]}
    elif len(kept) > 200:
        expected = {"name": [f"Ensure this value has at most 200 characters (it has {len(kept)})."]}
    else:
        assert (response.status_code, stored) == (302, [kept])
        return
    assert (form_errors(response), stored) == (expected, [])
