"""What every import command does with a file as a whole: a dry run of a bad file, a file
with nothing new in it, and files that are not UTF-8."""

import io
import re

import pytest
from conftest import import_counts
from django.core.management import CommandError, call_command

from registry.models import (
    ImportRun,
)

pytestmark = pytest.mark.django_db

# Each command with a header, a good row and a bad row ({slug}: Köln – Lille's).
FILES = {
    "import_partnerships": (
        "municipality_a,country_a,municipality_b,country_b",
        "Bonn,DE,Oxford,GB",
        "Bonn,Narnia,Oxford,GB",
        "line 3, country_a: 'Narnia' is not a country we know",
    ),
    "import_municipalities": (
        "name,country",
        "Bonn,DE",
        "Nowhere,Narnia",
        "line 3, country: 'Narnia' is not a country we know",
    ),
    "import_networks": (
        "network,municipality,country",
        "Hanse,Bonn,DE",
        "Hanse,Nowhere,Narnia",
        "line 3, country: 'Narnia' is not a country we know",
    ),
    "import_events": (
        "kind,date,title,municipality_a,country_a",
        "visit,1990,Choir visit,Köln,DE",
        "visit,1990,Choir visit,Köln,Narnia",
        "line 3, country_a: 'Narnia' is not a country we know",
    ),
    "import_changes": (
        "date,status,partnership",
        "1965,dormant,{slug}",
        "1965,dormant,nowhere--narnia",
        "line 3, partnership: no partnership or network has the slug 'nowhere--narnia'",
    ),
}
COMMANDS = list(FILES)


def write(tmp_path, content, name="list.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def run(command, path, *options):
    """Run the command; return (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(command, str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing(command, path, *options):
    """Run the command expecting it to fail; return (what it prints, stdout).

    What it prints on stderr is what it wrote there and then, as Django's command runner
    does, ``CommandError: <message>``; it exits with the error's status (checked: 1).
    """
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(command, str(path), *options, stdout=out, stderr=err)
    assert refused.value.returncode == 1
    return f"{err.getvalue()}CommandError: {refused.value}\n", out.getvalue()


# Files that are not UTF-8, or hold NUL bytes: the message names the column by its header's
# name only where that name can be shown as it is, else by position; it never prints NULs or
# the surrogates an undecodable byte becomes.

HEADER = "municipality_a,country_a,municipality_b,country_b,note"
UNREADABLE = {
    "UTF-16 with its byte order mark": (
        f"{HEADER}\nKöln,DE,Liverpool,GB,x\n".encode("utf-16"),
        "the file is UTF-16, not UTF-8; save it as UTF-8 and try again.",
    ),
    "UTF-16 (big-endian) without one": (
        f"{HEADER}\nKöln,DE,Liverpool,GB,x\n".encode("utf-16-be"),
        "the file is UTF-16, not UTF-8; save it as UTF-8 and try again.",
    ),
    "UTF-16 of ASCII only": (
        f"{HEADER}\nKoln,DE,Liverpool,GB,x\n".encode("utf-16-le"),
        "the file is UTF-16, not UTF-8; save it as UTF-8 and try again.",
    ),
    "Latin-1 in the header": (
        f"{HEADER},Straße\nKoln,DE,Liverpool,GB,x,y\n".encode("latin-1"),
        "line 1, column 6: the file is not UTF-8 (byte 0xdf); save it as UTF-8 and try again.",
    ),
    "Latin-1 in the header and in a row": (
        f"{HEADER},Straße\nKöln,DE,Liverpool,GB,x,y\n".encode("latin-1"),
        "line 1, column 6: the file is not UTF-8 (byte 0xdf); save it as UTF-8 and try again.",
    ),
    "Latin-1 in a row": (
        f"{HEADER}\nKoln,DE,Liverpool,GB,Straße\n".encode("latin-1"),
        "line 2, note: the file is not UTF-8 (byte 0xdf); save it as UTF-8 and try again.",
    ),
    "Latin-1 in a column the header has no name for": (
        f"{HEADER}\nKoln,DE,Liverpool,GB,x,Straße\n".encode("latin-1"),
        "line 2, column 6: the file is not UTF-8 (byte 0xdf); save it as UTF-8 and try again.",
    ),
    "Latin-1 under a header name that is not": (
        b"municipality_a,country_a,municipality_b,country_b,no\xf6te\nKoln,DE,Liverpool,GB,\xf6\n",
        "line 1, column 5: the file is not UTF-8 (byte 0xf6); save it as UTF-8 and try again.",
    ),
    "a NUL in the header": (
        f"{HEADER}\x00\nKoln,DE,Liverpool,GB,x\n".encode(),
        "line 1, column 5: the header contains a control character (such as NUL), which CSV "
        "text does not; save the file as UTF-8 CSV and try again.",
    ),
    "a NUL in a header name given twice": (
        b"municipality_a,country_a,municipality_b,country_b,n\x00,n\x00\nK,DE,L,GB,x,y\n",
        "line 1, column 5: the header contains a control character (such as NUL), which CSV "
        "text does not; save the file as UTF-8 CSV and try again.",
    ),
    "a malformed row under a header name that does not show": (
        f'{HEADER},\u200bremark\nKoln,DE,Liverpool,GB,x,"y"z\n'.encode(),
        "line 2, column 6: the CSV is malformed (',' expected after '\"'); check its quotes.",
    ),
    "a header name that does not show, given twice": (
        f"{HEADER},\u200bremark,\u200bremark\nKoln,DE,Liverpool,GB,x,y,z\n".encode(),
        "line 1: column(s) given twice: column 6 and column 7.",
    ),
}


def shows_cleanly(text):
    """No NUL (nor any other control character but the line break) and no lone surrogate."""
    return not re.search(r"[\x00-\x09\x0b-\x1f\x7f\ud800-\udfff]", text)


@pytest.mark.parametrize("case", UNREADABLE)
def test_a_file_that_is_not_utf8_is_refused_with_a_message_that_shows_cleanly(tmp_path, case):
    content, message = UNREADABLE[case]
    path = write(tmp_path, content)
    before = import_counts()
    printed, out = failing("import_partnerships", path)
    assert printed == f"CommandError: {path}: {message} Nothing was imported.\n"
    assert shows_cleanly(printed) and shows_cleanly(out)
    assert import_counts() == before


@pytest.mark.parametrize("command", COMMANDS)
def test_every_import_refuses_utf16_by_name(tmp_path, koeln_lille_slug, command):
    header, good, _, _ = FILES[command]
    path = write(tmp_path, f"{header}\n{good}\n".format(slug=koeln_lille_slug).encode("utf-16"))
    printed, _ = failing(command, path)
    assert printed == (
        f"CommandError: {path}: the file is UTF-16, not UTF-8; save it as UTF-8 and try "
        "again. Nothing was imported.\n"
    )


def test_a_nul_in_a_value_names_its_row_and_column(tmp_path):
    path = write(
        tmp_path,
        "municipality_a,country_a,municipality_b,country_b,source,note\n"
        "Kö\x00ln,DE,Liverpool,GB,,\nBonn,DE,Oxford,GB,a\x00list,\nBonn,DE,Lille,FR,,\x00\n",
    )
    before = import_counts()
    printed, out = failing("import_partnerships", path)
    assert printed == (
        f"{path}: line 2, municipality_a: contains a control character (such as NUL)\n"
        f"{path}: line 3, source: contains a control character (such as NUL)\n"
        "CommandError: 2 bad row(s); nothing was imported. Correct them, or use "
        "--skip-invalid to import the good rows.\n"
    )
    assert shows_cleanly(printed) and shows_cleanly(out)
    assert import_counts() == before


# A dry run fails where the import would.


@pytest.mark.parametrize("command", COMMANDS)
def test_a_dry_run_of_a_file_with_a_bad_row_fails_as_the_import_does(
    tmp_path, koeln_lille_slug, command
):
    header, good, bad, message = FILES[command]
    path = write(tmp_path, f"{header}\n{good}\n{bad}\n".format(slug=koeln_lille_slug))
    before = import_counts()
    printed, _ = failing(command, path)
    assert printed == (
        f"{path}: {message}\n"
        "CommandError: 1 bad row(s); nothing was imported. Correct them, or use "
        "--skip-invalid to import the good rows.\n"
    )
    printed, out = failing(command, path, "--dry-run")
    assert printed == (
        f"{path}: {message}\n"
        "CommandError: 1 bad row(s); the import would write nothing. Correct them, or use "
        "--skip-invalid to import the good rows.\n"
    )
    assert out.splitlines()[0] == "Checked (nothing written):"
    assert out.splitlines()[-1] == "Dry run: nothing was written."
    # With --skip-invalid the good row would be written, as the import itself would.
    out, err = run(command, path, "--dry-run", "--skip-invalid")
    assert (out.splitlines()[-1], err) == ("Dry run: nothing was written.", f"{path}: {message}\n")
    assert import_counts() == before


# No import run for an import that writes nothing.

NOTHING_NEW = "Nothing new: nothing was written, and no import run recorded."


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "content", ["{header}\n", "{header}", "{header}\n\n  \n\r\n,,\n\n", "\ufeff{header}\r\n"]
)
def test_a_file_without_rows_records_no_run(tmp_path, koeln_lille_slug, command, content):
    path = write(tmp_path, content.format(header=FILES[command][0]))
    before = import_counts()
    out, err = run(command, path)
    assert (out.splitlines()[0], out.splitlines()[-1], err) == (
        "Checked (nothing written):",
        NOTHING_NEW,
        "",
    )
    assert "  rows read" in out and re.search(r"  rows read +0\n", out)
    assert import_counts() == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_imported_already_records_no_second_run(tmp_path, koeln_lille_slug, command):
    header, good, _, _ = FILES[command]
    path = write(tmp_path, f"{header}\n{good}\n".format(slug=koeln_lille_slug))
    out, _ = run(command, path)
    first_run = ImportRun.objects.get()
    assert out.splitlines()[-1] == f"Imported as run {first_run.pk}."
    after_first = import_counts()
    out, err = run(command, path)
    assert (out.splitlines()[-1], err) == (NOTHING_NEW, "")
    assert re.search(r"  already in the registry +1\n", out)
    assert import_counts() == after_first
    assert list(ImportRun.objects.all()) == [first_run]


@pytest.mark.parametrize("command", COMMANDS)
def test_skip_invalid_with_only_bad_rows_records_no_run(tmp_path, koeln_lille_slug, command):
    header, _, bad, message = FILES[command]
    path = write(tmp_path, f"{header}\n\n{bad}\n")
    before = import_counts()
    out, err = run(command, path, "--skip-invalid")
    assert (out.splitlines()[-1], err) == (NOTHING_NEW, f"{path}: {message}\n")
    assert import_counts() == before
