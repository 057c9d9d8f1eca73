"""import_municipalities: towns without partners, as the world's lists give them."""

import io
from decimal import Decimal

import pytest
from conftest import municipality
from django.core.management import CommandError, call_command
from django.db import connection

from registry.models import AlternativeName, ImportRun, Municipality, Partnership, Source

pytestmark = pytest.mark.django_db

HEADER = "name,country,kind,region,lat,lon,population,wikidata_id,geonames_id,source"


def write(tmp_path, text, name="towns.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def run(path, *options, command="import_municipalities"):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def towns():
    return sorted(
        Municipality.objects.values_list(
            "name",
            "country__code",
            "kind",
            "region__name",
            "latitude",
            "longitude",
            "population",
            "wikidata_id",
            "geonames_id",
            "partner_count",
        )
    )


def test_creates_towns_with_every_column(tmp_path):
    out, err = run(
        write(
            tmp_path,
            f"{HEADER}\nKöln,Deutschland,city,Nordrhein-Westfalen,50.93333,6.95,1084831,q365,"
            "2886242,https://de.wikipedia.org/wiki/K%C3%B6ln\n"
            "Kreis Steinfurt,DE,Landkreis,Nordrhein-Westfalen,,,,,,\n"
            "Košice,Czechoslovakia,,,,,,,,\n",
        )
    )
    assert towns() == [
        ("Košice", "SK", "city", None, None, None, None, "", None, 0),  # today's country
        ("Kreis Steinfurt", "DE", "county", "Nordrhein-Westfalen", None, None, None, "", None, 0),
        (
            "Köln",
            "DE",
            "city",
            "Nordrhein-Westfalen",
            Decimal("50.93333"),
            Decimal("6.95000"),
            1084831,
            "Q365",
            2886242,
            0,
        ),
    ]
    koeln = Municipality.objects.get(name="Köln")
    assert (koeln.name_folded, koeln.slug) == ("koln", "koln")
    assert [s.url for s in koeln.sources.all()] == ["https://de.wikipedia.org/wiki/K%C3%B6ln"]
    run_ = ImportRun.objects.get()
    assert (run_.rows_read, run_.municipalities_created, run_.already_present) == (3, 3, 0)
    assert Municipality.objects.search("koln").get() == koeln
    assert (out, err) == (
        "Imported:\n"
        "  rows read                3\n"
        "  rows rejected            0\n"
        "  municipalities created   3\n"
        "  duplicates merged        0\n"
        "  already in the registry  0\n"
        f"Imported as run {run_.pk}.\n",
        "",
    )


def test_towns_already_there_or_listed_twice_are_one_town(tmp_path):
    koeln = municipality("Köln")
    AlternativeName.objects.create(municipality=koeln, name="Cologne")
    neustadt = municipality("Neustadt", region=None)
    run(
        write(
            tmp_path,
            "name,country,region,population\nCologne,Germany,,\nKOLN,DE,,\n"
            "Lille,FR,,\nLille,France,,232000\nNeustadt,DE,,\n",
        )
    )
    assert sorted(Municipality.objects.values_list("name", "population")) == [
        ("Köln", None),
        ("Lille", 232000),
        ("Neustadt", None),
    ]
    assert neustadt.pk == Municipality.objects.get(name="Neustadt").pk
    assert ImportRun.objects.values_list(
        "municipalities_created", "duplicates_merged", "already_present"
    ).get() == (1, 1, 3)


def test_same_name_in_another_region_is_another_town(tmp_path):
    path = write(
        tmp_path,
        "name,country,region\nNeustadt,DE,Hessen\nNeustadt,DE,Bayern\nNeustadt,DE,Hessen\n",
    )
    run(path)
    assert sorted(Municipality.objects.values_list("name", "region__name", "slug")) == [
        ("Neustadt", "Bayern", "neustadt-de"),
        ("Neustadt", "Hessen", "neustadt"),
    ]
    run(path, command="import_municipalities")  # again: both are there now
    assert Municipality.objects.count() == 2
    # a partnership list then tells them apart by region
    partners = write(
        tmp_path,
        "municipality_a,country_a,region_a,municipality_b,country_b\nNeustadt,DE,Bayern,Lille,FR\n",
        name="partners.csv",
    )
    run(partners, command="import_partnerships")
    assert Partnership.objects.get().first.region.name == "Bayern"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Köln,Narnia,,,,,,,,", "line 3, country: 'Narnia' is not a country we know"),
        (",DE,,,,,,,,", "line 3, name: is empty"),
        ("Köln,DE,village,,,,,,,", "line 3, kind: 'village' is not one of"),
        ("Köln,DE,,,95,7,,,,", "line 3, lat: 95 is not between -90 and 90"),
        ("Köln,DE,,,51,,,,,", "line 3, lat: give both latitude and longitude, or neither"),
        ("Köln,DE,,,,,-5,,,", "line 3, population: '-5' is not a whole number of 0 or more"),
        ("Köln,DE,,,,,²,,,", "line 3, population: '²' is not a whole number of 0 or more"),
        ("Köln,DE,,,,,,Z365,,", "line 3, wikidata_id: 'Z365' is not a Wikidata id"),
        ("Köln,DE,,,,,,,99999999999,", "line 3, geonames_id: 99999999999 is too large"),
        (
            "Köln,DE,,,,,,,2988507,",
            "line 3, geonames_id: 2988507 is already the GeoNames id of Paris",
        ),
        ("Kö\x00ln,DE,,,,,,,,", "line 3, name: contains a control character (such as NUL)"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(tmp_path, row, message):
    municipality("Paris", "FR", geonames_id=2988507)
    before = towns(), Source.objects.count(), ImportRun.objects.count()
    path = write(tmp_path, f"{HEADER}\nBonn,DE,,,,,,,,\n{row}\nLille,FR,,,,,,,,\n")
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_municipalities", str(path), stdout=io.StringIO(), stderr=err)
    assert str(refused.value) == (
        "1 bad row(s); nothing was imported. Correct them, "
        "or use --skip-invalid to import the good rows."
    )
    assert err.getvalue().startswith(f"{path}: {message}")
    assert err.getvalue().count("\n") == 1
    assert (towns(), Source.objects.count(), ImportRun.objects.count()) == before


def test_two_rows_with_one_geonames_id_are_refused(tmp_path):
    path = write(tmp_path, f"{HEADER}\nBonn,DE,,,,,,,2946447,\nBerlin,DE,,,,,,,2946447,\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_municipalities", str(path), stdout=io.StringIO(), stderr=err)
    assert (
        err.getvalue()
        == f"{path}: line 3, geonames_id: 2946447 is already the GeoNames id of Bonn\n"
    )
    assert Municipality.objects.count() == 0


def test_skip_invalid_and_dry_run(tmp_path):
    path = write(tmp_path, "name,country\nBonn,DE\nNowhere,Narnia\n")
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_municipalities", str(path), "--dry-run", stdout=out, stderr=io.StringIO()
        )
    assert str(refused.value).startswith("1 bad row(s); the import would write nothing.")
    assert "Dry run: nothing was written." in out.getvalue() and Municipality.objects.count() == 0
    out, _ = run(path, "--dry-run", "--skip-invalid")
    assert out.splitlines()[-1] == "Dry run: nothing was written."
    run(path, "--skip-invalid")
    assert list(Municipality.objects.values_list("name", flat=True)) == ["Bonn"]
    assert ImportRun.objects.values_list("rows_read", "rows_rejected").get() == (2, 1)


def test_reverting_the_run_deletes_its_towns_but_not_those_in_use(tmp_path):
    run(write(tmp_path, "name,country,source\nBonn,DE,a list\nLille,FR,a list\n"))
    lille = Municipality.objects.get(name="Lille")
    Partnership.objects.create(first=lille, second=municipality("Köln"))
    ImportRun.objects.get().revert(user=None)
    assert sorted(Municipality.objects.values_list("name", flat=True)) == ["Köln", "Lille"]


@pytest.mark.parametrize("rows", [5, 60])
def test_query_count_does_not_grow_with_rows(tmp_path, django_assert_num_queries, rows):
    municipality("Town 0")
    lines = [f"Town {n},DE,,,,,,,,source {n % 3}" for n in range(rows)]
    path = write(tmp_path, f"{HEADER}\n" + "\n".join(lines) + "\n")
    # One to wait for any other import (ImportRun.take_import_lock). PostgreSQL:
    # +3 per COPY (towns, their sources), which turns the database's per-row key checks off,
    # back on, and checks the keys itself (registry.importing.writing.insert); no ANALYZE
    # (autovacuum's job there). And 2 + 2 for the history: the highest keys before and after
    # the writes, the first versions of the towns and the sources (writing.write_first_versions).
    with django_assert_num_queries(20 if connection.vendor == "sqlite" else 25):
        run(path)
    assert Municipality.objects.count() == rows
