"""The importer's fast paths give what the full check gives, for every row they take."""

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.countries import CountryResolver
from registry.importing import (
    COLUMNS,
    TOWN_COLUMNS,
    RowParser,
    Side,
    TownParser,
    fast_coordinate,
)

pytestmark = pytest.mark.django_db

NAMES = st.one_of(
    st.sampled_from(["Paris", " Bad  Homburg ", "Saint-Étienne", "Köln", "ŁÓDŹ", "", "   "]),
    st.text(alphabet="abcXYZ éß-'_. \t", max_size=12),
    st.just("x" * 201),
    st.just("y" * 200),
)
COUNTRIES = st.sampled_from(
    ["FR", "de", " Germany ", "GDR", "Czechoslovakia", "England", "Atlantis", "", "Türkei"]
)
REGIONS = st.sampled_from(["", "Hessen", "  Île  de France ", "r" * 201])
COORDINATES = st.one_of(
    st.sampled_from(["", "0", "-0", "90", "-90", "90.00001", "180", "180.5", "+1", "1e1"]),
    st.sampled_from(["048.5", "12.345678", "12.34565", "NaN", "inf", " 7.5 ", "-0.00000", "1."]),
    st.decimals(min_value=-200, max_value=200, places=5, allow_nan=False).map(str),
    st.floats(min_value=-200, max_value=200).map(str),
)
KINDS = st.sampled_from(["", "official", "Sister city", "friendship", "nonsense", "network"])
STATUSES = st.sampled_from(["", "active", "ruht", "ended", "lost"])
DATES = st.sampled_from(["", "1988", "1988-11", "Nov 1988", "22.5.1980", "1987", "3000", "1988-13"])
SOURCES = st.sampled_from(["", "https://example.org", "s" * 501, " cited "])


PARSERS = {}


def parser_of(kind):
    """One parser of each kind for all examples: what it remembers is tested too."""
    if kind not in PARSERS:
        PARSERS[kind] = kind(CountryResolver())
    return PARSERS[kind]


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


@settings(max_examples=400, deadline=None)
@given(
    st.tuples(NAMES, COUNTRIES, NAMES, COUNTRIES, KINDS, DATES, DATES, STATUSES),
    st.tuples(REGIONS, REGIONS, COORDINATES, COORDINATES, COORDINATES, COORDINATES, SOURCES),
)
def test_partnership_fast_path_agrees_with_the_full_check(first, second):
    values = list(first + second)
    parser = parser_of(RowParser)
    fast = parser.fast_parser({name: at for at, name in enumerate(COLUMNS)})
    quick = fast(7, values)
    full = parser.parse(7, dict(zip(COLUMNS, values, strict=True)))
    if quick is not None:
        assert not isinstance(full, list), full
        assert plain(quick) == plain(full)


@settings(max_examples=400, deadline=None)
@given(
    st.tuples(NAMES, COUNTRIES, KINDS, REGIONS, COORDINATES, COORDINATES),
    st.tuples(
        st.sampled_from(["", "0", "12", "007", "-3", "1.5", "2147483647", "2147483648"]),
        st.sampled_from(["", "Q365", "q42", "Q", "X1", " Q7 "]),
        st.sampled_from(["", "123", "4294967296", "abc"]),
        SOURCES,
    ),
)
def test_town_fast_path_agrees_with_the_full_check(first, second):
    values = list(first + second)
    values[2] = values[2].replace("official", "municipality")
    parser = parser_of(TownParser)
    fast = parser.fast_parser({name: at for at, name in enumerate(TOWN_COLUMNS)})
    quick = fast(7, values)
    full = parser.parse(7, dict(zip(TOWN_COLUMNS, values, strict=True)))
    if quick is not None:
        assert not isinstance(full, list), full
        assert plain(quick) == plain(full)


def test_the_fast_path_takes_ordinary_rows():
    parser = RowParser(CountryResolver())
    fast = parser.fast_parser({name: at for at, name in enumerate(COLUMNS)})
    values = ["Bad  Homburg", "DE", "Köln", "Germany", "", "1988", "", "", "Hessen", ""]
    values += ["50.22683", "8.61816", "-0.5", "7", "https://example.org"]
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
