"""import_networks: multilateral networks and their members, through the import path."""

import io

import pytest
from conftest import municipality, network, partnership
from django.contrib import messages
from django.core.management import CommandError, call_command

from registry.models import ImportRun, Membership, Municipality, Partnership

pytestmark = pytest.mark.django_db

HEADER = "network,municipality,country,region,joined,left,start,source"
CHANGELIST = "/admin/registry/importrun/"


@pytest.fixture
def record():
    koeln, lille = municipality("Köln"), municipality("Lille", "FR")
    koeln.alternative_names.create(name="Cologne")
    twinning = partnership(koeln, lille, start="1958")
    hanse = network("Neue Hanse", koeln, slug="neue-hanse", start="1980")
    return koeln, lille, twinning, hanse


def write(tmp_path, text, name="networks.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def run(path, *options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_networks", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def members():
    """Every membership: network, its start, member, country, region, joined, left, source."""
    return list(
        Membership.objects.order_by("partnership__name", "municipality__name").values_list(
            "partnership__name",
            "partnership__start",
            "municipality__name",
            "municipality__country__code",
            "municipality__region__name",
            "joined",
            "left",
            "country_at_signing__code",
            "sources__url",
        )
    )


def test_networks_and_members_found_or_created(tmp_path, record):
    koeln, lille, twinning, hanse = record
    out, err = run(
        write(
            tmp_path,
            f"{HEADER}\n"
            "NEUE HANSE,Cologne,Germany,,1980,,1980,https://hanse.org\n"
            "neue hanse,Lille,FR,,1991-05,2020,,\n"
            "Neue Hanse,Tallinn,EE,Harju,1991,,,\n"
            "Douzelage,Köln,DE,,,,1991,\n"
            "Douzelage,Karl-Marx-Stadt,GDR,,1989,,,\n",
        )
    )
    run_ = ImportRun.objects.get()
    assert members() == [
        ("Douzelage", "1991", "Karl-Marx-Stadt", "DE", None, "1989", None, "DDDE", None),
        ("Douzelage", "1991", "Köln", "DE", None, None, None, None, None),
        ("Neue Hanse", "1980", "Köln", "DE", None, None, None, None, None),
        ("Neue Hanse", "1980", "Lille", "FR", None, "1991-05", "2020", None, None),
        ("Neue Hanse", "1980", "Tallinn", "EE", "Harju", "1991", None, None, None),
    ]
    douzelage = Partnership.objects.get(name="Douzelage")
    assert (douzelage.kind, douzelage.slug, douzelage.import_run) == ("network", "douzelage", run_)
    assert (
        run_.rows_read,
        run_.partnerships_created,
        run_.municipalities_created,
        run_.municipalities_matched,
        run_.memberships_created,
        run_.already_present,
        len(run_.sha256),
    ) == (5, 1, 2, 2, 4, 1, 64)
    assert Membership.objects.filter(import_run=run_).count() == 4
    assert (out, err) == (
        "Imported:\n"
        "  rows read                5\n"
        "  rows rejected            0\n"
        "  networks created         1\n"
        "  networks matched         1\n"
        "  municipalities created   2\n"
        "  municipalities matched   2\n"
        "  members added            4\n"
        "  duplicates merged        0\n"
        "  already in the registry  1\n"
        f"Imported as run {run_.pk}.\n",
        "",
    )


def test_partner_counts_stay_right(tmp_path, record):
    koeln, lille, twinning, hanse = record
    run(write(tmp_path, f"{HEADER}\nHanse,Köln,DE,,,,,\nHanse,Lille,FR,,,,,\nHanse,Bonn,DE,,,,,\n"))
    assert dict(Municipality.objects.values_list("name", "partner_count")) == {
        "Köln": 1,
        "Lille": 1,
        "Bonn": 0,
    }


def test_a_member_listed_twice_or_already_there_is_added_once(tmp_path, record):
    koeln, lille, twinning, hanse = record
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "Neue Hanse,Köln,DE,,,,,\n"
        "Neue Hanse,Lille,FR,,1990,,,\n"
        "Neue Hanse,lille,France,,,2001,,https://example.org/lille\n",
    )
    run(path)
    assert members() == [
        ("Neue Hanse", "1980", "Köln", "DE", None, None, None, None, None),
        (
            "Neue Hanse",
            "1980",
            "Lille",
            "FR",
            None,
            "1990",
            "2001",
            None,
            "https://example.org/lille",
        ),
    ]
    assert ImportRun.objects.values_list(
        "memberships_created", "duplicates_merged", "already_present"
    ).get() == (1, 1, 1)
    run(path)  # again: nothing new
    assert Membership.objects.count() == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",Köln,DE,,,,,", "line 3, network: is empty"),
        ("Hanse,,DE,,,,,", "line 3, municipality: is empty"),
        ("Hanse,Köln,,,,,,", "line 3, country: is empty"),
        ("Hanse,Köln,Narnia,,,,,", "line 3, country: 'Narnia' is not a country we know"),
        ("Hanse,Köln,DE,,1990,1980,,", "line 3, left: 1980 is before it joined, 1990"),
        ("Hanse,Köln,DE,,19x0,,,", "line 3, joined: "),
        ("Hanse,Köln,DE,,,,3000,", "line 3, start: 3000 lies too far in the future"),
        ("Hanse,Kö\x00ln,DE,,,,,", "line 3, municipality: contains a control character"),
        (
            "Hanse,Köln,DE,,,,,x" + "x" * 500,
            "line 3, source: is longer than 500 characters",
        ),
        (
            "Hanse,Köln,DE,,,,1991,",
            "line 3, start: 1991 disagrees with the start 1990 given on line 2",
        ),
        (
            "Neue Hanse,Lille,FR,,,,1981,",
            "line 3, start: the registry has 'Neue Hanse' with the start 1980",
        ),
        (
            "Hanse,Lille,FR,,2000,,,\nHanse,Lille,FR,,,1999,,",
            "line 4, left: 'Lille' is listed on line 3 too; together they say it left (1999) "
            "before it joined (2000)",
        ),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(tmp_path, record, row, message):
    before = members(), Municipality.objects.count(), ImportRun.objects.count()
    path = write(tmp_path, f"{HEADER}\nHanse,Bonn,DE,,,,1990,\n{row}\n")
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_networks", str(path), stdout=io.StringIO(), stderr=err)
    assert str(refused.value) == (
        "1 bad row(s); nothing was imported. Correct them, or use --skip-invalid to import "
        "the good rows."
    )
    assert err.getvalue().startswith(f"{path}: {message}")
    assert err.getvalue().count("\n") == 1
    assert (members(), Municipality.objects.count(), ImportRun.objects.count()) == before


def test_a_town_two_share_the_name_of_needs_its_region(tmp_path, record):
    municipality("Neustadt")
    municipality("Neustadt")
    path = write(tmp_path, f"{HEADER}\nHanse,Neustadt,DE,,,,,\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_networks", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        f"{path}: line 2, municipality: 'Neustadt' names 2 municipalities in Germany; "
        "give the region to tell them apart\n"
    )


def test_a_name_two_networks_share_is_refused(tmp_path, record):
    network("Hanse", slug="hanse-1")
    network("hanse", slug="hanse-2")
    path = write(tmp_path, f"{HEADER}\nHanse,Köln,DE,,,,,\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_networks", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        f"{path}: line 2, network: 'Hanse' names 2 networks in the registry; "
        "give each a name of its own first\n"
    )


def test_an_existing_network_without_a_start_takes_no_start_from_a_file(tmp_path, record):
    network("Eurotowns", slug="eurotowns")
    path = write(tmp_path, f"{HEADER}\nEurotowns,Köln,DE,,,,1991,\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_networks", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == (
        f"{path}: line 2, start: the registry has 'Eurotowns' without a start\n"
    )


def test_missing_columns_refuse_the_file(tmp_path, record):
    path = write(tmp_path, "network,municipality\nHanse,Köln\n")
    with pytest.raises(CommandError) as refused:
        run(path)
    assert str(refused.value) == (
        f"{path}: line 1: missing required column(s): country. Nothing was imported."
    )


def test_dry_run_writes_nothing(tmp_path, record):
    before = members(), Partnership.objects.count(), Municipality.objects.count()
    out, _ = run(write(tmp_path, f"{HEADER}\nHanse,Bonn,DE,,,,,\n"), "--dry-run")
    assert (members(), Partnership.objects.count(), Municipality.objects.count()) == before
    assert ImportRun.objects.count() == 0
    assert out.splitlines()[0] == "Checked (nothing written):"
    assert out.splitlines()[-1] == "Dry run: nothing was written."
    assert "  members added            1" in out.splitlines()


def test_skip_invalid_writes_the_good_rows(tmp_path, record):
    path = write(tmp_path, f"{HEADER}\nHanse,Bonn,DE,,,,,\nHanse,Bonn,Narnia,,,,,\n")
    out, err = run(path, "--skip-invalid")
    assert err == f"{path}: line 3, country: 'Narnia' is not a country we know\n"
    assert members()[0] == ("Hanse", None, "Bonn", "DE", None, None, None, None, None)
    assert ImportRun.objects.values_list("rows_read", "rows_rejected").get() == (2, 1)


def test_reverting_the_run_in_the_admin_takes_back_what_it_created(
    client, superuser, tmp_path, record
):
    koeln, lille, twinning, hanse = record
    before = members(), sorted(Municipality.objects.values_list("name", flat=True))
    run(
        write(
            tmp_path,
            f"{HEADER}\nNeue Hanse,Lille,FR,,,,,\nNeue Hanse,Bonn,DE,,,,,\nHanse,Köln,DE,,,,,\n",
        )
    )
    assert len(members()) == 4
    client.force_login(superuser)
    run_ = ImportRun.objects.get()
    response = client.post(
        CHANGELIST,
        {"action": "revert_import", "post": "yes", "_selected_action": [str(run_.pk)]},
        follow=True,
    )
    assert [(m.level, m.message) for m in response.context["messages"]] == [
        (
            messages.SUCCESS,
            # Neue Hanse with its two members, Bonn with it; Köln's membership of the Hanse.
            f"Reverted “{run_}”: 1 partnership, 1 municipality and 3 members deleted.",
        )
    ]
    assert (members(), sorted(Municipality.objects.values_list("name", flat=True))) == before
    assert Partnership.objects.count() == 2
    assert ImportRun.objects.get().reverted is not None
