"""The importer's fast paths give what the full check gives.

For every record: a row the fast path takes is the row the full check makes of it, and the
import (which reads a record through the fast path first) ends with the full check's row or
errors either way. The records are mostly right as they are, so the fast path takes most of
them; now and then one or two values are doubtful, and the fast path must hand the record on
or read them as the full check does.
"""

import csv
import dataclasses
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.countries import CountryResolver
from registry.importing import (
    COLUMNS,
    REQUIRED,
    TOWN_COLUMNS,
    TOWN_REQUIRED,
    Report,
    RowParser,
    Side,
    TownParser,
    fast_coordinate,
    parse_rows,
    quick_fold,
)

pytestmark = pytest.mark.django_db

NAMES = st.one_of(
    st.sampled_from(["Paris", " Bad  Homburg ", "Saint-Étienne", "Köln", "ŁÓDŹ", "y" * 200]),
    st.text(alphabet="abcXYZ éß-'_. \t", min_size=1, max_size=12).filter(str.strip),
)
COUNTRIES = st.sampled_from(["FR", "de", " Germany ", "GDR", "Czechoslovakia", "England", "Türkei"])
REGIONS = st.sampled_from(["", "Hessen", "  Île  de France "])
LATITUDES = st.decimals(min_value=-90, max_value=90, places=5).filter(bool).map(str)
LONGITUDES = st.decimals(min_value=-180, max_value=180, places=5).filter(bool).map(str)
# Latitude and longitude: both, or neither.
COORDINATES = st.one_of(
    st.just(("", "")),
    st.tuples(LATITUDES, LONGITUDES),
    st.sampled_from([("50.22683", "8.61816"), ("-0.5", "7"), ("90", "-180")]),
)
KINDS = st.sampled_from(["", "official", "Sister city", "friendship", "Patenschaft"])
STATUSES = st.sampled_from(["", "active", "ruht", "ended"])
# Independent of each other: an end before the start is common.
DATES = st.sampled_from(["", "1988", "1988-11", "Nov 1988", "22.5.1980", "1987", "1990-02-03"])
SOURCES = st.sampled_from(["", "https://example.org", " cited "])
# The country today of a town in a former state (mostly none; right or wrong for the row).
TODAY = st.sampled_from(["", "", "", "CZ", " Slovakia ", "DE", "FR"])

# Doubtful values, one column's at a time: mistakes, and right values the fast path may leave
# to the full check.
ODD_NAMES = st.sampled_from(["", "   ", "x" * 201])
SAME = object()  # side b: the town of side a
ODD_COORDINATES = st.one_of(
    st.sampled_from(["", "0", "-0", "90.00001", "180.5", "+1", "1e1", "048.5", "12.345678"]),
    st.sampled_from(["12.34565", "NaN", "inf", " 7.5 ", "-0.00000", "1.", "x"]),
    st.decimals(min_value=-200, max_value=200, places=5, allow_nan=False).map(str),
    st.floats(min_value=-200, max_value=200).map(str),
)
DOUBTFUL = {
    "municipality_a": ODD_NAMES,
    "municipality_b": st.one_of(ODD_NAMES, st.just(SAME)),
    "country_a": st.sampled_from(["Atlantis", ""]),
    "country_b": st.sampled_from(["Atlantis", ""]),
    "kind": st.sampled_from(["nonsense", "network"]),
    "start": st.sampled_from(["3000", "1988-13", "soon"]),
    "end": st.sampled_from(["3000", "1988-13"]),
    "status": st.sampled_from(["lost"]),
    "region_a": st.just("r" * 201),
    "region_b": st.just("r" * 201),
    "lat_a": ODD_COORDINATES,
    "lon_a": ODD_COORDINATES,
    "lat_b": ODD_COORDINATES,
    "lon_b": ODD_COORDINATES,
    "source": st.just("s" * 501),
    "country_today_a": st.sampled_from(["Atlantis", "CSHH"]),
    "country_today_b": st.sampled_from(["Atlantis", "CSHH"]),
}


@st.composite
def doubtful(draw, record, odd):
    """``record`` with, in about one example out of three, one or two of its values replaced
    by doubtful ones (``odd``: column -> strategy)."""
    spoiled = draw(st.sampled_from([0, 0, 0, 0, 1, 2]))
    for name in draw(st.lists(st.sampled_from(sorted(odd)), min_size=spoiled, max_size=spoiled)):
        record[name] = draw(odd[name])
    return record


@st.composite
def partnership_records(draw):
    """A partnership list's record: {column: value}."""
    (lat_a, lon_a), (lat_b, lon_b) = draw(COORDINATES), draw(COORDINATES)
    name_a = draw(NAMES)
    record = {
        "municipality_a": name_a,
        "country_a": draw(COUNTRIES),
        "municipality_b": draw(NAMES.filter(lambda name: quick_fold(name) != quick_fold(name_a))),
        "country_b": draw(COUNTRIES),
        "kind": draw(KINDS),
        "start": draw(DATES),
        "end": draw(DATES),
        "status": draw(STATUSES),
        "region_a": draw(REGIONS),
        "region_b": draw(REGIONS),
        "lat_a": lat_a,
        "lon_a": lon_a,
        "lat_b": lat_b,
        "lon_b": lon_b,
        "source": draw(SOURCES),
        "country_today_a": draw(TODAY),
        "country_today_b": draw(TODAY),
    }
    record = draw(doubtful(record, DOUBTFUL))
    if record["municipality_b"] is SAME:  # the town of side a again, spelled otherwise
        record["municipality_b"] = f" {name_a.upper()} "
        record["country_b"] = record["country_a"]
    return record


TOWN_DOUBTFUL = {
    "name": ODD_NAMES,
    "country": st.sampled_from(["Atlantis", ""]),
    "kind": st.sampled_from(["nonsense", "official"]),
    "region": st.just("r" * 201),
    "lat": ODD_COORDINATES,
    "lon": ODD_COORDINATES,
    "population": st.sampled_from(["-3", "1.5", "2147483648", "²"]),
    "wikidata_id": st.sampled_from(["Q", "X1", "Q1x"]),
    "geonames_id": st.sampled_from(["4294967296", "abc"]),
    "source": st.just("s" * 501),
}


@st.composite
def town_records(draw):
    """A record of a list of municipalities: {column: value}."""
    lat, lon = draw(COORDINATES)
    record = {
        "name": draw(NAMES),
        "country": draw(COUNTRIES),
        "kind": draw(st.sampled_from(["", "city", "Gemeinde", "county", "Stadt"])),
        "region": draw(REGIONS),
        "lat": lat,
        "lon": lon,
        "population": draw(st.sampled_from(["", "0", "12", "007", "2147483647"])),
        "wikidata_id": draw(st.sampled_from(["", "Q365", "q42", " Q7 "])),
        "geonames_id": draw(st.sampled_from(["", "123", "2147483647"])),
        "source": draw(SOURCES),
    }
    return draw(doubtful(record, TOWN_DOUBTFUL))


PARSERS = {}


def parser_of(kind, *, check_controls=True):
    """One parser of each kind for all examples: what it remembers is tested too. The
    import takes the fast path only for a file without control characters, to which its
    parser is told not to check for them."""
    if (kind, check_controls) not in PARSERS:
        PARSERS[kind, check_controls] = kind(CountryResolver(), check_controls=check_controls)
    return PARSERS[kind, check_controls]


def plain(row):
    """A row or town with its coordinates as the database gets them."""

    def value(coordinate):
        if coordinate is None:
            return None
        return str(Decimal(coordinate).quantize(Decimal("0.00001")))

    def side(one):
        return dataclasses.replace(
            one, latitude=value(one.latitude), longitude=value(one.longitude)
        )

    if isinstance(row, Side):
        return side(row)
    return dataclasses.replace(row, a=side(row.a), b=side(row.b))


def agree(kind, required, columns, record):
    """Assert what the fast path and the import make of ``record`` against the full check."""
    values = [record[name] for name in columns]
    full = parser_of(kind).parse(2, dict(record))
    fast = parser_of(kind, check_controls=False).fast_parser(
        {name: at for at, name in enumerate(columns)}
    )
    quick = fast(2, list(values))
    if quick is not None:
        assert not isinstance(full, list), full
        assert plain(quick) == plain(full)
    # The import of the record, as the file's line 2: the full check's row, or its errors.
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([columns, values])
    report = Report()
    rows = parse_rows(
        text.getvalue().encode(),
        parser_of(kind, check_controls=False),
        report,
        required,
        columns,
        None,
    )
    if not "".join(values).strip():
        assert (rows, report.errors) == ([], [])  # a blank line: no record
    elif isinstance(full, list):
        assert (rows, report.errors) == ([], full)
    else:
        assert ([plain(row) for row in rows], report.errors) == ([plain(full)], [])


@settings(max_examples=400, deadline=None)
@given(partnership_records())
def test_partnership_fast_path_agrees_with_the_full_check(record):
    agree(RowParser, REQUIRED, COLUMNS, record)


@settings(max_examples=400, deadline=None)
@given(town_records())
def test_town_fast_path_agrees_with_the_full_check(record):
    agree(TownParser, TOWN_REQUIRED, TOWN_COLUMNS, record)


def test_the_fast_path_takes_ordinary_rows():
    parser = RowParser(CountryResolver())
    fast = parser.fast_parser({name: at for at, name in enumerate(COLUMNS)})
    values = ["Bad  Homburg", "DE", "Köln", "Germany", "", "1988", "", "", "Hessen", ""]
    values += ["50.22683", "8.61816", "-0.5", "7", "https://example.org", "", ""]
    row = fast(2, values)
    assert row is not None
    assert (row.a.name, row.a.folded, row.b.folded) == ("Bad Homburg", "bad homburg", "koln")
    assert (row.a.latitude, row.b.latitude, row.b.longitude) == ("50.22683", "-0.50000", "7.00000")


@given(st.decimals(min_value=-181, max_value=181, places=5, allow_nan=False))
def test_fast_coordinates_are_the_stored_values(value):
    text = str(value)
    fast = fast_coordinate(text, 180)
    if fast is not None:
        assert fast == str(Decimal(text).quantize(Decimal("0.00001")))
        assert -180 <= Decimal(fast) <= 180


@pytest.mark.parametrize(("one", "other"), [("DE", "Germany"), ("GDR", "DE"), ("de", " DE ")])
def test_a_town_partnered_with_itself_goes_to_the_full_check(one, other):
    parser = RowParser(CountryResolver())
    fast = parser.fast_parser({name: at for at, name in enumerate(COLUMNS)})
    values = ["Berlin", one, " berlin", other] + [""] * (len(COLUMNS) - 4)
    assert fast(2, values) is None
    assert parser.parse(2, dict(zip(COLUMNS, values, strict=True)))[0].field == "municipality_b"
