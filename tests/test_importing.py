"""import_partnerships and export_partnerships, driven as staff run them: by command."""

import hashlib
import io
import unicodedata

import pytest
from conftest import municipality, network, partnership
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils.text import slugify
from hypothesis import given
from hypothesis import strategies as st

from registry.importing import quick_fold, quick_slug
from registry.models import AlternativeName, ImportRun, Municipality, Partnership, Source
from registry.text import _SPECIAL, fold

pytestmark = pytest.mark.django_db

HEADER = "municipality_a,country_a,municipality_b,country_b"


def write(tmp_path, text, name="list.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def run(path, *options):
    """Run the command; return (stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_partnerships", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing(path, *options):
    """Run the command expecting failure; return (message, stderr)."""
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_partnerships", str(path), *options, stdout=io.StringIO(), stderr=err)
    return str(error.value), err.getvalue()


def pairs():
    return sorted(
        (p.first.name, p.first.country.code, p.second.name, p.second.country.code, p.kind)
        for p in Partnership.objects.select_related("first__country", "second__country")
    )


def table_state():
    return (
        list(Municipality.objects.order_by("pk").values()),
        list(Partnership.objects.order_by("pk").values()),
        Source.objects.count(),
        ImportRun.objects.count(),
    )


@pytest.mark.parametrize(
    ("town", "spelling", "code"),
    [
        ("Partnertown", "England", "GB"),
        ("Partnertown", "Scotland", "GB"),
        ("Partnertown", "Wales", "GB"),
        ("Partnertown", "England, United Kingdom", "GB"),
        ("Partnertown", "United Kingdom", "GB"),
        ("Partnertown", "GBR", "GB"),
        ("Partnertown", "Republic of Ireland", "IE"),
        ("Partnertown", "Turkey", "TR"),
        ("Partnertown", "Türkei", "TR"),
        ("Partnertown", "Czech Republic", "CZ"),
        ("Partnertown", "Czechia", "CZ"),
        ("Partnertown", "Georgia (country)", "GE"),
        ("Partnertown", "Kosovo", "XK"),
        ("Partnertown", "Frankreich", "FR"),
        ("Partnertown", "fr", "FR"),
        ("Brno", "Czechoslovakia", "CZ"),
        ("Bratislava", "Tschechoslowakei", "SK"),
        ("Partnertown", "GDR", "DE"),
        ("Kiev", "USSR", "UA"),  # a former state that split: the successor the town is in
        ("Ljubljana", "Yugoslavia", "SI"),
    ],
)
def test_country_spellings_of_real_lists(tmp_path, town, spelling, code):
    run(write(tmp_path, f'{HEADER}\nBonn,Germany,{town},"{spelling}"\n'))
    assert Municipality.objects.get(name=town).country.code == code


def test_a_former_state_is_kept_as_the_country_at_signing(tmp_path):
    existing_kosice = municipality("Košice", "SK")
    path = write(
        tmp_path,
        f"{HEADER},start\nWuppertal,West Germany,Kosice,Czechoslovakia,22 May 1980\n"
        "Treptow,GDR,Köln,DE,1990\n",
    )
    run(path)
    wuppertal = Partnership.objects.get(first__name="Wuppertal")
    treptow = Partnership.objects.get(first__name="Treptow")
    assert (wuppertal.second, wuppertal.second_country_at_signing.code, wuppertal.start) == (
        existing_kosice,
        "CSHH",
        "1980-05-22",
    )
    assert (treptow.first.country.code, treptow.first_country_at_signing.code) == ("DE", "DDDE")
    assert wuppertal.first_country_at_signing is None


def test_matches_by_alternative_name_accents_and_case_ignored(tmp_path):
    koeln = municipality("Köln")
    AlternativeName.objects.create(municipality=koeln, name="Cologne", language="en")
    municipality("Cologne", "FR")  # same name, other country: must not be taken
    run(write(tmp_path, f"{HEADER}\nCologne,Germany,Liverpool,England\nKOLN,DE,Turku,FI\n"))
    assert pairs() == [
        ("Köln", "DE", "Liverpool", "GB", "official"),
        ("Köln", "DE", "Turku", "FI", "official"),
    ]
    assert Municipality.objects.filter(name_folded="koln").count() == 1


def test_reversed_duplicates_in_the_file_are_merged(tmp_path):
    path = write(
        tmp_path,
        f"{HEADER},start\nKöln,DE,Liverpool,GB,\nLiverpool,GB,Köln,DE,1952\nkoln,DE,LIVERPOOL,GB,\n",
    )
    out, _ = run(path)
    assert pairs() == [("Köln", "DE", "Liverpool", "GB", "official")]
    assert Partnership.objects.get().start == "1952"
    assert out == (
        "Imported:\n"
        "  rows read                3\n"
        "  rows rejected            0\n"
        "  municipalities created   2\n"
        "  municipalities matched   0\n"
        "  partnerships created     1\n"
        "  duplicates merged        2\n"
        "  already in the registry  0\n"
        f"Imported as run {ImportRun.objects.get().pk}.\n"
    )


def test_a_pair_reversed_against_the_registry_is_not_created_again(tmp_path):
    partnership(municipality("Köln"), municipality("Liverpool", "GB"), start="1952")
    out, _ = run(write(tmp_path, f"{HEADER}\nLiverpool,GB,Köln,DE\n"))
    assert Partnership.objects.count() == 1
    assert "  already in the registry  1\n" in out


def test_same_pair_of_another_kind_is_another_partnership(tmp_path):
    run(write(tmp_path, f"{HEADER},kind\nKöln,DE,Dnipro,UA,project\nDnipro,UA,Köln,DE,official\n"))
    assert pairs() == [
        ("Dnipro", "UA", "Köln", "DE", "official"),
        ("Köln", "DE", "Dnipro", "UA", "project"),
    ]


def test_defaults_kind_official_status_active_and_unknown_start(tmp_path):
    run(write(tmp_path, f"{HEADER},source\nKöln,DE,Liverpool,GB,https://www.koeln.de/\n"))
    created = Partnership.objects.get()
    assert (created.kind, created.status, created.start, created.end) == (
        "official",
        "active",
        None,
        None,
    )
    assert [(s.citation, s.url) for s in created.sources.all()] == [
        ("https://www.koeln.de/", "https://www.koeln.de/")
    ]
    assert Municipality.objects.get(name="Köln").partner_count == 1


def test_unknown_columns_are_ignored_and_details_are_kept(tmp_path):
    path = write(
        tmp_path,
        "note,municipality_a,country_a,region_a,lat_a,lon_a,municipality_b,country_b,"
        "status,end,start\n"
        "x,Köln,DE,Nordrhein-Westfalen,50.9375,6.96028,Volgograd,RU,suspended,,Nov 1988\n",
    )
    run(path)
    koeln = Municipality.objects.get(name="Köln")
    assert (koeln.region.name, str(koeln.latitude), str(koeln.longitude)) == (
        "Nordrhein-Westfalen",
        "50.93750",
        "6.96028",
    )
    link = Partnership.objects.get()
    assert (link.status, link.start) == ("suspended", "1988-11")


BAD_ROWS = [
    (",DE,Liverpool,GB", "line 3, municipality_a: is empty"),
    ("Köln,DE,,GB", "line 3, municipality_b: is empty"),
    ("Köln,DE,köln,Germany", "line 3, municipality_b: 'köln' would be partnered with itself"),
    ("Köln,Narnia,Liverpool,GB", "line 3, country_a: 'Narnia' is not a country we know"),
    ("Köln,DE,Liverpool,", "line 3, country_b: is empty"),
    (
        "Köln,DE,Liverpool,GB,31 Feb 1980",
        "line 3, start: '31 Feb 1980' is not a date in the calendar",
    ),
    ("Köln,DE,Liverpool,GB,3000", "line 3, start: 3000 lies too far in the future"),
    (
        "Köln,DE,Liverpool,GB,soon",
        "line 3, start: 'soon' is not a date like 1988, Nov 1988 or 22 May 1980",
    ),
    ("Köln,DE,Liverpool,GB,1990,1980", "line 3, end: 1980 is before the start 1990"),
    (
        "Köln,DE,Liverpool,GB,,,twinned",
        "line 3, kind: 'twinned' is not one of adoption, contact, friendship, official, project",
    ),
    (
        "Köln,DE,Liverpool,GB,,,network",
        "line 3, kind: 'network' is not one of adoption, contact, friendship, official, project",
    ),
    (
        "Köln,DE,Liverpool,GB,,,,over",
        "line 3, status: 'over' is not one of active, dormant, ended, suspended",
    ),
    ("Köln,DE,Liverpool,GB,,,,,91,6", "line 3, lat_a: 91 is not between -90 and 90"),
    (
        "Köln,DE,Liverpool,GB,,,,,50.9,",
        "line 3, lat_a: give both latitude and longitude, or neither",
    ),
    ("Köln,DE,Liverpool,GB,,,,,north,6", "line 3, lat_a: 'north' is not a number"),
    ("Köln,DE,Liverpool", "line 3, country_b: is empty"),
    ("Köln,DE,Liverpool,GB,,,,,,,extra", "line 3: has 11 fields where the header has 10"),
    (
        "Kö\x00ln,DE,Liverpool,GB",
        "line 3, municipality_a: contains a control character (such as NUL)",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_each_bad_row_is_reported_with_its_line_and_nothing_is_written(tmp_path, row, message):
    municipality("Bonn")
    before = table_state()
    path = write(
        tmp_path,
        f"{HEADER},start,end,kind,status,lat_a,lon_a\nBonn,DE,Oxford,GB,,,,,,\n{row}\n",
    )
    error, stderr = failing(path)
    assert stderr == f"{path}: {message}\n"
    assert error == (
        "1 bad row(s); nothing was imported. Correct them, "
        "or use --skip-invalid to import the good rows."
    )
    assert table_state() == before


def test_self_pair_through_an_alternative_name_is_reported(tmp_path):
    koeln = municipality("Köln")
    AlternativeName.objects.create(municipality=koeln, name="Cologne")
    path = write(tmp_path, f"{HEADER}\nKöln,DE,Cologne,DE\n")
    _, stderr = failing(path)
    assert stderr == (
        f"{path}: line 2, municipality_b: 'Cologne' is another name of 'Köln': "
        "a town cannot be partnered with itself\n"
    )
    assert Partnership.objects.count() == 0


def test_ambiguous_name_asks_for_the_region(tmp_path):
    municipality("Neustadt", region=None)
    municipality("Neustadt")
    path = write(tmp_path, f"{HEADER}\nNeustadt,DE,Liverpool,GB\n")
    _, stderr = failing(path)
    assert stderr == (
        f"{path}: line 2, municipality_a: 'Neustadt' names 2 municipalities in Germany; "
        "give the region to tell them apart\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            f"{HEADER}\nKöln,DE,Liverpool,GB\n".encode("latin-1"),
            "line 2, municipality_a: the file is not UTF-8 (byte 0xf6); "
            "save it as UTF-8 and try again.",
        ),
        (
            f'{HEADER}\nKöln,DE,Liverpool,GB\n"Bonn,DE,Oxford,GB\n'.encode(),
            "line 3, municipality_a: the CSV is malformed (unexpected end of data); "
            "check its quotes.",
        ),
        (
            f'{HEADER}\n"Köln"x,DE,Liverpool,GB\n'.encode(),
            "line 2, municipality_a: the CSV is malformed (',' expected after '\"'); "
            "check its quotes.",
        ),
        (
            b"municipality_a,country_a,municipality_b\nK,DE,L\n",
            "line 1: missing required column(s): country_b.",
        ),
        (b"", "the file is empty; it needs a header row."),
    ],
)
def test_unreadable_files_are_refused_whole(tmp_path, content, message):
    path = write(tmp_path, content)
    before = table_state()
    error, _ = failing(path)
    assert error == f"{path}: {message} Nothing was imported."
    assert table_state() == before


def test_skip_invalid_writes_the_good_rows_and_reports_the_rest(tmp_path):
    path = write(
        tmp_path, f"{HEADER}\nKöln,DE,Liverpool,GB\nBonn,Narnia,Oxford,GB\nKöln,DE,Turku,FI\n"
    )
    out, stderr = run(path, "--skip-invalid")
    assert stderr == f"{path}: line 3, country_a: 'Narnia' is not a country we know\n"
    assert pairs() == [
        ("Köln", "DE", "Liverpool", "GB", "official"),
        ("Köln", "DE", "Turku", "FI", "official"),
    ]
    run_record = ImportRun.objects.get()
    assert (run_record.rows_read, run_record.rows_rejected, run_record.partnerships_created) == (
        3,
        1,
        2,
    )
    assert "  rows rejected            1\n" in out


def test_skip_invalid_creates_nothing_of_a_row_whose_second_town_is_rejected(tmp_path):
    municipality("Neustadt", region=None)
    municipality("Neustadt")
    municipality("Lille", "FR")
    path = write(
        tmp_path, f"{HEADER}\nBonn,DE,Neustadt,DE\nLille,FR,Neustadt,DE\nKöln,DE,Turku,FI\n"
    )
    out, stderr = run(path, "--skip-invalid")
    ambiguous = "'Neustadt' names 2 municipalities in Germany; give the region to tell them apart"
    assert stderr == (
        f"{path}: line 2, municipality_b: {ambiguous}\n"
        f"{path}: line 3, municipality_b: {ambiguous}\n"
    )
    assert pairs() == [("Köln", "DE", "Turku", "FI", "official")]
    assert sorted(Municipality.objects.values_list("name", flat=True)) == [
        "Köln",
        "Lille",
        "Neustadt",
        "Neustadt",
        "Turku",
    ]
    assert out == (
        "Imported:\n"
        "  rows read                3\n"
        "  rows rejected            2\n"
        "  municipalities created   2\n"
        "  municipalities matched   0\n"
        "  partnerships created     1\n"
        "  duplicates merged        0\n"
        "  already in the registry  0\n"
        f"Imported as run {ImportRun.objects.get().pk}.\n"
    )


def test_dry_run_writes_nothing_and_says_what_would_happen(tmp_path):
    municipality("Köln")
    before = table_state()
    out, _ = run(write(tmp_path, f"{HEADER}\nKöln,DE,Liverpool,GB\n"), "--dry-run")
    assert table_state() == before
    assert out == (
        "Checked (nothing written):\n"
        "  rows read                1\n"
        "  rows rejected            0\n"
        "  municipalities created   1\n"
        "  municipalities matched   1\n"
        "  partnerships created     1\n"
        "  duplicates merged        0\n"
        "  already in the registry  0\n"
        "Dry run: nothing was written.\n"
    )


def test_reimporting_the_same_file_creates_nothing_new(tmp_path):
    path = write(tmp_path, f"{HEADER},region_a,source\nKöln,DE,Liverpool,GB,NRW,koeln.de\n")
    run(path)
    first = (list(Municipality.objects.values()), list(Partnership.objects.values()))
    out, _ = run(path)
    assert (list(Municipality.objects.values()), list(Partnership.objects.values())) == first
    assert Source.objects.count() == 1
    assert (
        "  partnerships created     0\n  duplicates merged        0\n  already in the registry  1\n"
        in out
    )


def test_import_run_records_the_file_hash_and_counts(tmp_path):
    content = f"{HEADER}\nKöln,DE,Liverpool,GB\n"
    path = write(tmp_path, content)
    run(path)
    record = ImportRun.objects.get()
    assert (record.file_name, record.sha256, record.municipalities_created) == (
        str(path),
        hashlib.sha256(content.encode()).hexdigest(),
        2,
    )
    assert set(Partnership.objects.values_list("import_run", flat=True)) == {record.pk}


def export():
    out = io.StringIO()
    call_command("export_partnerships", stdout=out)
    return out.getvalue()


def test_export_then_import_into_an_empty_registry_round_trips(tmp_path, django_db_blocker):
    source = (
        "municipality_a,country_a,municipality_b,country_b,kind,start,end,status,region_a,"
        "region_b,lat_a,lon_a,lat_b,lon_b,source\n"
        "Köln,DE,Liverpool,GB,official,1952,,active,Nordrhein-Westfalen,England,50.93750,"
        "6.96028,53.40837,-2.99157,https://www.koeln.de/\n"
        "Keighley,GB,Poix-du-Nord,FR,official,1920,,active,England,Hauts-de-France,,,,,\n"
        "Mülheim an der Ruhr,DE,Kuusankoski,FI,official,1972,2008-12-31,ended,,,,,,,dfgnrw.de\n"
        "Köln,DE,Volgograd,RU,official,1988-11,,suspended,Nordrhein-Westfalen,,50.93750,"
        "6.96028,,,\n"
        "Wuppertal,DE,Košice,SK,official,1980-05-22,,active,,,,,,,\n"
    )
    run(write(tmp_path, source))
    exported = export()
    assert exported == source
    Partnership.objects.all().delete()
    Municipality.objects.all().delete()
    run(write(tmp_path, exported, name="again.csv"))
    assert export() == exported


@pytest.mark.parametrize("rows", [5, 60])
def test_import_query_count_does_not_grow_with_rows(tmp_path, django_assert_num_queries, rows):
    municipality("Town 0")
    lines = [
        f"Town {n},DE,Ville {n},FR,official,{1950 + n % 50},source {n % 3}" for n in range(rows)
    ]
    path = write(tmp_path, f"{HEADER},kind,start,source\n" + "\n".join(lines) + "\n")
    # One to wait for any other import (ImportRun.take_import_lock). On
    # PostgreSQL 1 + 3 * 3 more: the lock that orders recounts (registry.signals.recount)
    # and, per COPY (towns, partnerships, sources), the database's per-row key checks turned
    # off and back on and the keys checked at once (registry.importing.writing.insert).
    # And 2 + 3 for the history: the highest keys before and after the writes, and the first
    # versions of the towns, partnerships and sources (writing.write_first_versions).
    with django_assert_num_queries(26 if connection.vendor == "sqlite" else 36):
        run(path)
    assert Partnership.objects.count() == rows


def test_geocode_fills_coordinates_population_and_us_region_of_new_towns(tmp_path):
    path = write(
        tmp_path,
        f"{HEADER},lat_b,lon_b\nKöln,DE,Indianapolis,US,39.1,-86.1\nWürzburg,Germany,Faribault,USA,,\n"
        "Nowhere-upon-Nothing,DE,Poix-du-Nord,FR,,\n",
    )
    out, _ = run(path, "--geocode")
    koeln = Municipality.objects.get(name="Köln")
    faribault = Municipality.objects.get(name="Faribault")
    indianapolis = Municipality.objects.get(name="Indianapolis")
    assert (round(koeln.latitude), round(koeln.longitude), koeln.geonames_id) == (51, 7, 2886242)
    assert koeln.population > 900_000 and koeln.region is None
    assert (faribault.region.name, round(faribault.latitude)) == ("Minnesota", 44)
    assert (str(indianapolis.latitude), indianapolis.geonames_id) == ("39.10000", None)
    assert Municipality.objects.get(name="Nowhere-upon-Nothing").latitude is None
    assert "  municipalities geocoded  4\n" in out


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_import_folds_and_slugs_ascii_names_as_the_registry_does(name):
    assert (quick_fold(name), quick_slug(quick_fold(name))) == (fold(name), slugify(fold(name)))


def test_stored_partner_counts_equal_a_full_recount_after_an_import(tmp_path):
    """New towns get their counts as they are written, existing ones are recounted: both
    must equal what the counting rule gives, whatever the kinds and statuses."""
    koeln, lille = municipality("Köln"), municipality("Lille", "FR")
    partnership(koeln, lille)
    network("Neue Hanse", koeln, municipality("Brügge", "BE"))
    lines = [
        f"{a},DE,{b},FR,{kind},{status},{end}"
        for n, (kind, status, end) in enumerate(
            [
                (kind, status, end)
                for kind in ("", "official", "friendship", "adoption")
                for status in ("", "active", "suspended", "ended")
                for end in ("", "2020")
            ]
        )
        for a, b in ((f"Town {n}", f"Ville {n}"), ("Köln", f"Ville {n}"), (f"Town {n}", "Lille"))
    ]
    run(write(tmp_path, f"{HEADER},kind,status,end\n" + "\n".join(lines) + "\n"))
    stored = dict(Municipality.objects.values_list("name", "partner_count"))
    Municipality.objects.update(partner_count=0)
    Municipality.objects.all().recount_partners()
    assert dict(Municipality.objects.values_list("name", "partner_count")) == stored
    # Eight of the 32 combinations count (official or no kind, active or no status).
    assert (stored["Köln"], stored["Lille"], stored["Town 0"], stored["Ville 1"]) == (9, 9, 2, 2)


def _fold_char_by_char(text):
    """fold() as it was written first: each character of the decomposition looked at."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    text = "".join(
        char
        for char in text
        if not unicodedata.combining(char) and unicodedata.category(char) != "Cf"
    )
    return " ".join(text.casefold().split())


@given(st.text())
def test_fold_drops_accents_and_format_characters_as_the_definition_says(text):
    assert fold(text) == _fold_char_by_char(text)


def test_fold_examples():
    assert [fold(name) for name in ("Köln", "KOŠICE", "Łódź", "Mont\u200bbéliard", "𝐊öln")] == [
        "koln",
        "kosice",
        "lodz",
        "montbeliard",
        "koln",
    ]
