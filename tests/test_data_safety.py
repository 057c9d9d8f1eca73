"""No data is lost on a bad file: a refused import or fixture leaves every table as it was."""

import io
import json

import pytest
from conftest import database_state
from django.core.management import CommandError, call_command
from django.core.serializers.base import DeserializationError
from django.db import IntegrityError

from registry.models import Municipality, Partnership

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    """The historical record, so that there is something to lose."""
    call_command("load_record", verbosity=0)
    assert Partnership.objects.count() > 70


# Imports: one bad row among good ones, at the start, in the middle and at the end.

HEADER = "municipality_a,country_a,municipality_b,country_b,kind,start"
GOOD_ROWS = 40
# Good rows: some name towns of the record (Köln, Liverpool), most create new ones.
GOOD = [
    f"Köln,DE,Ville {n},FR,official,{1950 + n}"
    if n % 4 == 0
    else f"Town {n},Germany,Liverpool,England,friendship,{1950 + n}"
    if n % 4 == 1
    else f"Town {n},DE,Ville {n},FR,,"
    for n in range(GOOD_ROWS)
]
POSITIONS = {"start": 0, "middle": GOOD_ROWS // 2, "end": GOOD_ROWS}

# (bad row as bytes, what the command says about it: on stderr for a bad row, or in the
# error itself for a file it cannot read at all). {line} is the bad row's line.
BAD_ROWS = {
    "unknown country": (
        "Köln,DE,Narnia-upon-Thames,Narnia,official,1990".encode(),
        "stderr",
        "line {line}, country_b: 'Narnia' is not a country we know",
    ),
    "self pair": (
        "Köln,DE,koln,Germany,official,1990".encode(),
        "stderr",
        "line {line}, municipality_b: 'koln' would be partnered with itself",
    ),
    "year 3000": (
        "Köln,DE,Ville 3000,FR,official,3000".encode(),
        "stderr",
        "line {line}, start: 3000 lies too far in the future",
    ),
    "NUL byte": (
        "Kö\x00ln,DE,Ville 0,FR,official,1990".encode(),
        "stderr",
        "line {line}, municipality_a: contains a control character (such as NUL)",
    ),
    "quote never closed": (
        'Köln,DE,"Ville 99,FR,official,1990'.encode(),
        "error",
        "line {line}, municipality_b: the CSV is malformed (unexpected end of data); "
        "check its quotes.",
    ),
    "text after a closing quote": (
        '"Köln" am Rhein,DE,Ville 99,FR,official,1990'.encode(),
        "error",
        "line {line}, municipality_a: the CSV is malformed (',' expected after '\"'); "
        "check its quotes.",
    ),
    "Latin-1 bytes": (
        "Köln,DE,Ville 99,FR,official,1990".encode("latin-1"),
        "error",
        "line {line}, municipality_a: the file is not UTF-8 (byte 0xf6); "
        "save it as UTF-8 and try again.",
    ),
}


def csv_with(bad_row, position):
    rows = [row.encode() for row in GOOD]
    rows.insert(POSITIONS[position], bad_row)
    return b"\n".join([HEADER.encode(), *rows]) + b"\n"


@pytest.mark.parametrize("problem", BAD_ROWS)
def test_an_import_with_one_bad_row_fails_naming_it_and_changes_nothing(tmp_path, record, problem):
    bad_row, where, message = BAD_ROWS[problem]
    before = database_state()
    outcomes, expected = {}, {}
    for position, index in POSITIONS.items():
        path = tmp_path / f"{position}.csv"
        path.write_bytes(csv_with(bad_row, position))
        stderr = io.StringIO()
        with pytest.raises(CommandError) as refused:
            call_command("import_partnerships", str(path), stdout=io.StringIO(), stderr=stderr)
        outcomes[position] = (str(refused.value), stderr.getvalue(), database_state() == before)
        said = message.format(line=index + 2)  # the header is line 1
        expected[position] = (
            (
                "1 bad row(s); nothing was imported. Correct them, "
                "or use --skip-invalid to import the good rows.",
                f"{path}: {said}\n",
                True,
            )
            if where == "stderr"
            else (f"{path}: {said} Nothing was imported.", "", True)
        )
    assert outcomes == expected


def test_a_broken_quote_is_found_after_quoted_fields_that_are_well_formed(tmp_path, record):
    """Doubled quotes and a line break inside quotes are fine; the count of lines follows
    the file, not the records."""
    path = tmp_path / "partners.csv"
    path.write_bytes(
        f'{HEADER}\n"Köln ""am Rhein""",DE,"Ville\nsur deux lignes",FR,,\n'
        'Bonn,DE,Oxford,GB,"official"1990,\n'
        "Köln,DE,Liverpool,GB,,\n".encode()
    )
    before = database_state()
    with pytest.raises(CommandError) as refused:
        call_command("import_partnerships", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(refused.value) == (
        f"{path}: line 4, kind: the CSV is malformed (',' expected after '\"'); "
        "check its quotes. Nothing was imported."
    )
    assert database_state() == before


def test_the_good_rows_alone_import(tmp_path, record):
    """The control: without the bad row the same file writes, so the tests above could fail."""
    path = tmp_path / "partners.csv"
    path.write_bytes(b"\n".join([HEADER.encode(), *(row.encode() for row in GOOD)]) + b"\n")
    before = Partnership.objects.count()
    call_command("import_partnerships", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert Partnership.objects.count() == before + GOOD_ROWS


# Fixtures: loaddata takes a file whole or not at all.


def new_towns(count):
    return [
        {
            "model": "registry.municipality",
            "fields": {"name": f"Neustadt {n}", "slug": f"neustadt-{n}", "country": ["DE"]},
        }
        for n in range(count)
    ]


def fixture(*objects):
    return json.dumps([*new_towns(20), *objects])


# (the file, the exception, how its message starts; the rest is the database's own words)
BROKEN_FIXTURES = {
    "unknown country": (
        fixture(
            {
                "model": "registry.municipality",
                "fields": {"name": "Narnia", "slug": "narnia", "country": ["XX"]},
            }
        ),
        IntegrityError,
        "Problem installing fixture '{path}': Could not load registry.Municipality(pk=None): ",
    ),
    "malformed JSON": (
        fixture()[:-20],
        DeserializationError,
        "Problem installing fixture '{path}': ",
    ),
    "partnered with itself": (
        fixture(
            {
                "model": "registry.partnership",
                "fields": {"slug": "self", "first": ["koln"], "second": ["koln"]},
            }
        ),
        IntegrityError,
        "Problem installing fixture '{path}': Could not load registry.Partnership(pk=None): ",
    ),
    "slug taken": (
        fixture(
            {
                "model": "registry.municipality",
                "pk": 999999,
                "fields": {"name": "Köln", "slug": "koln", "country": ["DE"]},
            }
        ),
        IntegrityError,
        "Problem installing fixture '{path}': Could not load registry.Municipality(pk=999999): ",
    ),
    "region that does not exist": (
        fixture(
            {
                "model": "registry.municipality",
                "fields": {"name": "Nowhere", "slug": "nowhere", "country": ["DE"], "region": 9999},
            }
        ),
        IntegrityError,
        "Problem installing fixtures: ",  # found when the constraints are checked at the end
    ),
}


def test_a_broken_fixture_raises_and_leaves_nothing_of_itself(tmp_path, record):
    before = database_state()
    outcomes, expected = {}, {}
    for number, (problem, (content, exception, message)) in enumerate(BROKEN_FIXTURES.items()):
        path = tmp_path / f"broken-{number}.json"
        path.write_text(content, encoding="utf-8")
        message = message.format(path=path)
        with pytest.raises((IntegrityError, DeserializationError)) as refused:
            call_command("loaddata", str(path), verbosity=0)
        outcomes[problem] = (
            type(refused.value),
            str(refused.value)[: len(message)],
            database_state() == before,
        )
        expected[problem] = (exception, message, True)
    assert outcomes == expected


def test_the_good_objects_alone_load(tmp_path, record):
    """The control: without the bad object the same file loads, so the test above could fail."""
    path = tmp_path / "good.json"
    path.write_text(fixture(), encoding="utf-8")
    before = Municipality.objects.count()
    call_command("loaddata", str(path), verbosity=0)
    assert Municipality.objects.count() == before + 20
